"""Liver function scores: Child-Pugh and ALBI (with the mALBI grade-2 split).

Sources: Pugh RNH et al., Br J Surg 1973;60:646-649 (Child-Pugh; canonical table as in
clinical-rules.md section 3.1, CCJM Table 1); Harrison's table for the 30 g/L albumin
variant; Johnson PJ et al., J Clin Oncol 2015;33:550-558 (ALBI); Hiraoka A et al.,
Liver Cancer 2017;6:204-215 (mALBI split at -2.270).

Band edges are compared exactly (values go through ``Decimal(str(x))``), so 35.0 g/L is
never read as 34.99999.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from talentop.clinical.fields import FIELDS, check_range
from talentop.errors import InvalidInput

__all__ = ["Albi", "ChildPugh", "albi", "child_pugh"]

ChildPughVariant = Literal["pugh1973", "harrison"]

_ASCITES = {"none": 1, "mild": 2, "moderate_severe": 3}
_ENCEPHALOPATHY = {"none": 1, "grade_1_2": 2, "grade_3_4": 3}

#: Albumin 2-point band's lower edge per variant, in g/L (2.8 vs 3.0 g/dL).
_ALBUMIN_LOW_G_L = {"pugh1973": Decimal(28), "harrison": Decimal(30)}


@dataclass(frozen=True)
class ChildPugh:
    """A Child-Pugh score: total points (5-15), class A/B/C and each factor's points."""

    points: int
    grade: Literal["A", "B", "C"]
    bilirubin_points: int
    albumin_points: int
    inr_points: int
    ascites_points: int
    encephalopathy_points: int
    variant: str


@dataclass(frozen=True)
class Albi:
    """An ALBI score, its grade (1-3) and mALBI subgrade ("1", "2a", "2b", "3")."""

    score: float
    grade: Literal[1, 2, 3]
    subgrade: Literal["1", "2a", "2b", "3"]


def _exact(value: float) -> Decimal:
    return Decimal(str(value))


def _number(field: str, value: object, problems: list[str]) -> float | None:
    """Validate one lab value against the field's plausible range; collect problems."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        problems.append(f"{field}={value!r}: expected a number")
        return None
    spec = FIELDS[field]
    problem = check_range(field, value, spec.low, spec.high)
    if problem:
        problems.append(problem)
        return None
    return float(value)


def _one_of(names: tuple[str, str], values: tuple[object, object], problems: list[str]):
    given = [(n, v) for n, v in zip(names, values, strict=True) if v is not None]
    if len(given) != 1:
        problems.append(
            f"{names[0]}/{names[1]}: expected exactly one of them, got "
            + (", ".join(n for n, _ in given) or "neither")
        )
        return None, None
    name, value = given[0]
    return name, _number(name, value, problems)


def _band(value: Decimal, low: Decimal, high: Decimal) -> int:
    """1 below ``low``, 2 within [low, high] (inclusive edges), 3 above ``high``."""
    if value < low:
        return 1
    return 2 if value <= high else 3


def child_pugh(
    *,
    bilirubin_umol_l: float | None = None,
    bilirubin_mg_dl: float | None = None,
    albumin_g_l: float | None = None,
    albumin_g_dl: float | None = None,
    inr: float,
    ascites: str,
    encephalopathy: str,
    variant: ChildPughVariant = "pugh1973",
) -> ChildPugh:
    """Child-Pugh score and class (A 5-6, B 7-9, C 10-15).

    Source: Pugh 1973 as tabulated in clinical-rules.md 3.1 (CCJM Table 1). Bands, with
    the middle band inclusive at both edges:

    - bilirubin: < 34 / 34-51 / > 51 umol/L, or < 2.0 / 2.0-3.0 / > 3.0 mg/dL. Each unit
      is scored on its own table (34 umol/L = 1.99 mg/dL: the tables disagree there, and
      we do not convert);
    - albumin: > 35 / 28-35 / < 28 g/L (> 3.5 / 2.8-3.5 / < 2.8 g/dL). ``variant="harrison"``
      uses Harrison's 30-35 g/L (3.0-3.5 g/dL) middle band instead;
    - INR: < 1.7 / 1.7-2.3 / > 2.3;
    - ascites: none / mild / moderate_severe; encephalopathy: none / grade_1_2 / grade_3_4.

    Give exactly one unit of each lab. Implausible values (see ``talentop.clinical.fields``)
    raise ``InvalidInput`` naming the field, the value and the plausible range; every
    problem is reported at once.
    """
    problems: list[str] = []
    if variant not in _ALBUMIN_LOW_G_L:
        problems.append(f"variant={variant!r}: expected 'pugh1973' or 'harrison'")
    bili_field, bili = _one_of(
        ("bilirubin_umol_l", "bilirubin_mg_dl"), (bilirubin_umol_l, bilirubin_mg_dl), problems
    )
    alb_field, alb = _one_of(("albumin_g_l", "albumin_g_dl"), (albumin_g_l, albumin_g_dl), problems)
    inr_value = _number("inr", inr, problems)
    if ascites not in _ASCITES:
        problems.append(f"ascites={ascites!r}: expected one of none, mild, moderate_severe")
    if encephalopathy not in _ENCEPHALOPATHY:
        problems.append(
            f"encephalopathy={encephalopathy!r}: expected one of none, grade_1_2, grade_3_4"
        )
    if problems:
        raise InvalidInput(problems)

    if bili_field == "bilirubin_umol_l":
        bili_points = _band(_exact(bili), Decimal(34), Decimal(51))
    else:
        bili_points = _band(_exact(bili), Decimal("2.0"), Decimal("3.0"))
    # Albumin scores the other way round: high is good. Work in g/L (g/dL x 10 is exact
    # in Decimal) so both units share one table.
    alb_g_l = _exact(alb) * (10 if alb_field == "albumin_g_dl" else 1)
    low = _ALBUMIN_LOW_G_L[variant]
    alb_points = 1 if alb_g_l > 35 else (2 if alb_g_l >= low else 3)
    inr_points = _band(_exact(inr_value), Decimal("1.7"), Decimal("2.3"))
    parts = (
        bili_points,
        alb_points,
        inr_points,
        _ASCITES[ascites],
        _ENCEPHALOPATHY[encephalopathy],
    )
    points = sum(parts)
    grade: Literal["A", "B", "C"] = "A" if points <= 6 else ("B" if points <= 9 else "C")
    return ChildPugh(points, grade, *parts, variant=variant)


#: Albumin coefficients in print: Johnson 2015 (-0.085, default) and Marasco 2020 (-0.0852).
ALBI_ALBUMIN_COEFFICIENTS = (-0.085, -0.0852)
_MALBI_SPLIT = -2.270


def albi(
    *, bilirubin_umol_l: float, albumin_g_l: float, albumin_coefficient: float = -0.085
) -> Albi:
    """ALBI = 0.66 x log10(bilirubin umol/L) + coefficient x albumin g/L.

    Source: Johnson 2015 (coefficient -0.085; Marasco 2020 prints -0.0852, pass it as
    ``albumin_coefficient`` to reproduce). Grades: 1 <= -2.60 < 2 <= -1.39 < 3. mALBI
    (Hiraoka 2017) splits grade 2 at -2.270: 2a <= -2.270 < 2b. The score is a real
    number (a logarithm), so its edges are compared as floats.
    """
    problems: list[str] = []
    bili = _number("bilirubin_umol_l", bilirubin_umol_l, problems)
    alb = _number("albumin_g_l", albumin_g_l, problems)
    if albumin_coefficient not in ALBI_ALBUMIN_COEFFICIENTS:
        problems.append(
            f"albumin_coefficient={albumin_coefficient!r}: expected -0.085 (Johnson 2015) "
            "or -0.0852 (Marasco 2020)"
        )
    if problems:
        raise InvalidInput(problems)
    score = 0.66 * math.log10(bili) + albumin_coefficient * alb
    if score <= -2.60:
        return Albi(score, 1, "1")
    if score <= -1.39:
        return Albi(score, 2, "2a" if score <= _MALBI_SPLIT else "2b")
    return Albi(score, 3, "3")
