"""Calibration to the TALENTOP interim (protocol.md table) and its large-sample HR."""

import math

import numpy as np
import pytest

from talentop.design.asymptotic import limiting_log_hr, true_median
from talentop.design.batched_tests import batched_analysis
from talentop.design.calibrate import calibrate_talentop
from talentop.design.generate import generate_patients, observe


@pytest.fixture(scope="module")
def result():
    return calibrate_talentop(replicates=1000, seed=3)


def test_fitted_hazards_reproduce_the_published_interim(result):
    """protocol.md: median TTF 20.4 vs 11.8 months, TTF HR 0.60, OS HR 0.67, 83/101 operated."""
    fit = result.fit.set_index("quantity")
    assert fit.loc["TTF median A (months)", "analytic"] == pytest.approx(20.4, abs=1e-6)
    assert fit.loc["TTF median B (months)", "analytic"] == pytest.approx(11.8, abs=1e-6)
    assert fit.loc["TTF hazard ratio", "analytic"] == pytest.approx(0.60, abs=1e-6)
    assert fit.loc["OS hazard ratio", "analytic"] == pytest.approx(0.67, abs=1e-6)
    assert result.operated_fraction == pytest.approx(83 / 101)
    # Monte-Carlo HRs agree with the analytic limits (small-sample Cox bias allowed: 2 %)
    for name in ("TTF hazard ratio", "OS hazard ratio"):
        row = fit.loc[name]
        assert abs(row["monte_carlo"] - row["analytic"]) < 4 * row["mc_se"] + 0.02 * row["analytic"]


def test_curves_cross_early_surgical_risk_then_gain(result):
    """protocol.md: the curves cross early. The operated early hazard exceeds arm B's, the
    later one is lower."""
    (_, early), (_, late) = result.ttf_hazards["A"]
    control = result.ttf_hazards["B"][0][1]
    assert early > control > late
    (_, os_early), (_, os_late) = result.os_hazards["A"]
    assert os_early > result.os_hazards["B"][0][1] > os_late
    design = result.design("ttf")
    assert true_median(design, 0) == pytest.approx(20.4, abs=1e-6)
    assert result.to_dict()["ttf_hazards"]["A"][0] == [0.0, early]


def test_limiting_hr_agrees_with_one_very_large_simulated_trial(result):
    """Independent check of the limiting Cox HR: one trial of 200,000 patients with the same
    accrual shape and data cut, fitted by the batched Cox."""
    design = result.design("ttf")
    cut = result.assumptions.data_cut_months
    big = design.model_copy(
        update={
            "n_patients": 200_000,
            "accrual": design.accrual.model_copy(
                update={"rate_per_month": 200_000 / result.assumptions.accrual_months}
            ),
        }
    )
    patients = generate_patients(big, 1, np.random.default_rng(1))
    time, status = observe(patients, np.array([cut]))
    fitted = batched_analysis(time, status, patients.experimental)
    beta, _ = limiting_log_hr(design, cut)
    assert fitted.log_hr[0] == pytest.approx(beta, abs=0.01)
    assert math.exp(beta) == pytest.approx(0.60, abs=1e-6)
