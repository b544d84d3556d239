"""The one place estimates become text: HR (95% CI), P values, medians, JSON numbers.

A value that cannot be estimated (None, nan, inf) is printed "not estimable (reason)",
never "nan" or "0.00"; a KM median or CI limit that is not reached is "NR" (the R
``survfit`` print convention). CONSORT 2010 item 17a: an effect with its precision.
"""

from __future__ import annotations

import math
from typing import Any

NOT_ESTIMABLE = "not estimable"


def finite(value: Any) -> float | None:
    """``value`` as a float, or None if it is missing, not a number, nan or infinite."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def not_estimable(reason: str | None = None) -> str:
    """'not estimable (no events in arm A)'; the bare words when no reason is known."""
    return f"{NOT_ESTIMABLE} ({reason})" if reason else NOT_ESTIMABLE


def fmt_num(value: Any, digits: int = 1, missing: str = "NR") -> str:
    """A number with ``digits`` decimals; ``missing`` (default NR, not reached) otherwise."""
    number = finite(value)
    return missing if number is None else f"{number:.{digits}f}"


def fmt_ci(
    estimate: Any, lower: Any, upper: Any, digits: int = 2, reason: str | None = None
) -> str:
    """'0.60 (0.40-0.90)'; a bound that is not finite reads NR ('13.7 (10.4-NR)', the KM
    convention for a CI limit not reached); 'not estimable (reason)' when the estimate is
    not finite."""
    value = finite(estimate)
    if value is None:
        return not_estimable(reason)
    return f"{value:.{digits}f} ({fmt_num(lower, digits)}-{fmt_num(upper, digits)})"


def fmt_p(p: Any, reason: str | None = None) -> str:
    """'0.015', '<0.001' (three decimals, as journals print P); 'not estimable' if missing."""
    value = finite(p)
    if value is None:
        return not_estimable(reason)
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def p_equals(p: Any, reason: str | None = None) -> str:
    """'P = 0.015', 'P < 0.001', or 'P not estimable (reason)'."""
    text = fmt_p(p, reason)
    if text.startswith(NOT_ESTIMABLE):
        return f"P {text}"
    return f"P < {text[1:]}" if text.startswith("<") else f"P = {text}"


def fmt_hr(hr: Any, lower: Any, upper: Any, p: Any = None, *, reason: str | None = None) -> str:
    """'0.60 (0.40-0.90), P = 0.015' (P only when given) or 'not estimable (reason)'."""
    text = fmt_ci(hr, lower, upper, 2, reason)
    if p is None or text.startswith(NOT_ESTIMABLE):
        return text
    return f"{text}, {p_equals(p)}"


def json_number(value: Any) -> float | None:
    """A JSON-safe number: None (null) instead of nan or infinity."""
    return finite(value)
