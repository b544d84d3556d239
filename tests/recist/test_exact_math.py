"""``recist._exact``'s integer forms of percent change, half-away rounding and the mm format
equal the Fraction/Decimal forms they replaced, on 20,000 seeded values (halves, negatives,
zero and large denominators included)."""

from __future__ import annotations

import random
from decimal import Decimal
from fractions import Fraction

from talentop.recist._exact import fmt_mm, percent_change, round_half_away


def _old_percent_change(current: Fraction, reference: Fraction) -> Fraction | None:
    if reference == 0:
        return None
    return (current - reference) * 100 / reference


def _old_round_half_away(value: Fraction, decimals: int = 2) -> float:
    scaled = value * 10**decimals
    quotient, remainder = divmod(abs(scaled.numerator), scaled.denominator)
    if 2 * remainder >= scaled.denominator:
        quotient += 1
    signed = -quotient if scaled < 0 else quotient
    return float(Decimal(signed).scaleb(-decimals))


def _old_fmt_mm(value: Fraction) -> str:
    decimals = 1 if (value * 10).denominator == 1 else 2
    return f"{float(value):.{decimals}f}"


def _values(n: int = 20_000) -> list[Fraction]:
    rng = random.Random(20251130)
    out = [Fraction(0), Fraction(1, 2), Fraction(-1, 2), Fraction(5, 1000), Fraction(-5, 1000)]
    for _ in range(n):
        kind = rng.random()
        if kind < 0.4:  # diameters as recorded: tenths and hundredths of a mm
            value = Fraction(rng.randint(0, 20_000), rng.choice([1, 10, 100, 4]))
        elif kind < 0.7:  # exact halves at the rounding digit
            value = Fraction(2 * rng.randint(-(10**6), 10**6) + 1, 2 * 10 ** rng.randint(0, 3))
        else:  # anything: large coprime denominators
            value = Fraction(rng.randint(-(10**9), 10**9), rng.randint(1, 10**7))
        out.append(value)
    return out


def test_percent_change_is_the_fraction_formula():
    values = _values()
    for current, reference in zip(values, reversed(values), strict=True):
        assert percent_change(current, reference) == _old_percent_change(current, reference)
        assert percent_change(abs(current), Fraction(0)) is None


def test_round_half_away_is_the_decimal_formula_bit_for_bit():
    for value in _values():
        for decimals in (0, 1, 2, 3):
            new, old = round_half_away(value, decimals), _old_round_half_away(value, decimals)
            assert new == old and str(new) == str(old), (value, decimals)


def test_fmt_mm_is_the_fraction_test():
    for value in _values():
        if value >= 0:
            assert fmt_mm(value) == _old_fmt_mm(value), value
