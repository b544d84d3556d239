"""Calibration to the TALENTOP interim (protocol.md table) and its large-sample limits."""

import math

import numpy as np
import pytest
from scipy.stats import norm

from talentop.design.asymptotic import limiting_cox, limiting_log_hr, true_median
from talentop.design.batched_tests import batched_analysis
from talentop.design.calibrate import (
    CalibrationAssumptions,
    CalibrationTargets,
    calibrate_talentop,
)
from talentop.design.events import expected_events
from talentop.design.generate import generate_patients, observe
from talentop.errors import ConvergenceError, InvalidInput


@pytest.fixture(scope="module")
def result():
    return calibrate_talentop(replicates=1000, seed=3)


def test_information_targets_are_derived_from_the_published_p_and_ci():
    """protocol.md: TTF P = 0.015 two-sided -> z = Phi^-1(0.9925) = 2.4324; OS 95 % CI
    0.35-1.29 -> SE = (ln 1.29 - ln 0.35) / (2 x 1.959964) = (0.254642 + 1.049822) / 3.919928
    = 0.33278. Under PH with 101:100
    allocation these imply (z / ln 0.6)^2 / (p (1 - p)) = 90.70 events and
    1 / (p (1 - p) SE^2) = 36.12 deaths (Schoenfeld 1981). Hand-computed values."""
    targets = CalibrationTargets()
    assert targets.ttf_z == pytest.approx(2.432379, abs=1e-6)
    assert targets.os_se_log_hr == pytest.approx((0.254642 + 1.049822) / 3.919928, abs=1e-6)
    p = 101 / 201
    assert targets.ttf_events_ph == pytest.approx(
        (2.432379 / math.log(0.6)) ** 2 / (p * (1 - p)), rel=1e-6
    )
    assert targets.ttf_events_ph == pytest.approx(90.70, abs=0.01)
    assert targets.os_deaths_ph == pytest.approx(36.12, abs=0.01)


def test_fit_reproduces_every_published_figure(result):
    """protocol.md: medians 20.4 / 11.8, TTF HR 0.60 with P = 0.015, OS HR 0.67 with
    SE matching the CI width, 83/101 operated; data cut, TTF window, OS median fitted."""
    fit = result.fit.set_index("quantity")
    for name in (
        "TTF median A (months)",
        "TTF median B (months)",
        "TTF hazard ratio",
        "TTF expected log-rank z",
        "TTF two-sided P (at the expected z; MC: median)",
        "OS hazard ratio",
        "OS log HR standard error",
    ):
        assert fit.loc[name, "analytic"] == pytest.approx(fit.loc[name, "target"], rel=1e-6), name
    # the published CI bounds are rounded to 2 decimals: within 0.005 of the fitted CI
    assert fit.loc["OS HR 95% CI lower", "analytic"] == pytest.approx(0.35, abs=0.005)
    assert fit.loc["OS HR 95% CI upper", "analytic"] == pytest.approx(1.29, abs=0.005)
    assert result.operated_fraction == pytest.approx(83 / 101)
    assert set(result.fitted) == {
        "data_cut_months",
        "ttf_window_months",
        "os_control_median_months",
    }
    # every setting must be consistent: the interim follows the end of accrual
    assert result.data_cut_months > result.assumptions.accrual_months


def test_event_counts_agree_with_lachin_foulkes_and_the_ph_approximation(result):
    """Independent oracle: the events integrated by limiting_cox equal expected_events
    (Lachin-Foulkes integration over entry times, events.py) at the fitted cut; with the
    nearly proportional fitted hazards they are within 5 % of the Schoenfeld counts."""
    cut = result.data_cut_months
    for endpoint, limit, ph in (
        ("ttf", result.ttf_limit, result.targets.ttf_events_ph),
        ("os", result.os_limit, result.targets.os_deaths_ph),
    ):
        lachin = float(expected_events(result.design(endpoint), [cut])[0])
        assert limit.events == pytest.approx(lachin, rel=1e-3)
        assert limit.events == pytest.approx(ph, rel=0.05)


def test_monte_carlo_agrees_with_the_analytic_fit(result):
    """Explicit tolerances: 4 Monte-Carlo SE plus a small-sample allowance (Cox HR 3 %, z 0.1:
    the large-sample limits are only approached with ~90 events)."""
    fit = result.fit.set_index("quantity")
    for name, allowance in (
        ("TTF hazard ratio", 0.03 * 0.60),
        ("OS hazard ratio", 0.03 * 0.67),
        ("TTF expected log-rank z", 0.1),
        ("operated fraction, arm A", 0.0),
        ("OS log HR standard error", 0.02),
    ):
        row = fit.loc[name]
        assert abs(row["monte_carlo"] - row["analytic"]) < 4 * row["mc_se"] + allowance, name
    # the simulated interim's median P-value sits near the published one
    assert (
        abs(fit.loc["TTF two-sided P (at the expected z; MC: median)", "monte_carlo"] - 0.015)
        < 0.01
    )


def test_curves_cross_early_surgical_risk_then_gain(result):
    """protocol.md: the curves cross early. The operated early hazard exceeds arm B's
    (ttf_early_hr / os_early_hr = 1.5 by assumption), the later one is lower."""
    (_, early), (window, late) = result.ttf_hazards["A"]
    control = result.ttf_hazards["B"][0][1]
    assert early == pytest.approx(1.5 * control) and early > control > late
    assert window == pytest.approx(result.assumptions.ttf_window_months)
    (_, os_early), (_, os_late) = result.os_hazards["A"]
    assert os_early > result.os_hazards["B"][0][1] > os_late
    assert true_median(result.design("ttf"), 0) == pytest.approx(20.4, abs=1e-6)
    assert result.to_dict()["ttf_hazards"]["A"][0] == [0.0, early]


def test_limiting_values_agree_with_one_very_large_simulated_trial(result):
    """Independent check of the limiting Cox HR, z and information: one trial of 200,000
    patients with the same accrual shape and data cut, fitted by the batched Cox; z and
    information scale with n (x 200,000 / 201)."""
    design = result.design("ttf")
    cut = result.data_cut_months
    scale = 200_000 / 201
    big = design.model_copy(
        update={
            "n_patients": 200_000,
            "accrual": design.accrual.model_copy(
                update={"rate_per_month": design.accrual.rate_per_month * scale}
            ),
        }
    )
    patients = generate_patients(big, 1, np.random.default_rng(1))
    time, status = observe(patients, np.array([cut]))
    fitted = batched_analysis(time, status, patients.experimental)
    limit = limiting_cox(design, cut)
    assert fitted.log_hr[0] == pytest.approx(limit.log_hr, abs=0.01)
    assert fitted.logrank_z[0] == pytest.approx(limit.logrank_z * math.sqrt(scale), rel=0.02)
    assert fitted.se_log_hr[0] == pytest.approx(limit.se_log_hr / math.sqrt(scale), rel=0.02)
    assert limiting_log_hr(design, cut) == (limit.log_hr, limit.logrank_z)


def test_given_data_cut_is_kept_and_the_p_value_then_differs():
    """With the data cut fixed at month 48 (36 months accrual) the fit keeps it, still
    matches medians and HRs, and reports the larger z that this cut implies."""
    result = calibrate_talentop(
        assumptions=CalibrationAssumptions(accrual_months=36, data_cut_months=48.0),
        replicates=50,
    )
    fit = result.fit.set_index("quantity")
    assert result.data_cut_months == 48.0 and "data_cut_months" not in result.fitted
    assert fit.loc["TTF hazard ratio", "analytic"] == pytest.approx(0.60, rel=1e-6)
    assert fit.loc["TTF expected log-rank z", "analytic"] > 2.6
    assert 2 * norm.sf(fit.loc["TTF expected log-rank z", "analytic"]) < 0.015


def test_infeasible_accrual_and_bad_targets_are_explained():
    with pytest.raises(ConvergenceError, match="accrual_months=36.*expected a shorter accrual"):
        calibrate_talentop(assumptions=CalibrationAssumptions(accrual_months=36), replicates=10)
    with pytest.raises(InvalidInput, match=r"os_hr_ci=\(0.8, 1.29\): expected 0 < lower < os_hr"):
        calibrate_talentop(CalibrationTargets(os_hr_ci=(0.8, 1.29)), replicates=10)


@pytest.mark.parametrize("noncompliance", [0.0, 0.18, 1.0])
def test_true_median_is_where_the_array_survival_is_one_half(noncompliance):
    """``true_median`` finds its root on floats (for speed); the array survival it must
    agree with (``arm_survival``, what every other integral uses) is 0.5 there to 1e-9, on
    a two-piece arm mixed with an exponential one. Exact check: with no non-compliance the
    median of a two-piece hazard is closed-form, start + (ln 2 - H(start)) / rate."""
    from talentop.design.asymptotic import arm_survival
    from talentop.design.trial import Arm, TrialDesign

    two_piece = [(0.0, 0.088), (0.4, 0.0288)]
    design = TrialDesign(
        arms=(
            Arm(name="A", hazards=two_piece, noncompliance=noncompliance),
            Arm(name="B", hazards=[(0.0, 0.0587)]),
        ),
        n_patients=200,
        accrual={"rate_per_month": 6.0},
        look_events=[100],
    )
    median = true_median(design, 0)
    survival, _ = arm_survival(design, 0, np.array([median]))
    assert survival[0] == pytest.approx(0.5, abs=1e-9)
    if noncompliance == 0.0:
        assert median == pytest.approx(0.4 + (math.log(2) - 0.088 * 0.4) / 0.0288, abs=1e-8)
    if noncompliance == 1.0:
        assert median == pytest.approx(math.log(2) / 0.0587, abs=1e-8)
