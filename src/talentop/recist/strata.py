"""Protocol strata derived from a RECIST result: depth-of-response level, SD subgroup.

``response_stratum`` mirrors a protocol cut-off list ``[(id, upper_pct), ...]``: the first
level whose (inclusive) upper bound is >= the value, ``None`` meaning no upper bound. The
comparison is exact (``Decimal(str(x))``) so that -30.0 falls in a level bounded by -30.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from talentop.errors import InvalidInput
from talentop.recist._exact import to_fraction


def response_stratum(
    depth_of_response_pct: float | Decimal | int | None,
    levels: Sequence[tuple[str, float | int | Decimal | None]],
) -> str | None:
    """Id of the first level whose upper bound is >= the depth (inclusive; None = infinity).

    Returns None when the depth is None (no target lesions, or no measured follow-up).
    Raises InvalidInput when levels are malformed or no level covers the value.
    """
    problems: list[str] = []
    if not levels:
        problems.append("levels=[]: expected at least one (id, upper_pct) pair")
    parsed = []
    for index, level in enumerate(levels):
        if not isinstance(level, (tuple, list)) or len(level) != 2:
            problems.append(f"levels[{index}]={level!r}: expected an (id, upper_pct) pair")
            continue
        level_id, upper = level
        exact_upper = None if upper is None else to_fraction(upper)
        if upper is not None and exact_upper is None:
            problems.append(f"levels[{index}].upper_pct={upper!r}: expected a number or None")
            continue
        parsed.append((level_id, exact_upper))
    value = None if depth_of_response_pct is None else to_fraction(depth_of_response_pct)
    if depth_of_response_pct is not None and value is None:
        problems.append(f"depth_of_response_pct={depth_of_response_pct!r}: expected a number")
    if problems:
        raise InvalidInput(problems)
    if value is None:
        return None
    for level_id, upper in parsed:
        if upper is None or value <= upper:
            return level_id
    highest = parsed[-1][1]
    raise InvalidInput(
        f"depth_of_response_pct={depth_of_response_pct!r}: above every level's upper bound "
        f"(last is {float(highest):g}); expected a final level with upper_pct None"
    )


def sd_subcategory(result: Mapping[str, Any]) -> str | None:
    """ "SD_shrinking" if the best overall response is SD and the depth is < 0 %, else
    "SD_growing" for SD whose sum never went below baseline (depth >= 0 %, 0 % included);
    None when the BOR is not SD or there is no depth (non-target disease only).

    The depth is the best (most negative) change from baseline up to progression: the
    exact ``depth_of_response_exact`` fraction when the result carries it, otherwise
    ``depth_of_response_pct`` as reported (rounded to 0.01 %).
    """
    if result.get("best_overall_response") != "SD":
        return None
    depth = result.get("depth_of_response_exact")
    if depth is not None:
        depth = Fraction(depth)
    else:
        depth = result.get("depth_of_response_pct")
    if depth is None:
        return None
    exact = depth if isinstance(depth, Fraction) else to_fraction(depth)
    if exact is None:
        raise InvalidInput(f"depth_of_response_pct={depth!r}: expected a number or null")
    return "SD_shrinking" if exact < 0 else "SD_growing"
