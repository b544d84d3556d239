"""A survival CSV as the stats commands read it: the project's own ADTTE or any table.

One place decides, for `km`, `logrank` and `cox` alike:

- the event: ``--event COL`` (1 = event, 0 = censored) or ``--censor COL`` (CDISC ADTTE
  CNSR: 0 = event, a positive code = censored); a column named CNSR given as ``--event``
  is refused (it would read every event as a censoring and every censoring as an event);
- the parameter: ``--param OS`` keeps the rows of one PARAMCD; a file with several
  PARAMCD values and no ``--param`` is refused (the curves would mix endpoints);
- missing values: a row with a missing value in any column the command uses is left out,
  and the rows left out are listed (R's na.omit, the same for every command);
- row numbers: ``row N`` is the N-th data row (row 1 = the first row after the header).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from talentop.commands import _files
from talentop.errors import InvalidInput

EXPECTED = "an existing CSV file with one row per patient (or an ADTTE)"
_SHOWN = 8


@dataclass
class SurvivalTable:
    """The rows a stats command analyses, with what was left out and why."""

    data: pd.DataFrame  # index: data row numbers (1 = first data row)
    time: str
    event: str  # a 0/1 column of `data` (derived from --censor when given)
    columns: dict[str, str] = field(default_factory=dict)  # option -> column used
    dropped: dict[int, list[str]] = field(default_factory=dict)  # row -> missing columns
    notes: list[str] = field(default_factory=list)

    def report(self) -> dict:
        """What a --json payload says about the input."""
        return {
            "rows_used": len(self.data),
            "rows_dropped_missing": len(self.dropped),
            "dropped_rows": [{"row": r, "missing": c} for r, c in self.dropped.items()],
            "columns": self.columns,
            "notes": self.notes,
        }


def _frame(path: Path) -> tuple[pd.DataFrame, list[str]]:
    text, encoding = _files.read_text(path, "FILE", EXPECTED)
    header, records, delimiter = _files.csv_rows(text, path)
    rows = sum(1 for _ in records)  # also checks quoting and field sizes, memory flat
    if not rows:
        raise InvalidInput(f"{path}: a header row but no data rows; expected one row per patient")
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            decimal="," if delimiter == ";" else ".",
            skip_blank_lines=True,
            skipinitialspace=True,
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise InvalidInput(f"{path}: not readable as CSV ({exc})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return frame, _files.encoding_note(path, encoding)


def _numbers(frame: pd.DataFrame, column: str, option: str) -> tuple[pd.Series, list[str]]:
    """The column as floats; a problem naming the rows of text that is not a number."""
    values = frame[column]
    numeric = pd.to_numeric(values, errors="coerce")
    bad = values.notna() & numeric.isna()
    if not bad.any():
        return numeric.astype(float), []
    rows = bad[bad].index
    shown = ", ".join(f"row {r}={values[r]!r}" for r in rows[:_SHOWN])
    more = f" (+{len(rows) - _SHOWN} more)" if len(rows) > _SHOWN else ""
    return numeric, [f"{option} {column!r}: not a number at {shown}{more}"]


def _listed(rows: pd.Index, values: pd.Series) -> str:
    shown = ", ".join(f"row {r}={values[r]!r}" for r in rows[:_SHOWN])
    return shown + (f" (+{len(rows) - _SHOWN} more)" if len(rows) > _SHOWN else "")


def read_survival(
    path: Path,
    *,
    time: str,
    event: str | None,
    censor: str | None,
    param: str | None,
    others: dict[str, str | list[str] | None],
) -> SurvivalTable:
    """Read, pick the parameter, resolve the columns, drop rows with missing values, check.

    ``others`` maps an option (--group, --strata, --covariate) to its column name(s).
    """
    if (event is None) == (censor is None):
        raise InvalidInput(
            "--event / --censor: expected exactly one: --event COL (1 = event, 0 = censored) "
            "or --censor COL (CDISC CNSR: 0 = event, a positive code = censored)"
        )
    frame, notes = _frame(path)
    columns = list(frame.columns)
    used: dict[str, str] = {"--time": _files.resolve_column(columns, time, "--time", path)}
    if event is not None:
        used["--event"] = _files.resolve_column(columns, event, "--event", path)
        if _files.normalise(used["--event"]) == "cnsr":
            raise InvalidInput(
                f"--event={event!r}: CNSR is the CDISC censoring flag (0 = event, a positive "
                "code = censored); reading it as an event indicator reverses its meaning. Use "
                f"--censor {used['--event']}"
            )
    else:
        used["--censor"] = _files.resolve_column(columns, censor, "--censor", path)
    frame = _parameter(frame, param, path)
    for option, names in others.items():
        if names is None:
            continue
        for name in [names] if isinstance(names, str) else names:
            column = _files.resolve_column(columns, name, option, path)
            key = option if isinstance(names, str) else f"{option} {name}"
            used[key] = column
    # rows with a missing value in any used column: left out and listed (na.omit)
    needed = list(dict.fromkeys(used.values()))
    missing = frame[needed].isna()
    dropped = {
        int(row): [c for c in needed if missing.loc[row, c]]
        for row in missing.index[missing.any(axis=1)]
    }
    frame = frame.loc[~missing.any(axis=1)]
    if frame.empty:
        raise InvalidInput(
            f"{path}: no row without a missing value in {needed}; expected complete rows"
        )
    problems: list[str] = []
    time_values, found = _numbers(frame, used["--time"], "--time")
    problems += found
    if found == []:
        negative = time_values.index[time_values < 0]
        infinite = time_values.index[np.isinf(time_values)]
        if len(negative):
            problems.append(
                f"--time {used['--time']!r}: negative at {_listed(negative, time_values)}"
            )
        if len(infinite):
            problems.append(
                f"--time {used['--time']!r}: infinite at {_listed(infinite, time_values)}"
            )
    event_values = _event(frame, used, problems)
    if problems:
        raise InvalidInput(problems)
    data = frame.assign(**{used["--time"]: time_values, "__event__": event_values})
    return SurvivalTable(data, used["--time"], "__event__", used, dropped, notes)


def _event(frame: pd.DataFrame, used: dict[str, str], problems: list[str]) -> pd.Series:
    """0/1 events from --event (0/1, true/false) or --censor (0 = event, > 0 censored)."""
    if "--event" in used:
        column = used["--event"]
        raw = frame[column]
        if pd.api.types.is_bool_dtype(raw):
            return raw.astype(int)
        text = raw.astype(str).str.strip().str.lower()
        mapped = text.map({"true": 1, "false": 0, "yes": 1, "no": 0})
        values, found = _numbers(
            frame.assign(**{column: raw.where(mapped.isna(), mapped)}), column, "--event"
        )
        if found:
            problems += found
            return values
        bad = values.index[~values.isin([0, 1])]
        if len(bad):
            hint = (
                "; this looks like CNSR-style codes: use --censor"
                if set(values.unique()) - {0, 1} and values.min() >= 0 and (values == 0).any()
                else ""
            )
            problems.append(
                f"--event {column!r}: not 0/1 at {_listed(bad, values)}; expected 1 = event, "
                f"0 = censored (R's survival::lung codes status 1/2: subtract 1){hint}"
            )
        return values
    column = used["--censor"]
    values, found = _numbers(frame, column, "--censor")
    if found:
        problems += found
        return values
    bad = values.index[(values < 0) | (values != np.floor(values))]
    if len(bad):
        problems.append(
            f"--censor {column!r}: not a code >= 0 at {_listed(bad, values)}; expected CNSR: "
            "0 = event, a positive whole number = censored"
        )
    return (values == 0).astype(int)


def _parameter(frame: pd.DataFrame, param: str | None, path: Path) -> pd.DataFrame:
    """The rows of one PARAMCD (--param), or all rows when the file has no PARAMCD."""
    columns = list(frame.columns)
    paramcd = next((c for c in columns if _files.normalise(c) == "paramcd"), None)
    if paramcd is None:
        if param is not None:
            raise InvalidInput(
                f"--param={param!r}: {path} has no PARAMCD column; --param picks one parameter "
                "of an ADTTE (omit it for a one-endpoint file)"
            )
        return frame
    values = frame[paramcd].astype(str).str.strip()
    present = sorted(values[frame[paramcd].notna()].unique())
    if param is None:
        if len(present) > 1:
            raise InvalidInput(
                f"{path}: PARAMCD holds {len(present)} parameters ({', '.join(present)}); "
                "expected --param to pick one (e.g. --param OS): the curves would mix endpoints"
            )
        return frame
    chosen = [p for p in present if p.upper() == param.strip().upper()]
    if not chosen:
        raise InvalidInput(
            f"--param={param!r}: not in {path}; expected one of {', '.join(present)}"
        )
    return frame.loc[values == chosen[0]]
