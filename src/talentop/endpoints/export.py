"""Write an ADTTE frame as CSV or SAS transport (XPORT) version 5.

XPORT v5 (SAS technical note TS-140; the format FDA accepts for study data): names of at
most 8 characters, labels of at most 40, character values of at most 200 bytes, numbers as
IBM doubles; dates are numbers of days since 1960-01-01 with a DATE9 format. Written with
pyreadstat (ReadStat).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from talentop.endpoints.codes import CENSORING_CODES
from talentop.errors import InvalidInput, check_problems

LABELS = {
    "USUBJID": "Unique Subject Identifier",
    "ARM": "Description of Planned Arm",
    "PARAMCD": "Parameter Code",
    "PARAM": "Parameter",
    "STARTDT": "Time-to-Event Origin Date for Subject",
    "ADT": "Analysis Date",
    "AVAL": "Analysis Value",
    "AVALU": "Analysis Value Unit",
    "CNSR": "Censor (0 = event)",
    "EVNTDESC": "Event or Censoring Description",
    "CNSDTDSC": "Censor Date Description",
}
DATE_COLUMNS = ("STARTDT", "ADT")


def _check_for_xport(frame: pd.DataFrame, labels: dict[str, str]) -> None:
    problems: list[str] = []
    for column in frame.columns:
        if not (isinstance(column, str) and column.isidentifier() and len(column) <= 8):
            problems.append(f"column {column!r}: expected a SAS name of at most 8 characters")
        elif column != column.upper():
            problems.append(f"column {column!r}: expected upper case")
        label = labels.get(column, "")
        if len(label) > 40:
            problems.append(f"label of {column}={label!r}: expected at most 40 characters")
        if frame[column].dtype == object and column not in DATE_COLUMNS:
            too_long = frame[column].dropna().astype(str).map(lambda s: len(s.encode())) > 200
            if too_long.any():
                problems.append(f"column {column}: values over 200 bytes (XPORT v5 limit)")
    check_problems(problems)


def write_xpt(
    frame: pd.DataFrame, path: str | Path, *, table_name: str = "ADTTE", labels=None
) -> Path:
    """Write ``frame`` as a SAS transport v5 file; dates become SAS dates (DATE9.)."""
    import pyreadstat

    labels = LABELS | dict(labels or {})
    for column in frame.columns:
        labels.setdefault(column, str(column).title()[:40])
    _check_for_xport(frame, labels)
    if len(table_name) > 8 or not table_name.isidentifier():
        raise InvalidInput.field("table_name", table_name, "a SAS name of at most 8 characters")
    out = frame.copy()
    formats = {}
    for column in out.columns:
        values = out[column].dropna()
        if len(values) and all(
            isinstance(v, dt.date) and not isinstance(v, dt.datetime) for v in values
        ):
            formats[column] = "DATE9"
    path = Path(path)
    pyreadstat.write_xport(
        out,
        str(path),
        file_label="ADTTE time-to-event analysis dataset",
        column_labels={c: labels[c] for c in out.columns},
        table_name=table_name,
        file_format_version=5,
        variable_format=formats,
    )
    return path


def to_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` as CSV with ISO dates (YYYY-MM-DD) and full-precision AVAL."""
    path = Path(path)
    frame.to_csv(path, index=False, date_format="%Y-%m-%d")
    return path


def censoring_codes_markdown() -> str:
    """The CNSR codes as a Markdown table (for the SAP and define documentation)."""
    lines = ["| CNSR | description | parameters | source |", "|---|---|---|---|"]
    lines.append("| 0 | event | all | CDISC ADaM: 0 = event |")
    for code, (desc, params, source) in CENSORING_CODES.items():
        lines.append(f"| {code} | {desc} | {params} | {source} |")
    return "\n".join(lines)
