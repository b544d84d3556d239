"""Survival statistics: Kaplan-Meier, log-rank, Cox PH, RMST, binomial CIs, subgroups.

Pure numpy/scipy; results are frozen dataclasses with `.summary`, `.to_dict()` and HTML.
"""

from talentop.stats.binomial import BinomialCI, binomial_ci
from talentop.stats.cox import CoxFit, cox
from talentop.stats.km import (
    KaplanMeier,
    KaplanMeierGroups,
    Quantile,
    kaplan_meier,
    kaplan_meier_by,
    median_follow_up,
)
from talentop.stats.logrank import TestResult, logrank
from talentop.stats.rmst import RMST, rmst
from talentop.stats.subgroups import subgroup_hazard_ratios
from talentop.stats.zph import PHTest

__all__ = [
    "RMST",
    "BinomialCI",
    "CoxFit",
    "PHTest",
    "binomial_ci",
    "cox",
    "rmst",
    "subgroup_hazard_ratios",
    "KaplanMeier",
    "KaplanMeierGroups",
    "Quantile",
    "TestResult",
    "kaplan_meier",
    "kaplan_meier_by",
    "logrank",
    "median_follow_up",
]
