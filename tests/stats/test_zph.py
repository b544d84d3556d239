"""PH test: lifelines proportional_hazard_test (GT approximation) and a from-definition
score test (R survival >= 3.0 cox.zph) computed with plain loops."""

from __future__ import annotations

import numpy as np
import pytest
from lifelines import CoxPHFitter
from lifelines.statistics import proportional_hazard_test
from numpy.testing import assert_allclose
from scipy import stats as sps

from talentop.errors import InvalidInput
from talentop.stats import cox

from .conftest import simulated


@pytest.mark.parametrize("transform", ["identity", "log"])
def test_gt_method_matches_lifelines(lung, transform):
    """lifelines implements the Grambsch-Therneau approximation (R < 3.0); like with like:
    same transform (lifelines' "km" is right-continuous, R's left-continuous, so not km)."""
    data = lung[["time", "status", "age", "sex"]]
    fit = cox(data, duration="time", event="status", covariates=["age", "sex"])
    ours = fit.ph_test(transform, method="gt").table
    ref = CoxPHFitter().fit(data, "time", "status")
    theirs = proportional_hazard_test(ref, data, time_transform=transform).summary
    # lifelines' coefficients carry its own convergence tolerance (~1e-6)
    assert_allclose(ours.loc[["age", "sex"], "chisq"], theirs.test_statistic, rtol=1e-4)


def _score_test_by_definition(data, covs, beta):
    """Score test for adding x_k * g(t) at (beta_hat, 0), g(t) = t minus its mean over the
    events (identity transform), Breslow ties, one plain loop per event time."""
    x = data[covs].to_numpy(float)
    t, e = data.time.to_numpy(), data.event.to_numpy().astype(bool)
    event_times = t[e]
    centre = event_times.mean()
    p = x.shape[1]
    u = np.zeros(2 * p)
    info = np.zeros((2 * p, 2 * p))
    for time in np.unique(event_times):
        g = time - centre
        risk = t >= time
        w = np.exp(x[risk] @ beta)
        z = np.hstack([x[risk], x[risk] * g])
        mean = w @ z / w.sum()
        cov = (z * w[:, None]).T @ z / w.sum() - np.outer(mean, mean)
        dead = risk & e & (t == time)
        zd = np.hstack([x[dead], x[dead] * g])
        u += (zd - mean).sum(axis=0)
        info += dead.sum() * cov
    stats_ = []
    for k in range(p):
        idx = [k, p + k]
        stats_.append(u[idx] @ np.linalg.solve(info[np.ix_(idx, idx)], u[idx]))
    inv = np.linalg.inv(info)[p:, p:]
    stats_.append(u[p:] @ inv @ u[p:])
    return np.array(stats_)


def test_score_method_matches_definition():
    data = simulated(300, seed=21, grid=0.1, p=2)
    fit = cox(data, duration="time", event="event", covariates=["x0", "x1"], ties="breslow")
    ours = fit.ph_test("identity").table
    expected = _score_test_by_definition(data, ["x0", "x1"], fit.coef.to_numpy())
    assert_allclose(ours.chisq, expected, rtol=1e-6)
    assert_allclose(ours.p, sps.chi2.sf(expected, [1, 1, 2]), rtol=1e-5)


def test_km_transform_and_global_row(lung):
    fit = cox(lung, duration="time", event="status", covariates=["age", "sex"])
    result = fit.ph_test()
    assert list(result.table.index) == ["age", "sex", "GLOBAL"]
    assert result.table.loc["GLOBAL", "df"] == 2
    # the score test and its GT approximation agree to within a few percent of chi-square
    approx = fit.ph_test(method="gt").table
    assert_allclose(result.table.chisq, approx.chisq, atol=0.2)
    assert 0 < result.global_p < 1
    one = cox(lung, duration="time", event="status", covariates=["sex"]).ph_test().table
    assert_allclose(one.loc["sex", "chisq"], one.loc["GLOBAL", "chisq"], rtol=1e-10)


def test_detects_non_proportional_hazards():
    """A covariate whose effect reverses over time must be flagged."""
    rng = np.random.default_rng(5)
    n = 600
    x = rng.integers(0, 2, n)
    early = rng.exponential(np.where(x == 1, 0.25, 1.0))
    late = 0.5 + rng.exponential(np.where(x == 1, 2.0, 0.5))
    t = np.where(early < 0.5, early, late)
    import pandas as pd

    data = pd.DataFrame({"time": np.minimum(t, 3), "event": (t < 3).astype(int), "x": x})
    result = cox(data, duration="time", event="event", covariates=["x"]).ph_test()
    assert result.table.loc["x", "p"] < 1e-4


def test_bad_transform(lung):
    fit = cox(lung, duration="time", event="status", covariates=["age"])
    with pytest.raises(InvalidInput, match="transform='rank': expected one of km"):
        fit.ph_test("rank")
