"""The experts' subgroups (TTF and OS forest plots with interaction tests), depth of response
as a continuous variable, and the arm-B switch readings. Pure: DataFrames in, Sections out."""

from __future__ import annotations

import pandas as pd

from talentop.reports.document import Section
from talentop.reports.forest import forest_figure
from talentop.reports.tables import Table


def subgroup_section(ttf: pd.DataFrame, os_rows: pd.DataFrame | None) -> Section:
    """Forest plots for TTF and OS: depth of response, SD shrinkage vs growth, Vp3 vs Vp4,
    baseline resectability class, ECOG."""
    figures = [forest_figure(ttf, name="forest_ttf")]
    if os_rows is not None:
        figures.append(
            forest_figure(os_rows, name="forest_os", title="Subgroup analysis of overall survival")
        )
    return Section(
        "subgroups",
        "Subgroups (TTF and OS)",
        [
            "Cox HR within each level; interaction P from a likelihood-ratio test of treatment x "
            "subgroup. Exploratory. Depth of response is cut as the randomisation stratum (0% "
            "change is 'shrinkage < 30% or no change', as in the stratum); SD patients are split "
            "the same way (<= 0% vs > 0%); Vp3 is compared with Vp4. A level's HR is not "
            "estimable with fewer than 2 events in an arm or a monotone likelihood."
        ],
        figures=figures,
    )


def landmark_section(table: pd.DataFrame) -> Section:
    """OS by depth of response at the end of induction (continuous), and its Vp interaction."""
    return Section(
        "depth",
        "Depth of response and overall survival (landmark at the end of induction)",
        [
            "Landmark: randomisation, right after the end-of-induction assessment, where every "
            "randomised patient is alive; OS is measured from it. Depth is the best % change of "
            "the sum of target diameters during induction, taken as a continuous covariate (HR "
            "per 10 percentage points of deeper shrinkage, adjusted for arm)."
        ],
        tables=[Table("Cox model of OS on depth of response", table)],
    )


def switch_section(table: pd.DataFrame, rationale: str) -> Section:
    """TTF under each reading of an arm-B switch to surgery, and why the primary is primary."""
    return Section(
        "switch",
        "Arm-B switch to surgery: primary reading and sensitivity analyses",
        [f"Primary reading and why (protocol ttf.switch_to_surgery): {rationale.strip()}"],
        tables=[
            Table(
                "TTF under each reading of the switch (ICH E9(R1) intercurrent-event strategies)",
                table,
                "Identical rows mean no arm-B patient switched in this run.",
            )
        ],
    )
