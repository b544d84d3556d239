"""The methods appendix: everything a reader of the results does not need but a reviewer
reproducing them does (software and the command that made the report, where each figure
came from, the protocol's definition verbatim with its working notes, the censoring codes,
the choices marked SETTING in the protocol file, the files written). This is the one part
of the report that names commands, modules and settings."""

from __future__ import annotations

from importlib import resources
from typing import Any

import pandas as pd

from talentop import __version__
from talentop.demo.analysis import published_rows
from talentop.endpoints.codes import censoring_codes_table
from talentop.reports import Section, Table, key_value_table


def _settings(protocol: Any) -> pd.DataFrame:
    """The lines of the shipped protocol file marked SETTING (choices where the trial's
    public documents are silent), with their line numbers."""
    try:
        text = (resources.files("talentop.protocol") / f"{protocol.id}.yaml").read_text("utf-8")
    except (FileNotFoundError, OSError):
        return pd.DataFrame(columns=["line", "protocol file text"])
    rows = [
        {"line": number, "protocol file text": line.strip()}
        for number, line in enumerate(text.splitlines(), start=1)
        if "SETTING" in line
    ]
    return pd.DataFrame(rows, columns=["line", "protocol file text"])


def methods_appendix(
    figures: dict[str, Any], protocol: Any, *, seed: int, n_patients: int, dynamic: bool
) -> Section:
    command = f"talentop demo --seed {seed} --patients {n_patients}" + (
        " --dynamic-reassessment" if dynamic else ""
    )
    software = key_value_table(
        "Software and reproduction",
        [
            ("software", f"talentop {__version__}"),
            ("command", command),
            ("protocol file", f"{protocol.id}.yaml, version {protocol.version}"),
            (
                "analysis dataset",
                "adtte.csv (CDISC ADaM ADTTE, derived by `talentop export adtte` from the "
                "trial database with the protocol file's ttf definition)",
            ),
            (
                "statistics",
                "talentop.stats: Kaplan–Meier with R survfit's median and CI rule, "
                "stratified log-rank (R survdiff), Cox with Efron ties (R coxph), cox.zph "
                "score test, RMST (survRM2); talentop.design: Lan–DeMets spending bounds "
                "(gsDesign); calibration: talentop.design.calibrate.calibrate_talentop",
            ),
            (
                "files",
                "index.html (this report), closed-dmc.html (closed report for the Data "
                "Monitoring Committee), figures/*.svg and *.png, tables/*.csv, adtte.csv, "
                "talentop-demo.db (the trial database)",
            ),
        ],
    )
    provenance = Table(
        "How each figure of the published-vs-run comparison was computed",
        pd.DataFrame(
            [
                {"Figure": r["Figure"], "computed by": r["Note"]}
                for r in published_rows(figures, protocol)
            ]
        ),
    )
    definition = key_value_table(
        "Time to treatment failure: the protocol file's definition, verbatim",
        [
            ("ttf.definition", " ".join(protocol.ttf.definition.split())),
            ("ttf.failure_reasons", ", ".join(protocol.ttf.failure_reasons)),
            ("ttf.censor_reasons", ", ".join(protocol.ttf.censor_reasons) or "-"),
            ("ttf.continue_reasons", ", ".join(protocol.ttf.continue_reasons) or "-"),
        ],
    )
    codes = Table(
        "ADTTE censoring codes (CNSR: 0 = event)",
        censoring_codes_table(),
    )
    settings = Table(
        "Choices marked SETTING in the protocol file (not in the trial's public documents)",
        _settings(protocol),
    )
    return Section(
        "methods",
        "Methods appendix",
        [
            "For reviewers who reproduce the analysis: the software, the command that made "
            "this report, where each number comes from, and the protocol file's own text."
        ],
        tables=[software, provenance, definition, codes, settings],
    )
