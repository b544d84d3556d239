"""Pure clinical rules: liver scores, vascular invasion, volumetry, doses, eligibility.

Nothing here touches storage or the network; every rule cites its source in its docstring.
"""

from talentop.clinical.fields import FIELDS, coerce_patient
from talentop.clinical.liver import Albi, ChildPugh, albi, child_pugh
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
