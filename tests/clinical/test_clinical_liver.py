"""Child-Pugh and ALBI against their published tables.

Child-Pugh bands: Pugh RNH et al., Br J Surg 1973;60:646-649, as tabulated in
clinical-rules.md 3.1 (CCJM Table 1): bilirubin < 34 / 34-51 / > 51 umol/L
(< 2 / 2-3 / > 3 mg/dL), albumin > 35 / 28-35 / < 28 g/L (> 3.5 / 2.8-3.5 / < 2.8 g/dL;
Harrison's variant 30-35 g/L), INR < 1.7 / 1.7-2.3 / > 2.3; class A 5-6, B 7-9, C 10-15.
ALBI: Johnson PJ et al., J Clin Oncol 2015;33:550-558; mALBI: Hiraoka A et al.,
Liver Cancer 2017;6:204-215 (grade 2 split at -2.270).
"""

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from talentop.clinical import albi, child_pugh
from talentop.errors import InvalidInput

# Every other factor at 1 point, so the total is 4 + the factor under test.
BASE = dict(inr=1.0, ascites="none", encephalopathy="none")


@pytest.mark.parametrize(
    ("bilirubin_umol_l", "points"),
    [(1.5, 1), (33.9, 1), (34, 2), (34.0, 2), (42.5, 2), (51, 2), (51.1, 3), (300, 3)],
)
def test_bilirubin_bands_umol_l(bilirubin_umol_l, points):
    """Pugh 1973 SI row: < 34 = 1, 34-51 = 2 (inclusive), > 51 = 3."""
    cp = child_pugh(bilirubin_umol_l=bilirubin_umol_l, albumin_g_l=40, **BASE)
    assert cp.bilirubin_points == points
    assert cp.points == 4 + points


@pytest.mark.parametrize(
    ("bilirubin_mg_dl", "points"),
    [(0.5, 1), (1.99, 1), (2.0, 2), (2, 2), (3.0, 2), (3.01, 3), (12, 3)],
)
def test_bilirubin_bands_mg_dl(bilirubin_mg_dl, points):
    """Pugh 1973 conventional row: < 2.0 = 1, 2.0-3.0 = 2, > 3.0 = 3."""
    cp = child_pugh(bilirubin_mg_dl=bilirubin_mg_dl, albumin_g_l=40, **BASE)
    assert cp.bilirubin_points == points


def test_si_and_conventional_tables_disagree_at_34_umol_l():
    """34 umol/L = 1.99 mg/dL: 2 points on the SI row, 1 point on the mg/dL row (3.1)."""
    assert child_pugh(bilirubin_umol_l=34, albumin_g_l=40, **BASE).bilirubin_points == 2
    assert child_pugh(bilirubin_mg_dl=1.99, albumin_g_l=40, **BASE).bilirubin_points == 1


@pytest.mark.parametrize(
    ("albumin_g_l", "pugh", "harrison"),
    [(45, 1, 1), (35.1, 1, 1), (35, 2, 2), (30, 2, 2), (29.9, 2, 3), (28, 2, 3), (27.9, 3, 3)],
)
def test_albumin_bands_g_l_both_variants(albumin_g_l, pugh, harrison):
    """Pugh/CCJM: > 35 / 28-35 / < 28 g/L; Harrison's: > 35 / 30-35 / < 30 g/L."""
    kwargs = dict(bilirubin_umol_l=10, albumin_g_l=albumin_g_l, **BASE)
    assert child_pugh(**kwargs).albumin_points == pugh
    assert child_pugh(**kwargs, variant="harrison").albumin_points == harrison


@pytest.mark.parametrize(
    ("albumin_g_dl", "pugh", "harrison"),
    [(4.2, 1, 1), (3.51, 1, 1), (3.5, 2, 2), (3.0, 2, 2), (2.9, 2, 3), (2.8, 2, 3), (2.79, 3, 3)],
)
def test_albumin_bands_g_dl_both_variants(albumin_g_dl, pugh, harrison):
    """Same table in g/dL: > 3.5 / 2.8-3.5 / < 2.8 (Harrison 3.0-3.5)."""
    kwargs = dict(bilirubin_umol_l=10, albumin_g_dl=albumin_g_dl, **BASE)
    assert child_pugh(**kwargs).albumin_points == pugh
    assert child_pugh(**kwargs, variant="harrison").albumin_points == harrison


@pytest.mark.parametrize(
    ("inr", "points"), [(0.9, 1), (1.69, 1), (1.7, 2), (2.0, 2), (2.3, 2), (2.31, 3), (4, 3)]
)
def test_inr_bands(inr, points):
    """INR < 1.7 = 1, 1.7-2.3 = 2, > 2.3 = 3."""
    cp = child_pugh(
        bilirubin_umol_l=10, albumin_g_l=40, inr=inr, ascites="none", encephalopathy="none"
    )
    assert cp.inr_points == points


@pytest.mark.parametrize(
    ("bili", "alb", "inr", "ascites", "enceph", "points", "grade"),
    [
        (10, 40, 1.0, "none", "none", 5, "A"),
        (40, 40, 1.0, "none", "none", 6, "A"),
        (40, 30, 1.0, "none", "none", 7, "B"),
        (40, 30, 1.8, "mild", "none", 9, "B"),
        (40, 30, 1.8, "mild", "grade_1_2", 10, "C"),
        (60, 25, 2.5, "moderate_severe", "grade_3_4", 15, "C"),
    ],
)
def test_class_edges(bili, alb, inr, ascites, enceph, points, grade):
    """Class A = 5-6, B = 7-9, C = 10-15 (Harrison's, CCJM)."""
    cp = child_pugh(
        bilirubin_umol_l=bili, albumin_g_l=alb, inr=inr, ascites=ascites, encephalopathy=enceph
    )
    assert (cp.points, cp.grade) == (points, grade)


def test_implausible_values_name_field_value_and_range():
    with pytest.raises(InvalidInput) as info:
        child_pugh(
            bilirubin_umol_l=-3, albumin_g_l=300, inr=50, ascites="lots", encephalopathy="none"
        )
    problems = info.value.problems
    assert len(problems) == 4
    assert any(
        p.startswith("bilirubin_umol_l=-3: implausible, expected 1.5..600") for p in problems
    )
    assert any(p.startswith("albumin_g_l=300: implausible, expected 10..60") for p in problems)
    assert any(p.startswith("inr=50: implausible, expected 0.5..10") for p in problems)
    assert any("ascites='lots'" in p for p in problems)


def test_unit_mix_ups_get_a_hint():
    with pytest.raises(InvalidInput, match=r"bilirubin_mg_dl=25.*looks like a umol/L value"):
        child_pugh(bilirubin_mg_dl=25, albumin_g_l=40, **BASE)
    with pytest.raises(InvalidInput, match=r"albumin_g_l=3.5.*looks like a g/dL value"):
        child_pugh(bilirubin_umol_l=20, albumin_g_l=3.5, **BASE)
    with pytest.raises(InvalidInput, match=r"albumin_g_dl=38.*looks like a g/L value"):
        child_pugh(bilirubin_umol_l=20, albumin_g_dl=38, **BASE)


def test_exactly_one_unit_per_lab():
    with pytest.raises(
        InvalidInput, match="expected exactly one of them, got bilirubin_umol_l, bilirubin_mg_dl"
    ):
        child_pugh(bilirubin_umol_l=20, bilirubin_mg_dl=1.2, albumin_g_l=40, **BASE)
    with pytest.raises(
        InvalidInput, match="albumin_g_l/albumin_g_dl: expected exactly one of them, got neither"
    ):
        child_pugh(bilirubin_umol_l=20, **BASE)


def test_unknown_variant_is_refused():
    with pytest.raises(InvalidInput, match="variant='child1964'"):
        child_pugh(bilirubin_umol_l=20, albumin_g_l=40, variant="child1964", **BASE)


bilirubins = st.floats(min_value=1.5, max_value=600, allow_nan=False)
albumins = st.floats(min_value=10, max_value=60, allow_nan=False)


@given(b1=bilirubins, b2=bilirubins, alb=albumins)
def test_points_monotone_in_bilirubin(b1, b2, alb):
    low, high = sorted((b1, b2))
    p_low = child_pugh(bilirubin_umol_l=low, albumin_g_l=alb, **BASE).points
    p_high = child_pugh(bilirubin_umol_l=high, albumin_g_l=alb, **BASE).points
    assert p_low <= p_high


@given(a1=albumins, a2=albumins, bili=bilirubins)
def test_points_antitone_in_albumin_and_grade_consistent(a1, a2, bili):
    low, high = sorted((a1, a2))
    cp_low = child_pugh(bilirubin_umol_l=bili, albumin_g_l=low, **BASE)
    cp_high = child_pugh(bilirubin_umol_l=bili, albumin_g_l=high, **BASE)
    assert cp_low.points >= cp_high.points
    for cp in (cp_low, cp_high):
        assert 5 <= cp.points <= 15
        assert cp.grade == ("A" if cp.points <= 6 else "B" if cp.points <= 9 else "C")


def test_albi_worked_example_grade_2a():
    """bilirubin 17.1 umol/L, albumin 40 g/L:
    0.66 x log10(17.1) = 0.66 x 1.2329961 = 0.8137774; -0.085 x 40 = -3.4;
    ALBI = -2.5862226 -> > -2.60 and <= -2.270 -> grade 2, mALBI 2a.
    """
    result = albi(bilirubin_umol_l=17.1, albumin_g_l=40)
    assert result.score == pytest.approx(-2.5862226, abs=1e-6)
    assert (result.grade, result.subgrade) == (2, "2a")


def test_albi_coefficient_variant_flips_the_grade():
    """bilirubin 16.5, albumin 40: 0.66 x log10(16.5) = 0.66 x 1.2174839 = 0.8035394.
    Johnson (-0.085): 0.8035394 - 3.400 = -2.5964606 -> grade 2.
    Marasco (-0.0852): 0.8035394 - 3.408 = -2.6044606 -> grade 1.
    """
    johnson = albi(bilirubin_umol_l=16.5, albumin_g_l=40)
    marasco = albi(bilirubin_umol_l=16.5, albumin_g_l=40, albumin_coefficient=-0.0852)
    assert johnson.score == pytest.approx(-2.5964606, abs=1e-6)
    assert marasco.score == pytest.approx(-2.6044606, abs=1e-6)
    assert (johnson.grade, marasco.grade) == (2, 1)


@pytest.mark.parametrize(
    ("bili", "alb", "score", "grade", "subgrade"),
    [
        # 0.66 x 1 - 0.085 x 45 = 0.66 - 3.825 = -3.165
        (10, 45, -3.165, 1, "1"),
        # 0.66 x log10(11) = 0.66 x 1.0413927 = 0.6873192; - 2.975 = -2.2876808 (<= -2.270)
        (11, 35, -2.2876808, 2, "2a"),
        # 0.66 x log10(13) = 0.66 x 1.1139434 = 0.7352026; - 2.975 = -2.2397974 (> -2.270)
        (13, 35, -2.2397974, 2, "2b"),
        # 0.66 x log10(40) = 0.66 x 1.6020600 = 1.0573596; - 2.55 = -1.4926404 (<= -1.39)
        (40, 30, -1.4926404, 2, "2b"),
        # 0.66 x log10(51) = 0.66 x 1.7075702 = 1.1269963; - 2.125 = -0.9980037
        (51, 25, -0.9980037, 3, "3"),
    ],
)
def test_albi_and_malbi_grades(bili, alb, score, grade, subgrade):
    result = albi(bilirubin_umol_l=bili, albumin_g_l=alb)
    assert result.score == pytest.approx(score, abs=1e-6)
    assert (result.grade, result.subgrade) == (grade, subgrade)


def test_albi_grade_thresholds_are_inclusive_upper():
    """Grades: 1 <= -2.60 < 2 <= -1.39 < 3: solve for the bilirubin giving -2.60 at 40 g/L."""
    bili_at_edge = 10 ** ((-2.60 + 0.085 * 40) / 0.66)
    below = albi(bilirubin_umol_l=bili_at_edge * 0.999, albumin_g_l=40)
    above = albi(bilirubin_umol_l=bili_at_edge * 1.001, albumin_g_l=40)
    assert (below.grade, above.grade) == (1, 2)
    assert math.isclose(albi(bilirubin_umol_l=bili_at_edge, albumin_g_l=40).score, -2.60)


def test_albi_rejects_implausible_and_unknown_coefficient():
    with pytest.raises(InvalidInput, match=r"albumin_g_l=4.1: implausible.*g/dL"):
        albi(bilirubin_umol_l=17, albumin_g_l=4.1)
    with pytest.raises(InvalidInput, match=r"albumin_coefficient=-0.1"):
        albi(bilirubin_umol_l=17, albumin_g_l=41, albumin_coefficient=-0.1)


@pytest.mark.parametrize("coefficient", [Fraction("-0.085"), Fraction("-0.0852")])
@pytest.mark.parametrize("edge", [Fraction("-2.60"), Fraction("-2.270"), Fraction("-1.39")])
def test_albi_edges_cannot_be_hit_by_decimal_lab_values(coefficient, edge):
    """Why ALBI may compare floats (Johnson 2015 grades, Hiraoka 2017 split): log10(b) is
    rational only for b a power of 10 (10 or 100 umol/L in the plausible range), and the
    albumin that would then put the score exactly on an edge is a non-terminating decimal."""
    for log_bili in (1, 2):
        albumin = (edge - Fraction("0.66") * log_bili) / coefficient
        denominator = albumin.denominator
        for prime in (2, 5):
            while denominator % prime == 0:
                denominator //= prime
        assert denominator != 1, albumin  # not expressible as a finite decimal
