"""Exact millimetre arithmetic for RECIST thresholds.

Source: clinical-rules.md §0 — binary floats flip categories at exact boundaries
(``(33.0 - 23.1) / 33.0 >= 0.3`` is False in floats, yet 23.1 is exactly -30 % of 33.0),
so every measurement is parsed with ``Decimal(str(x))`` into a ``Fraction`` and every
threshold is an integer-style comparison. Floats appear only in the JSON output.
"""

from __future__ import annotations

import functools
from decimal import Decimal, InvalidOperation
from fractions import Fraction

#: Percentages in the output are rounded half away from zero to this many decimals.
PCT_DECIMALS = 2


def to_fraction(value: object) -> Fraction | None:
    """Exact value of a JSON number (int, float, Decimal), or None if it is not a finite number.

    Floats go through ``str`` first so that 23.1 means 231/10, not the nearest binary double.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return None
    if not isinstance(value, Decimal):
        return _number_fraction(value)
    return _decimal_fraction(value)


@functools.lru_cache(maxsize=8192, typed=True)
def _number_fraction(value: int | float) -> Fraction | None:
    # Memoised: the engine re-reads a patient's whole history at every scan, so the same
    # diameters are converted again and again (Decimal(str(x)) -> Fraction is ~5 us each).
    # A Fraction is immutable, so one object can be handed out many times.
    return _decimal_fraction(value)


def _decimal_fraction(value: int | float | Decimal) -> Fraction | None:
    try:
        exact = Decimal(str(value))
    except InvalidOperation:
        return None
    if not exact.is_finite():
        return None
    return Fraction(exact)


def percent_change(current: Fraction, reference: Fraction) -> Fraction | None:
    """Exact percentage change of ``current`` vs ``reference``; None when reference is 0.

    A change relative to a zero sum (a nadir of 0 mm after a complete response) is undefined,
    so it is reported as null rather than as an infinity.
    """
    if reference == 0:
        return None
    # (a/b - c/d) * 100 / (c/d) = (a*d - c*b) * 100 / (b*c): one normalisation instead of
    # three Fraction operations (the same Fraction: tests/recist/test_exact_math.py).
    a, b = current.numerator, current.denominator
    c, d = reference.numerator, reference.denominator
    return Fraction((a * d - c * b) * 100, b * c)


def round_half_away(value: Fraction, decimals: int = PCT_DECIMALS) -> float:
    """Round an exact fraction half away from zero (not banker's rounding) and return a float.

    On the integers (``numerator * 10**decimals`` over the denominator: the same quotient
    and remainder as the scaled Fraction, without its normalisation), and ``int / 10**k``,
    which Python rounds correctly, as ``float(Decimal(...))`` does."""
    numerator, denominator = value.numerator, value.denominator
    quotient, remainder = divmod(abs(numerator) * 10**decimals, denominator)
    if 2 * remainder >= denominator:
        quotient += 1
    return (-quotient if numerator < 0 else quotient) / 10**decimals


def pct_out(value: Fraction | None) -> float | None:
    """Output form of a percentage: rounded float, or None."""
    return None if value is None else round_half_away(value)


def mm_out(value: Fraction | None) -> float | None:
    """Output form of a length in mm: the float nearest to the exact value, or None."""
    return None if value is None else float(value)


def fmt_mm(value: Fraction) -> str:
    """Human form of a length: one decimal, two if the value needs it (``30.0``, ``12.25``)."""
    decimals = 1 if 10 % value.denominator == 0 else 2  # value * 10 is whole
    return f"{float(value):.{decimals}f}"


def fmt_pct(value: Fraction | None) -> str:
    """Human form of a percentage change with its sign (``-37.5%``, ``+20.0%``)."""
    if value is None:
        return "n/a"
    rounded = round_half_away(value, 1)
    return f"{rounded:+.1f}%"
