"""Remnant liver volume (RLV) for resectability: FLR as a percentage of functional volume.

Source: TALENTOP registry NCT04649489 ("remnant liver volume >= 25%"); the percentage is
future liver remnant / total functional liver volume (total liver minus tumour) x 100.
The cut-off is protocol data (``rlv_pct`` rule in the protocol YAML), not code.
"""

from __future__ import annotations

from decimal import Decimal

from talentop.clinical.fields import FIELDS, check_range
from talentop.errors import InvalidInput

__all__ = ["rlv_meets", "rlv_pct"]


def rlv_pct(*, future_liver_remnant_ml: float, total_functional_liver_volume_ml: float) -> float:
    """Remnant liver volume in % of the total functional liver volume.

    The remnant cannot exceed the whole: FLR > total is refused as a data error.
    """
    problems: list[str] = []
    for name, value in (
        ("future_liver_remnant_ml", future_liver_remnant_ml),
        ("total_functional_liver_volume_ml", total_functional_liver_volume_ml),
    ):
        spec = FIELDS[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(f"{name}={value!r}: expected a number of mL")
        elif problem := check_range(name, value, spec.low, spec.high):
            problems.append(problem)
    if not problems and future_liver_remnant_ml > total_functional_liver_volume_ml:
        problems.append(
            f"future_liver_remnant_ml={future_liver_remnant_ml!r}: expected at most "
            f"total_functional_liver_volume_ml={total_functional_liver_volume_ml!r}"
        )
    if problems:
        raise InvalidInput(problems)
    return future_liver_remnant_ml / total_functional_liver_volume_ml * 100.0


def rlv_meets(
    *, future_liver_remnant_ml: float, total_functional_liver_volume_ml: float, min_pct: float = 25
) -> bool:
    """True if FLR / total >= min_pct / 100, compared exactly (250 of 1000 mL is 25%)."""
    rlv_pct(
        future_liver_remnant_ml=future_liver_remnant_ml,
        total_functional_liver_volume_ml=total_functional_liver_volume_ml,
    )
    flr = Decimal(str(future_liver_remnant_ml))
    total = Decimal(str(total_functional_liver_volume_ml))
    return flr * 100 >= Decimal(str(min_pct)) * total
