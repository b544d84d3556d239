"""Surgical safety after bevacizumab and pathological response. Pure: DataFrames in, Sections out."""

from __future__ import annotations

import pandas as pd

from talentop.reports.document import Section
from talentop.reports.tables import Table


def surgical_safety_section(table: pd.DataFrame, mortality_days: int) -> Section:
    """Complications beside Clavien-Dindo and mortality, by days since the last bevacizumab."""
    return Section(
        "surgical-safety",
        "Surgical safety after bevacizumab",
        [
            "Operated patients (arm A, and arm B after a switch) by days from the last "
            "bevacizumab dose to the resection (label: at least 28 days; literature: 6 weeks). "
            "Liver failure graded by the ISGLS definition (Rahbari et al., Surgery 2011), "
            f"mortality within {mortality_days} days of the resection."
        ],
        tables=[
            Table(
                "Complications and mortality by days since the last bevacizumab dose",
                table,
                "Patients with at least one such complication; exact Clopper-Pearson 95% CIs.",
            )
        ],
    )


def pathology_section(table: pd.DataFrame, link: pd.DataFrame) -> Section:
    """Pathological response of the resected specimens and its link to OS."""
    return Section(
        "pathology",
        "Pathological response of resected specimens",
        [
            "Response from tumour necrosis in the resected specimen: complete = no viable tumour, "
            "major = at most 10% viable (immune-related pathologic response criteria, Cottrell "
            "et al. Ann Oncol 2018); thresholds in the protocol file (pathology)."
        ],
        tables=[
            Table("Pathological response (first resection per patient)", table),
            Table(
                "Overall survival from surgery by pathological response (landmark at surgery)",
                link,
                "Cox HR of major-or-complete vs partial response; exploratory.",
            ),
        ],
    )
