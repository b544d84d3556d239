"""Pure clinical rules: liver scores, vascular invasion, volumetry, doses, eligibility.

Nothing here touches storage or the network; every rule cites its source in its docstring.
"""

from talentop.clinical.eligibility import CriterionResult, EligibilityResult, evaluate_eligibility
from talentop.clinical.fields import FIELDS, coerce_patient
from talentop.clinical.liver import Albi, ChildPugh, albi, child_pugh
from talentop.clinical.treatment import (
    CycleVisit,
    InductionCalendar,
    SurgeryTiming,
    check_surgery_timing,
    cycle_doses_mg,
    days_from_last_bevacizumab,
    dose_mg,
    earliest_surgery_date,
    induction_calendar,
    validate_ecog,
)
from talentop.clinical.vascular import (
    cheng_to_vp,
    is_vp3_vp4,
    macrovascular_invasion_present,
    vascular_invasion_any,
    vp_to_cheng,
)
from talentop.clinical.volumetry import rlv_meets, rlv_pct

__all__ = [
    "FIELDS",
    "CriterionResult",
    "CycleVisit",
    "EligibilityResult",
    "InductionCalendar",
    "SurgeryTiming",
    "check_surgery_timing",
    "cycle_doses_mg",
    "days_from_last_bevacizumab",
    "dose_mg",
    "earliest_surgery_date",
    "evaluate_eligibility",
    "induction_calendar",
    "validate_ecog",
    "Albi",
    "ChildPugh",
    "albi",
    "cheng_to_vp",
    "child_pugh",
    "coerce_patient",
    "is_vp3_vp4",
    "macrovascular_invasion_present",
    "rlv_meets",
    "rlv_pct",
    "vascular_invasion_any",
    "vp_to_cheng",
]
