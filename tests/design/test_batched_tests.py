"""Vectorised log-rank / Cox / KM medians against lifelines (test-only oracle)."""

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test

from talentop.design.batched_tests import batched_analysis


@pytest.fixture(scope="module")
def trials():
    rng = np.random.default_rng(2024)
    replicates, n = 6, 150
    x = np.r_[np.ones(70), np.zeros(80)]
    event = rng.exponential(10.0, (replicates, n)) / np.where(x == 1, 0.6, 1.0)
    censor = rng.uniform(0, 30, (replicates, n))
    return np.minimum(event, censor), event <= censor, x


def test_logrank_cox_and_median_agree_with_lifelines(trials):
    time, status, x = trials
    result = batched_analysis(time, status, x)
    for r in range(time.shape[0]):
        a, b = x == 1, x == 0
        lr = logrank_test(time[r, a], time[r, b], status[r, a], status[r, b])
        assert result.logrank_z[r] ** 2 == pytest.approx(lr.test_statistic, rel=1e-10)
        fit = CoxPHFitter().fit(pd.DataFrame({"T": time[r], "E": status[r], "x": x}), "T", "E")
        assert np.exp(result.log_hr[r]) == pytest.approx(fit.hazard_ratios_["x"], rel=1e-5)
        assert result.se_log_hr[r] == pytest.approx(fit.standard_errors_["x"], rel=1e-5)
        for arm, median in ((a, result.median_experimental[r]), (b, result.median_control[r])):
            km = KaplanMeierFitter().fit(time[r, arm], status[r, arm])
            expected = km.median_survival_time_
            if np.isinf(expected):
                assert np.isnan(median)
            else:
                assert median == pytest.approx(expected, rel=1e-12)
    # sign convention: fewer events on the experimental arm (HR < 1) gives z > 0
    assert np.all(np.sign(result.logrank_z) == -np.sign(result.log_hr))


def test_agrees_with_talentop_stats_on_single_trials(trials):
    """The single-data-set engine (talentop.stats) on the same trials: log-rank chi-square
    and Breslow Cox HR coincide (no ties in continuous times)."""
    stats = pytest.importorskip("talentop.stats")
    time, status, x = trials
    result = batched_analysis(time, status, x)
    for r in range(2):
        test = stats.logrank(time[r], status[r].astype(int), x)
        assert result.logrank_z[r] ** 2 == pytest.approx(test.statistic, rel=1e-8)
        frame = pd.DataFrame({"T": time[r], "E": status[r].astype(int), "x": x})
        fit = stats.cox(frame, duration="T", event="E", covariates=["x"], ties="breslow")
        assert np.exp(result.log_hr[r]) == pytest.approx(float(fit.hr["x"]), rel=1e-6)


def test_no_events_in_one_arm_gives_nan_hr_not_a_number_from_nowhere():
    time = np.array([[5.0, 6.0, 3.0, 4.0]])
    status = np.array([[False, False, True, True]])
    result = batched_analysis(time, status, np.array([1, 1, 0, 0]))
    assert np.isnan(result.log_hr[0])
    assert result.logrank_z[0] > 0
