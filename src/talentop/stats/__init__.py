"""Survival statistics: Kaplan-Meier, log-rank, Cox PH, RMST, binomial CIs, subgroups.

Pure numpy/scipy; results are frozen dataclasses with `.summary`, `.to_dict()` and HTML.
"""

from talentop.stats.km import (
    KaplanMeier,
    KaplanMeierGroups,
    Quantile,
    kaplan_meier,
    kaplan_meier_by,
    median_follow_up,
)
from talentop.stats.logrank import TestResult, logrank

__all__ = [
    "KaplanMeier",
    "KaplanMeierGroups",
    "Quantile",
    "TestResult",
    "kaplan_meier",
    "kaplan_meier_by",
    "logrank",
    "median_follow_up",
]
