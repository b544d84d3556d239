"""Conversion: who the MDT judged resectable and who was resected, among all who started
induction and among the technically unresectable at baseline, by thrombus grade; arm B's
share operable within the protocol's window. Pure (DataFrames in, a Section out)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from talentop.reports.document import Section
from talentop.reports.tables import Table


def conversion_section(
    table: pd.DataFrame, classes: pd.Series, operable: dict[str, Any] | None, note: str = ""
) -> Section:
    """``table``: ``demo.experts.conversion_table``; ``classes``: baseline class per induction
    patient; ``operable``: ``demo.experts.operable_within`` (None: no reassessment rule)."""
    counts = classes.fillna("not recorded").value_counts()
    class_table = Table(
        "Baseline resectability class at screening (MDT, structured criteria)",
        pd.DataFrame(
            [{"Class": str(k).replace("_", " "), "Patients": int(v)} for k, v in counts.items()]
        ),
        "Technically unresectable: R0 not feasible, remnant liver below the protocol threshold, "
        "or thrombus / liver function outside what the protocol resects; oncologically "
        "unresectable: technically resectable, resection not advised (reason recorded).",
    )
    tables = [
        class_table,
        Table(
            "Conversion: judged resectable by the MDT after induction, and resected",
            table,
            "Exact Clopper-Pearson 95% CIs. Resected: arm-A resections and arm-B resections "
            "after a switch. " + note,
        ),
    ]
    if operable is not None:
        months = operable["months"]
        tables.append(
            Table(
                f"Arm B: operable within {months:g} months of randomisation",
                pd.DataFrame(
                    [
                        {
                            "Figure": "flagged by the structured reassessment trigger",
                            "Arm B (full window before the cut)": operable["flagged_text"],
                        },
                        {
                            "Figure": "judged resectable by an MDT reassessment",
                            "Arm B (full window before the cut)": operable["resectable_text"],
                        },
                    ]
                ),
                f"{operable['with_full_window']} of {operable['arm_b']} arm-B patients were "
                f"randomised at least {months:g} months before the data cut. Without dynamic "
                "reassessment no arm-B scan is checked against the criteria (0 by design).",
            )
        )
    return Section(
        "conversion",
        "Resectability and conversion",
        [
            "The experts asked how many technically unresectable patients become resectable "
            "(seed article, Yuan Yunfei) and how many arm-B patients are still operable within "
            "a year (Liu Lianxin)."
        ],
        tables=tables,
    )
