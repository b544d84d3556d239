"""Group-sequential boundaries against published gsDesign values and an independent oracle."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.stats import multivariate_normal, norm

from talentop.design import gs_boundaries
from talentop.design.spending import spend
from talentop.errors import InvalidInput

TOL = 1e-3


@pytest.mark.parametrize(
    ("information", "spending", "expected"),
    [
        ([0.5, 1], "obf", [2.9626, 1.9686]),
        ([1 / 3, 2 / 3, 1], "obf", [3.7103, 2.5114, 1.9930]),
        ([0.5, 1], "pocock", [2.1570, 2.2010]),
        ([1 / 3, 2 / 3, 1], "pocock", [2.2794, 2.2949, 2.2959]),
    ],
)
def test_lan_demets_bounds_match_clinical_rules_8_1(information, spending, expected):
    """clinical-rules.md 8.1: one-sided alpha 0.025, equally spaced looks (gsDesign sfLDOF /
    sfLDPocock, computed by AMPR integration and cross-checked there)."""
    design = gs_boundaries(information=information, alpha=0.025, spending=spending)
    assert_allclose(design.efficacy_z, expected, atol=TOL)
    assert design.cumulative_alpha[-1] == pytest.approx(0.025, abs=1e-6)


def test_obf_three_looks_cumulative_alpha_and_nominal_p():
    """clinical-rules.md 8.1, LDOF K = 3: cumulative alpha 0.000104, 0.006048, 0.025;
    nominal one-sided p 0.00010, 0.00601, 0.02313."""
    design = gs_boundaries(information=[1 / 3, 2 / 3, 1])
    assert_allclose(design.cumulative_alpha, [0.000104, 0.006048, 0.025], atol=2e-6)
    assert_allclose(design.nominal_p, [0.00010, 0.00601, 0.02313], atol=1e-5)


def test_hsd_gamma_minus_4_five_looks_match_gsdesign():
    """gsDesign snapshot tests/testthat/_snaps/independent-test-gsBoundSummary.md, from
    ``gsDesign(nFixSurv = 0, k = 5, test.type = 1, n.fix = 1)`` (sfu = sfHSD, gamma = -4):
    Z 3.2527 2.9860 2.6917 2.3737 2.0253; P(Cross) if delta=0 (cumulative)
    0.0006 0.0018 0.0047 0.0110 0.0250; N/Fixed design N at the final look 1.02."""
    design = gs_boundaries(
        information=[0.2, 0.4, 0.6, 0.8, 1.0], spending="hsd", gamma=-4, beta=0.1
    )
    assert_allclose(design.efficacy_z, [3.2527, 2.9860, 2.6917, 2.3737, 2.0253], atol=TOL)
    assert_allclose(design.cumulative_alpha, [0.0006, 0.0018, 0.0047, 0.0110, 0.0250], atol=6e-5)
    assert design.inflation == pytest.approx(1.02, abs=0.005)
    assert design.cumulative_power[-1] == pytest.approx(0.9, abs=1e-6)


def test_nonbinding_beta_spending_futility_matches_gsdesign_default():
    """Same snapshot file, ``gsSurv(lambdaC = .2, hr = .5, eta = .1, T = 2, minfup = 1.5)``
    (gsDesign defaults: k = 3, test.type = 4, sfu = sfHSD(-4), sfl = sfHSD(-2), beta = 0.1):
    efficacy Z 3.0107 2.5465 1.9992; futility Z -0.2388 0.9410 1.9992;
    P(Cross) if HR=0.5 efficacy 0.1412 0.5815 0.9000 (cumulative), futility 0.0148 0.0437 0.1000."""
    design = gs_boundaries(
        information=[1 / 3, 2 / 3, 1],
        spending="hsd",
        gamma=-4,
        beta=0.1,
        futility="hsd",
        futility_gamma=-2,
    )
    assert_allclose(design.efficacy_z, [3.0107, 2.5465, 1.9992], atol=TOL)
    assert_allclose(design.futility_z, [-0.2388, 0.9410, 1.9992], atol=TOL)
    assert_allclose(design.cumulative_power, [0.1412, 0.5815, 0.9000], atol=1e-4)
    assert_allclose(design.cumulative_beta, [0.0148, 0.0437, 0.1000], atol=1e-4)


def test_five_look_futility_matches_gsdesign_test_type_4():
    """Same snapshot file, ``gsDesign(nFixSurv = 3, k = 5, test.type = 4, n.fix = 1)``:
    futility Z -0.9016 -0.0367 0.6945 1.3603 2.0253; N/Fixed design N final 1.1
    (first look 0.22 = 0.2 x inflation)."""
    design = gs_boundaries(
        information=[0.2, 0.4, 0.6, 0.8, 1.0], spending="hsd", beta=0.1, futility="hsd"
    )
    assert_allclose(design.futility_z, [-0.9016, -0.0367, 0.6945, 1.3603, 2.0253], atol=TOL)
    assert design.inflation == pytest.approx(1.10, abs=0.005)
    assert 0.2 * design.inflation == pytest.approx(0.22, abs=0.005)


@pytest.mark.parametrize("spending", ["obf", "pocock", "hsd"])
def test_bounds_reintegrate_to_spending_by_multivariate_normal(spending):
    """Independent oracle: Z_k are multivariate normal with corr(Z_j, Z_k) = sqrt(t_j / t_k);
    P(no crossing up to look k) from scipy's MVN CDF must equal 1 - alpha(t_k)."""
    t = np.array([0.3, 0.65, 1.0])
    design = gs_boundaries(information=list(t), spending=spending, gamma=1.0)
    corr = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
    for k in range(1, len(t) + 1):
        mvn = multivariate_normal(mean=np.zeros(k), cov=corr[:k, :k], abseps=1e-8, releps=1e-8)
        no_cross = mvn.cdf(np.array(design.efficacy_z[:k]))
        expected = float(spend(spending, 0.025, t[k - 1], 1.0))
        assert 1 - no_cross == pytest.approx(expected, abs=2e-5)


def test_recomputed_at_observed_interim_fraction():
    """At an actual interim with 0.43 of the planned events the first bound spends
    alpha(0.43) exactly: z_1 = Phi^-1(1 - alpha(0.43)) (one look, no integration)."""
    design = gs_boundaries(information=[86 / 200, 1.0])
    spent = float(spend("obf", 0.025, 0.43))
    assert design.efficacy_z[0] == pytest.approx(norm.isf(spent), abs=1e-8)
    assert design.cumulative_alpha[-1] == pytest.approx(0.025, abs=1e-6)
    # event counts are accepted directly and normalised by the last
    by_counts = gs_boundaries(information=[86, 200])
    assert_allclose(by_counts.efficacy_z, design.efficacy_z, atol=1e-10)


def test_two_sided_symmetric_spends_half_on_each_side():
    """Two-sided alpha 0.05: each side spends 0.025; with OBF the lower side's crossings
    barely interact, so the bounds sit within 1e-3 of the one-sided 0.025 bounds."""
    two = gs_boundaries(information=[1 / 3, 2 / 3, 1], alpha=0.05, sided=2)
    one = gs_boundaries(information=[1 / 3, 2 / 3, 1], alpha=0.025)
    assert two.cumulative_alpha[-1] == pytest.approx(0.05, abs=1e-6)
    assert_allclose(two.efficacy_z, one.efficacy_z, atol=1e-3)


def test_two_sided_nominal_p_is_two_sided_like_cumulative_alpha():
    """gsDesign(k=3, test.type=2, alpha=0.025, sfu=sfLDOF) has bounds 3.7103, 2.5114, 1.9930
    (clinical-rules.md 8.1 to 1e-3) and reports two-sided nominal levels 2 (1 - Phi(z)):
    2 * 1.0351e-4 = 0.000207, 2 * 0.0060127 = 0.01202, 2 * 0.023131 = 0.04626 (Phi from
    the quoted z; 1e-5 covers the 4-decimal rounding of z, |dp/dz| <= 2 phi(1.99) = 0.11)."""
    two = gs_boundaries(information=[1 / 3, 2 / 3, 1], alpha=0.05, sided=2)
    assert_allclose(two.nominal_p, [0.000207, 0.01202, 0.04626], atol=1e-5)
    assert_allclose(two.nominal_p_one_sided, [0.0001035, 0.006013, 0.023131], atol=6e-6)
    # the first look spends alpha only there: nominal p equals the cumulative alpha, which is
    # two-sided as well, so the two columns are on one scale
    assert two.nominal_p[0] == pytest.approx(two.cumulative_alpha[0], rel=1e-6)
    assert two.cumulative_alpha[-1] == pytest.approx(0.05, abs=1e-6)
    assert two.nominal_p[-1] < two.cumulative_alpha[-1]
    row = two.summary.iloc[2]
    assert row["nominal_p"] == pytest.approx(0.04626, abs=1e-5)
    assert row["nominal_p_one_sided"] == pytest.approx(0.023131, abs=6e-6)
    data = two.to_dict()
    assert data["nominal_p"] == pytest.approx(two.nominal_p)
    assert data["nominal_p_one_sided"] == pytest.approx(two.nominal_p_one_sided)


@pytest.mark.parametrize("spending", ["obf", "pocock", "hsd", "classical_obf"])
def test_one_sided_nominal_p_unchanged(spending):
    """One-sided designs: nominal p = 1 - Phi(z) (clinical-rules.md 8.1, "nominal one-sided
    p"), and the one-sided field is the same list."""
    one = gs_boundaries(information=[0.25, 0.6, 1], spending=spending)
    assert one.nominal_p == one.nominal_p_one_sided
    assert_allclose(one.nominal_p, norm.sf(one.efficacy_z), rtol=1e-12)


def test_hr_scale_uses_schoenfeld_variance():
    """HR at bound = exp(-z / sqrt(p (1 - p) d)): final OBF bound with 331 events, 1:1."""
    design = gs_boundaries(information=[0.5, 1])
    hr = design.hr_scale(331)
    assert hr[1] == pytest.approx(math.exp(-design.efficacy_z[1] / math.sqrt(331 / 4)), rel=1e-12)
    assert hr[0] == pytest.approx(math.exp(-design.efficacy_z[0] / math.sqrt(165.5 / 4)), rel=1e-12)
    table = design.summary
    assert list(table["look"]) == [1, 2]
    assert design.to_dict()["efficacy_z"] == pytest.approx(design.efficacy_z)


def test_invalid_inputs_are_all_reported():
    with pytest.raises(
        InvalidInput, match=r"alpha=0.7: expected 1e-12 <= alpha < 0.5\n.*spending='wang'"
    ) as info:
        gs_boundaries(information=[0.5, 1], spending="wang", alpha=0.7)
    assert len(info.value.problems) == 2
    with pytest.raises(InvalidInput, match="strictly increasing"):
        gs_boundaries(information=[0.6, 0.5, 1])
    with pytest.raises(InvalidInput, match="beta=None: expected the type II error"):
        gs_boundaries(information=[0.5, 1], futility="obf")


def test_futility_at_a_given_drift_spends_beta_and_meets_at_the_end():
    """Recomputing at an actual interim with the design's drift (|ln 0.6| sqrt(D/4), D = 130):
    the first futility bound spends beta(0.45) exactly, i.e. P(Z_1 < a_1 | drift) =
    beta(0.45), and the final futility bound equals the efficacy bound."""
    drift = abs(math.log(0.6)) * math.sqrt(130 / 4)
    design = gs_boundaries(information=[0.45, 1], beta=0.1, futility="hsd", drift=drift)
    spent = float(spend("hsd", 0.1, 0.45, -2.0))
    assert norm.cdf(design.futility_z[0] - drift * math.sqrt(0.45)) == pytest.approx(
        spent, abs=1e-9
    )
    assert design.futility_z[-1] == design.efficacy_z[-1]
    assert design.drift == drift


def test_classical_obf_matches_gsdesign_unit_test():
    """gsDesign inst/unitTests/runit.output.R, test.Deming.OFbound: ``gsDesign(k = 4,
    test.type = 2, sfu = "OF")`` (two-sided symmetric, 0.025 per side) has bounds rounding to
    4.05, 2.86, 2.34, 2.02 (quoted in clinical-rules.md 8.1)."""
    design = gs_boundaries(information=[1, 2, 3, 4], alpha=0.05, sided=2, spending="classical_obf")
    assert [round(z, 2) for z in design.efficacy_z] == [4.05, 2.86, 2.34, 2.02]
    assert design.cumulative_alpha[-1] == pytest.approx(0.05, abs=1e-6)


@pytest.mark.parametrize(
    ("looks", "obf_c", "pocock_c"),
    [(2, 1.9774, 2.1783), (3, 2.0040, 2.2895), (4, 2.0243, 2.3613), (5, 2.0401, 2.4132)],
)
def test_classical_constants_match_jennison_turnbull(looks, obf_c, pocock_c):
    """Jennison & Turnbull (2000) tables 2.1 / 2.3, two-sided alpha 0.05, K equal looks, as
    listed in clinical-rules.md 8.1: O'Brien-Fleming C_B (bounds C_B sqrt(K / k)) and Pocock
    C_P (constant bounds). The one-sided 0.025 Pocock design gives the same constants to
    4 decimals (the lower boundary is almost never reached after an upper one)."""
    info = list(range(1, looks + 1))
    obf = gs_boundaries(information=info, alpha=0.05, sided=2, spending="classical_obf")
    expected = [obf_c * math.sqrt(looks / k) for k in info]
    assert_allclose(obf.efficacy_z, expected, atol=1e-4)
    pocock = gs_boundaries(information=info, alpha=0.05, sided=2, spending="classical_pocock")
    assert_allclose(pocock.efficacy_z, [pocock_c] * looks, atol=1e-4)
    one_sided = gs_boundaries(information=info, alpha=0.025, spending="classical_pocock")
    assert_allclose(one_sided.efficacy_z, [pocock_c] * looks, atol=1e-4)
