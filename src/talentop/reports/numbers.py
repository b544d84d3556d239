"""The one place estimates become text: HR (95% CI), P values, medians, JSON numbers.

A value that cannot be estimated (None, nan, inf) is printed "not estimable (reason)",
never "nan" or "0.00"; a KM median or CI limit that is not reached is "NR" (the R
``survfit`` print convention). CONSORT 2010 item 17a: an effect with its precision.

Typography as journals set it (e.g. the AMA Manual of Style 10th ed., 19.2 and 21.9;
BMJ and Lancet house style): a negative number has a true minus sign (U+2212, "−0.35"),
a range of positive numbers an en dash ("0.40–0.90"), and a range with a negative end
"to" ("−1.20 to 3.40"), since "−1.20–−0.40" is unreadable.
"""

from __future__ import annotations

import math
from typing import Any

NOT_ESTIMABLE = "not estimable"
MINUS = "\u2212"
EN_DASH = "\u2013"


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
    """A number with ``digits`` decimals and a true minus sign; ``missing`` (default NR,
    not reached) otherwise."""
    number = finite(value)
    if number is None:
        return missing
    text = f"{number:.{digits}f}"
    if text.startswith("-"):
        # -0.00 after rounding is 0.00, not a negative number
        return text[1:] if float(text) == 0 else MINUS + text[1:]
    return text


_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def fmt_small(value: Any, digits: int = 4, missing: str = "not estimable") -> str:
    """A probability that may be tiny: '0.0123', or '1.1 × 10⁻¹²' below 10^-digits (a
    boundary's nominal P at an early look), never '0.0000'."""
    number = finite(value)
    if number is None:
        return missing
    if number == 0 or abs(number) >= 10**-digits:
        return fmt_num(number, digits)
    mantissa, exponent = f"{number:.1e}".split("e")
    return f"{mantissa} × 10{str(int(exponent)).translate(_SUPERSCRIPT)}"


def fmt_range(lower: Any, upper: Any, digits: int = 1, missing: str = "NR") -> str:
    """'0.40–0.90' (en dash), or '−1.20 to 3.40' when an end is negative."""
    low, high = fmt_num(lower, digits, missing), fmt_num(upper, digits, missing)
    if low.startswith(MINUS) or high.startswith(MINUS):
        return f"{low} to {high}"
    return f"{low}{EN_DASH}{high}"


def fmt_ci(
    estimate: Any, lower: Any, upper: Any, digits: int = 2, reason: str | None = None
) -> str:
    """'0.60 (0.40–0.90)'; a bound that is not finite reads NR ('13.7 (10.4–NR)', the KM
    convention for a CI limit not reached); 'not estimable (reason)' when the estimate is
    not finite."""
    value = finite(estimate)
    if value is None:
        return not_estimable(reason)
    return f"{fmt_num(value, digits)} ({fmt_range(lower, upper, digits)})"


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
