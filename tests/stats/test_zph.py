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


def _therneau_test1():
    """R survival tests/zph.R `test1`, with its status = NA row dropped (R's na.omit)."""
    import pandas as pd

    return pd.DataFrame(
        {"time": [9, 1, 1, 6, 6, 8], "status": [1, 1, 0, 1, 1, 0], "x": [0, 1, 1, 1, 0, 0]}
    )


def _closed_form_score_test(r, score_terms, info_terms, g):
    """R's hand computation: score test for adding x * g(t), from per-death U and I."""
    u2 = np.array([np.sum(score_terms), np.sum(g * score_terms)])
    i2 = np.array(
        [
            [np.sum(info_terms), np.sum(g * info_terms)],
            [np.sum(g * info_terms), np.sum(g**2 * info_terms)],
        ]
    )
    return float(np.linalg.solve(i2, u2) @ u2)


def test_score_test_matches_r_survival_closed_forms():
    """R's own check of cox.zph (therneau/survival, tests/zph.R and tests/zph.Rout.save,
    R 4.0 devel, all `aeq(...)` TRUE):

    > test1 <- data.frame(time=c(9,3,1,1,6,6,8), status=c(1,NA,1,0,1,1,0),
    +                     x=c(0,2,1,1,1,0,0))
    > r <- (3 + sqrt(33))/2   # actual MLE for log(beta)   [Breslow]
    > U <- c(1/(r+1), 3/(r+3), -r/(r+3), 0); imat <- c(r/(r+1)^2, 3*r/(r+3)^2, 3*r/(r+3)^2, 0)
    > g = c(1, 6, 6, 9)       # death times
    > fit1 <- coxph(Surv(time, status) ~ x, test1, ties='breslow'); aeq(fit1$coef, log(r))
    > zp1 <- cox.zph(fit1, transform='identity', global=FALSE); aeq(zp1$table[,1], sctest)
    > zp3 <- cox.zph(fit1, transform='log', global=FALSE); aeq(zp3$table[,1], sctest3)
    > phi <- acos((45/23)*sqrt(3/23)); r <- 2*sqrt(23/3)*cos(phi/3)   # [Efron]
    > U <- c(1/(r+1), 3/(r+3), -r/(r+5), 0); imat <- c(r/(r+1)^2, 3*r/(r+3)^2, 5*r/(r+5)^2, 0)
    > fit4 <- coxph(Surv(time, status) ~ x, test1, ties='efron'); aeq(fit4$coef, log(r))
    > zp4 <- cox.zph(fit4, transform='log', global=FALSE); aeq(zp4$table[,1], sctest4)

    The closed forms are exact, so the tolerance is numerical (Newton stops at 1e-9).
    """
    data = _therneau_test1()
    g = np.array([1.0, 6, 6, 9])
    log_g = np.log(g) - np.log(g).mean()

    r = (3 + np.sqrt(33)) / 2
    u = np.array([1 / (r + 1), 3 / (r + 3), -r / (r + 3), 0])
    imat = np.array([r / (r + 1) ** 2, 3 * r / (r + 3) ** 2, 3 * r / (r + 3) ** 2, 0])
    fit = cox(data, duration="time", event="status", covariates=["x"], ties="breslow")
    assert_allclose(fit.coef["x"], np.log(r), rtol=1e-9)
    identity = fit.ph_test("identity").table.loc["x", "chisq"]
    assert_allclose(identity, _closed_form_score_test(r, u, imat, g), rtol=1e-8)
    log = fit.ph_test("log").table.loc["x", "chisq"]
    assert_allclose(log, _closed_form_score_test(r, u, imat, log_g), rtol=1e-8)

    phi = np.arccos((45 / 23) * np.sqrt(3 / 23))
    r = 2 * np.sqrt(23 / 3) * np.cos(phi / 3)
    u = np.array([1 / (r + 1), 3 / (r + 3), -r / (r + 5), 0])
    imat = np.array([r / (r + 1) ** 2, 3 * r / (r + 3) ** 2, 5 * r / (r + 5) ** 2, 0])
    fit = cox(data, duration="time", event="status", covariates=["x"], ties="efron")
    assert_allclose(fit.coef["x"], np.log(r), rtol=1e-9)
    log = fit.ph_test("log").table.loc["x", "chisq"]
    assert_allclose(log, _closed_form_score_test(r, u, imat, log_g), rtol=1e-8)


def test_stratified_copy_doubles_the_score_test_like_r():
    """therneau/survival tests/zph.R: "Artificial stratification ... U, imat, and sctest
    will all double":

    > test2 <- rbind(test1, test1); test2$group <- rep(letters[1:2], each=nrow(test1))
    > fit6 <- coxph(Surv(dummy, time, status) ~ x + strata(group), test2)
    > aeq(fit6$coef, log(r)); zp6 <- cox.zph(fit6, transform="log", globa=FALSE)
    > aeq(zp6$table[,1], 2*sctest4)
    [1] TRUE
    """
    import pandas as pd

    once = _therneau_test1()
    twice = pd.concat([once.assign(group="a"), once.assign(group="b")], ignore_index=True)
    single = cox(once, duration="time", event="status", covariates=["x"])
    double = cox(twice, duration="time", event="status", covariates=["x"], strata="group")
    assert_allclose(double.coef, single.coef, rtol=1e-9)
    assert_allclose(
        double.ph_test("log").table.loc["x", "chisq"],
        2 * single.ph_test("log").table.loc["x", "chisq"],
        rtol=1e-8,
    )
