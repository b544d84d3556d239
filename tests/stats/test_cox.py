"""Cox PH: R coxph on lung; statsmodels PHReg and lifelines CoxPHFitter as test-only oracles."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from numpy.testing import assert_allclose
from statsmodels.duration.hazard_regression import PHReg

from talentop.errors import ConvergenceError, InvalidInput
from talentop.stats import _cox_math, cox, logrank

from .conftest import simulated

COVS = ["x0", "x1", "x2"]


def test_lung_matches_r_coxph(lung):
    """R survival, ties = "efron" (default); verified (2026-11) against published knitted R
    output found with the code search: the STHDA Cox tutorial output
    (http://www.sthda.com/english/wiki/cox-proportional-hazards-model, re-rendered in
    several GitHub R-markdown notebooks) and a package vignette printing 8-9 digits:

    > summary(coxph(Surv(time, status) ~ age + sex + ph.ecog, data = lung))
      n= 227, number of events= 164  (1 observation deleted due to missingness)
                 coef exp(coef)  se(coef)      z Pr(>|z|)
    age      0.011067  1.011128  0.009267  1.194 0.232416
    sex     -0.552612  0.575445  0.167739 -3.294 0.000986
    ph.ecog  0.463728  1.589991  0.113577  4.083 4.45e-05
            exp(coef) exp(-coef) lower .95 upper .95
    age        1.0111     0.9890    0.9929    1.0297
    sex        0.5754     1.7378    0.4142    0.7994
    ph.ecog    1.5900     0.6289    1.2727    1.9864
    Likelihood ratio test= 30.5  on 3 df,   p=1e-06
    Wald test            = 29.93  on 3 df,   p=1e-06
    Score (logrank) test = 30.5  on 3 df,   p=1e-06
    > coef(cox)                       # as printed by the vignette's pb_summary_table
         0.01106676 -0.55261240  0.46372848
    > sqrt(diag(vcov(cox)))
    0.009267411 0.167739054 0.113577266
    """
    fit = cox(lung, duration="time", event="status", covariates=["age", "sex", "ph.ecog"])
    # 8-9 significant digits printed: 1e-6 relative covers the rounding
    assert_allclose(fit.coef, [0.01106676, -0.55261240, 0.46372848], rtol=1e-6)
    assert_allclose(fit.se, [0.009267411, 0.167739054, 0.113577266], rtol=1e-6)
    assert_allclose(fit.hr, [1.011128, 0.575445, 1.589991], rtol=1e-6)
    assert_allclose(fit.z, [1.194, -3.294, 4.083], atol=5e-4)
    assert_allclose(fit.p, [0.232416, 0.000986, 4.45e-05], rtol=5e-3)
    assert_allclose(fit.ci_lower, [0.9929, 0.4142, 1.2727], atol=5e-5)
    assert_allclose(fit.ci_upper, [1.0297, 0.7994, 1.9864], atol=5e-5)
    assert round(fit.tests.loc["likelihood_ratio", "statistic"], 1) == 30.5
    assert round(fit.tests.loc["wald", "statistic"], 2) == 29.93
    assert round(fit.tests.loc["score", "statistic"], 1) == 30.5
    assert (fit.n, fit.n_events, fit.n_missing) == (227, 164, 1)


def test_lung_breslow_matches_published_output(lung):
    """ties = "breslow" on the same model; published in jeanfeydy/survivalGPU R/README.md
    (coxphGPU, which reproduces survival::coxph; summary printed by survival's method):

    > coxphGPU(Surv(time, status) ~ age + sex + ph.ecog, data = lung, ties = "breslow")
                 coef exp(coef)  se(coef)      z Pr(>|z|)
    age      0.011041  1.011102  0.009267  1.191    0.233
    sex     -0.551890  0.575861  0.167742 -3.290    0.001
    ph.ecog  0.462947  1.588749  0.113574  4.076 4.58e-05
    Likelihood ratio test= 30.41  on 3 df;  Wald test = 29.84;  Score (logrank) test = 30.41
    """
    fit = cox(
        lung, duration="time", event="status", covariates=["age", "sex", "ph.ecog"], ties="breslow"
    )
    assert_allclose(fit.coef, [0.011041, -0.551890, 0.462947], rtol=5e-5)
    assert_allclose(fit.se, [0.009267, 0.167742, 0.113574], rtol=1e-4)
    assert_allclose(fit.hr, [1.011102, 0.575861, 1.588749], rtol=1e-6)
    assert_allclose(fit.z, [1.191, -3.290, 4.076], atol=5e-4)
    assert round(fit.tests.loc["likelihood_ratio", "statistic"], 2) == 30.41
    assert round(fit.tests.loc["wald", "statistic"], 2) == 29.84
    assert round(fit.tests.loc["score", "statistic"], 2) == 30.41


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_heavy_ties_match_statsmodels(ties):
    data = simulated(2000, seed=7, grid=0.25, p=3)  # ~10 distinct times: heavy ties
    assert data.time.nunique() < 20
    fit = cox(data, duration="time", event="event", covariates=COVS, ties=ties)
    ref = PHReg(data.time.values, data[COVS].values, data.event.values, ties=ties).fit()
    assert_allclose(fit.coef, ref.params, atol=1e-8)
    assert_allclose(fit.se, ref.bse, rtol=1e-7)
    assert_allclose(fit.loglik, ref.llf, rtol=1e-10)


def test_efron_matches_lifelines_with_strata():
    data = simulated(800, seed=8, grid=0.1, p=2)
    fit = cox(data, duration="time", event="event", covariates=["x0", "x1"], strata="site")
    ref = CoxPHFitter().fit(
        data[["time", "event", "x0", "x1", "site"]], "time", "event", strata=["site"]
    )
    assert_allclose(fit.coef, ref.params_, atol=1e-6)  # lifelines stops at its own tolerance
    assert_allclose(fit.se, ref.standard_errors_, rtol=1e-5)
    assert_allclose(fit.loglik, ref.log_likelihood_, rtol=1e-9)
    sm = PHReg(
        data.time.values,
        data[["x0", "x1"]].values,
        data.event.values,
        strata=data.site.values,
        ties="efron",
    ).fit()
    assert_allclose(fit.coef, sm.params, atol=1e-8)


def test_robust_matches_lifelines_without_ties():
    """lifelines' score residuals ignore ties ("TODO: doesn't handle ties"): compare untied."""
    data = simulated(600, seed=9, p=3)
    assert data.time.nunique() == len(data)
    fit = cox(data, duration="time", event="event", covariates=COVS, robust=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = CoxPHFitter().fit(data[["time", "event", *COVS]], "time", "event", robust=True)
    assert_allclose(fit.se, ref.standard_errors_, rtol=1e-5)
    assert fit.robust and "robust SE" in str(fit)


def test_breslow_robust_and_cluster_match_statsmodels():
    """statsmodels PHReg(groups=...) gives the Lin-Wei sandwich with Breslow residuals."""
    data = simulated(600, seed=10, grid=0.1, p=3)
    data["patient"] = np.arange(len(data)) // 3
    x, t, e = data[COVS].values, data.time.values, data.event.values
    fit = cox(data, duration="time", event="event", covariates=COVS, ties="breslow", robust=True)
    ref = PHReg(t, x, e, ties="breslow").fit(groups=np.arange(len(data)))
    assert_allclose(fit.se, ref.bse, rtol=1e-8)
    fit = cox(
        data, duration="time", event="event", covariates=COVS, ties="breslow", cluster="patient"
    )
    ref = PHReg(t, x, e, ties="breslow").fit(groups=data.patient.values)
    assert_allclose(fit.se, ref.bse, rtol=1e-8)


@pytest.mark.parametrize("blocked", [True, False])
@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_score_information_and_residuals_are_consistent(ties, blocked):
    """At an arbitrary beta: score = numerical gradient of the log-likelihood, information =
    minus its Hessian, and the Efron-weighted score residuals sum to the score; for both
    layouts (per-group BLAS products and sparse group sums)."""
    data = simulated(300, seed=11, grid=0.1, p=3)
    design = _cox_math.prepare(
        data[COVS].values,
        data.time.values,
        data.event.values.astype(bool),
        data.site.values,
        ties,
        blocked=blocked,
    )
    beta = np.array([0.3, -0.2, 0.1])
    ev = _cox_math.evaluate(design, beta)
    h = 1e-6
    grad = [
        (_cox_math.evaluate(design, beta + d).loglik - _cox_math.evaluate(design, beta - d).loglik)
        / (2 * h)
        for d in np.eye(3) * h
    ]
    hess = [
        (_cox_math.evaluate(design, beta + d).score - _cox_math.evaluate(design, beta - d).score)
        / (2 * h)
        for d in np.eye(3) * h
    ]
    assert_allclose(ev.score, grad, atol=1e-5)
    assert_allclose(-np.array(hess), ev.information, atol=1e-5)
    assert_allclose(_cox_math.score_residuals(design, ev).sum(axis=0), ev.score, atol=1e-9)


def test_layouts_and_signed_zero_times_agree():
    """The blocked and sparse layouts give the same fit; a time of -0.0 sorts as 0.0."""
    data = simulated(400, seed=13, grid=0.25, p=3)
    data.loc[data.index[:5], "time"] = -0.0
    args = (data[COVS].values, data.time.values, data.event.values.astype(bool))
    strata = np.zeros(len(data), np.int64)
    beta = np.array([0.2, -0.1, 0.3])
    blocked = _cox_math.evaluate(_cox_math.prepare(*args, strata, "efron", blocked=True), beta)
    sparse_ = _cox_math.evaluate(_cox_math.prepare(*args, strata, "efron", blocked=False), beta)
    assert_allclose(blocked.loglik, sparse_.loglik, rtol=1e-12)
    assert_allclose(blocked.information, sparse_.information, rtol=1e-10)
    ref = PHReg(np.abs(data.time.values), data[COVS].values, data.event.values, ties="efron")
    assert_allclose(blocked.loglik, ref.loglike(beta), rtol=1e-10)


def test_breslow_score_test_is_the_logrank_test():
    """With one binary covariate and no tied times the score test at beta=0 is the log-rank
    test (with ties the Cox information is binomial, the log-rank's hypergeometric)."""
    data = simulated(400, seed=12)
    fit = cox(data, duration="time", event="event", covariates=["arm"], ties="breslow")
    assert_allclose(
        fit.tests.loc["score", "statistic"],
        logrank(data.time, data.event, data.arm).statistic,
        rtol=1e-10,
    )


def test_separation_raises_with_advice():
    rng = np.random.default_rng(3)
    data = pd.DataFrame({"time": rng.exponential(size=60), "x": rng.normal(size=60)})
    data["marker"] = (np.arange(60) % 2).astype(float)
    data["event"] = data.marker.astype(int)  # every event has marker=1, no censored one does
    data.loc[data.marker == 1, "time"] = data.time.min() / 2 + np.arange(30) * 1e-3
    with pytest.raises(ConvergenceError, match="covariate 'marker' perfectly separates events"):
        cox(data, duration="time", event="event", covariates=["x", "marker"])


def test_a_covariate_without_information_at_the_events_is_not_identifiable():
    """The one patient with good = 1 is censored before the first death, so every death's
    risk set has good = 0: the partial likelihood does not depend on its coefficient.

    R (survival 3.x): ``coxph(Surv(time, event) ~ good, data = d)`` warns "X matrix deemed
    to be singular; variable 1" and reports ``coef = NA`` (``cholesky2`` with
    ``toler.chol = .Machine$double.eps^0.75``). statsmodels ``PHReg`` raises
    ``LinAlgError: Singular matrix``; lifelines returns coef 0 with an SE of about 8e8.
    Before this check the fit returned coef 0 with a NaN SE (a rounding -5e-18 information)
    and a RuntimeWarning, which the demo's expert table printed as "1.00 (nan-nan)".
    """
    data = pd.DataFrame(
        {
            "time": [22.2, 19.7, 14.6, 20.1, 17.2, 13.5, 7.9, 5.2, 3.3],
            "event": [0, 1, 1, 0, 0, 0, 0, 0, 0],
            "good": [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0],
        }
    )
    data["age"] = [61.0, 55.0, 70.0, 48.0, 66.0, 59.0, 72.0, 50.0, 64.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning on the way to the error
        with pytest.raises(ConvergenceError, match="covariate 'good' carries no information"):
            cox(data, duration="time", event="event", covariates=["good"])
        with pytest.raises(ConvergenceError, match="covariate 'good' carries no information"):
            cox(data, duration="time", event="event", covariates=["age", "good"])
        # once the good = 1 patient dies among others at risk, the coefficient is estimable
        data.loc[7, ["time", "event"]] = [16.0, 1]
        fit = cox(data, duration="time", event="event", covariates=["good"])
    assert np.isfinite(fit.se["good"])
    # two such covariates are named together
    two = pd.DataFrame(
        {
            "time": [5, 4, 3, 2, 1, 6, 7],
            "event": [0, 1, 1, 0, 0, 0, 0],
            "a": [0, 0, 0, 1, 0, 0, 0],
            "b": [0, 0, 0, 0, 1, 0, 0],
            "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
        }
    )
    with pytest.raises(ConvergenceError, match="covariates 'a', 'b' carry no information"):
        cox(two, duration="time", event="event", covariates=["x", "a", "b"])


def test_singular_pivots_follow_r_cholesky2():
    """R survival ``cholesky2.c``: a pivot below toler x the largest positive diagonal is
    singular; an exactly dependent column is found after the earlier ones are eliminated."""
    from talentop.stats._cox_math import TOLER_CHOL, singular_pivots

    assert TOLER_CHOL == pytest.approx(1.8189894e-12, rel=1e-7)  # .Machine$double.eps^0.75
    spd = np.array([[4.0, 2.0, 0.0], [2.0, 3.0, 1.0], [0.0, 1.0, 2.0]])
    assert not singular_pivots(spd).any()
    dependent = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [3.0, 6.0, 10.0]])
    assert singular_pivots(dependent).tolist() == [False, True, False]
    assert singular_pivots(np.array([[-5.2e-18]])).tolist() == [True]
    assert singular_pivots(np.array([[1.0, 0.0], [0.0, 1e-13]])).tolist() == [False, True]
    assert singular_pivots(np.array([[1.0, 0.0], [0.0, 1e-11]])).tolist() == [False, False]


def test_collinear_constant_and_no_events_are_named(lung):
    data = lung.dropna(subset=["ph.ecog"]).assign(age2=lambda d: 2 * d.age + 1, one=1.0)
    with pytest.raises(ConvergenceError, match="covariate 'age2' is collinear with"):
        cox(data, duration="time", event="status", covariates=["age", "sex", "age2"])
    with pytest.raises(ConvergenceError, match="covariate 'one' is constant"):
        cox(data, duration="time", event="status", covariates=["age", "one"])
    censored = data.assign(status=0)
    for kind in (InvalidInput, ConvergenceError):
        with pytest.raises(kind, match="no events among 227 complete rows"):
            cox(censored, duration="time", event="status", covariates=["age"])


def test_bad_columns_are_invalid_input(lung):
    with pytest.raises(InvalidInput, match="column='weight': no such column"):
        cox(lung, duration="time", event="status", covariates=["weight"])
    # a text covariate is dummy-coded now (issue 18); one level has nothing to compare
    with pytest.raises(InvalidInput, match=r"'arm' has one level \('A'\)"):
        cox(lung.assign(arm="A"), duration="time", event="status", covariates=["arm"])
    with pytest.raises(InvalidInput, match="ties='exact'"):
        cox(lung, duration="time", event="status", covariates=["age"], ties="exact")
    with pytest.raises(InvalidInput, match=r"event: 1 value\(s\) not 0/1"):
        cox(
            lung.assign(status=lung.status.where(lung.index != 0, 3)),
            duration="time",
            event="status",
            covariates=["age"],
        )


def test_fit_renders_and_serialises(lung):
    fit = cox(lung, duration="time", event="status", covariates=["age", "sex"])
    payload = json.loads(json.dumps(fit.to_dict()))
    assert payload["coef"]["sex"] == pytest.approx(fit.coef["sex"])
    assert payload["tests"]["likelihood_ratio"]["df"] == 2
    assert "<table" in fit.to_html()
    assert "likelihood_ratio" in str(fit)
