"""Cox PH with case weights (R coxph `weights=`): lifelines and statsmodels as oracles.

R's rule (survival coxfit6.c): w_i multiplies subject i's terms; the m tied deaths at a time
share their mean weight in Efron's correction. lifelines 0.30 implements the same rule
(`weighted_average = weight_count / tied_death_counts`). statsmodels PHReg has no case
weights, so it is the oracle on the replicated data (integer weights = copies of rows).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from numpy.testing import assert_allclose
from statsmodels.duration.hazard_regression import PHReg

from talentop.errors import InvalidInput
from talentop.stats import _cox_math, cox

from .conftest import simulated

COVS = ["x0", "x1", "x2"]


def _weighted(n: int, seed: int, *, grid: float | None, integer: bool = False) -> pd.DataFrame:
    data = simulated(n, seed=seed, grid=grid, p=3)
    rng = np.random.default_rng(seed + 1000)
    data["w"] = rng.integers(1, 4, n) if integer else rng.uniform(0.2, 3.0, n)
    return data


def _lifelines(data: pd.DataFrame, strata: str | None = None, robust: bool = False):
    columns = ["time", "event", "w", *COVS] + ([strata] if strata else [])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lifelines warns that non-integer weights need robust
        return CoxPHFitter().fit(
            data[columns],
            "time",
            "event",
            weights_col="w",
            strata=[strata] if strata else None,
            robust=robust,
        )


@pytest.mark.parametrize("strata", [None, "site"])
def test_efron_weights_match_lifelines_with_ties(strata):
    """Tied times (0.1 grid), non-integer weights: coef, model SE, log-likelihood and LR
    test equal lifelines' weighted Efron fit (lifelines stops at its own tolerance)."""
    data = _weighted(800, seed=21, grid=0.1)
    assert data.time.nunique() < 100
    fit = cox(data, duration="time", event="event", covariates=COVS, weights="w",
              strata=strata, robust=False)  # fmt: skip
    ref = _lifelines(data, strata)
    assert_allclose(fit.coef, ref.params_, atol=1e-6)
    assert_allclose(fit.se, ref.standard_errors_, rtol=1e-6)
    assert_allclose(fit.loglik, ref.log_likelihood_, rtol=1e-10)
    assert_allclose(
        fit.tests.loc["likelihood_ratio", "statistic"],
        ref.log_likelihood_ratio_test().test_statistic,
        rtol=1e-8,
    )


def test_robust_is_r_default_for_fractional_weights_and_matches_lifelines():
    """R survival 3.x: robust = TRUE by default when a weight is not a whole number (coxph.R
    `has.rwt`). lifelines' robust score residuals ignore ties, so compare on untied times."""
    data = _weighted(600, seed=22, grid=None)
    assert data.time.nunique() == len(data)
    fit = cox(data, duration="time", event="event", covariates=COVS, weights="w")
    assert fit.robust and "case weights 'w'" in str(fit)
    ref = _lifelines(data, robust=True)
    assert_allclose(fit.coef, ref.params_, atol=1e-6)
    assert_allclose(fit.se, ref.standard_errors_, rtol=1e-6)
    whole = cox(data.assign(w=np.ceil(data.w)), duration="time", event="event",
                covariates=COVS, weights="w")  # fmt: skip
    assert not whole.robust


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_integer_weights_equal_replicated_rows(ties):
    """Weights w = each row copied w times: same coef, loglik, tests, model SE; and the
    robust SE equals the replicated fit clustered by original row. Exact for Breslow; for
    Efron only when event rows have weight 1 (copied deaths would become tied deaths)."""
    data = _weighted(300, seed=23, grid=0.1, integer=True)
    if ties == "efron":
        data.loc[data.event == 1, "w"] = 1
    data["row"] = np.arange(len(data))
    copies = data.loc[data.index.repeat(data.w)]
    for robust in (False, True):
        fit = cox(data, duration="time", event="event", covariates=COVS, weights="w",
                  ties=ties, robust=robust)  # fmt: skip
        ref = cox(copies, duration="time", event="event", covariates=COVS, ties=ties,
                  cluster="row" if robust else None)  # fmt: skip
        assert_allclose(fit.coef, ref.coef, atol=1e-8)
        assert_allclose(fit.se, ref.se, rtol=1e-8)
        assert_allclose(fit.loglik, ref.loglik, rtol=1e-12)
        assert_allclose(fit.tests.statistic, ref.tests.statistic, rtol=1e-8)
    # statsmodels on the copies: an oracle outside this package
    sm = PHReg(copies.time.values, copies[COVS].values, copies.event.values, ties=ties).fit()
    assert_allclose(fit.coef, sm.params, atol=1e-8)
    assert_allclose(fit.loglik, sm.llf, rtol=1e-10)


def test_efron_weighted_death_is_not_replication():
    """R's documented caveat: with Efron, a death of weight 2 is not two tied deaths."""
    data = _weighted(300, seed=24, grid=0.1, integer=True)
    copies = data.loc[data.index.repeat(data.w)]
    fit = cox(data, duration="time", event="event", covariates=COVS, weights="w", robust=False)
    ref = cox(copies, duration="time", event="event", covariates=COVS)
    assert np.abs(fit.coef - ref.coef).max() > 1e-4
    breslow = cox(data, duration="time", event="event", covariates=COVS, weights="w",
                  ties="breslow")  # fmt: skip
    assert_allclose(
        breslow.coef, cox(copies, duration="time", event="event", covariates=COVS,
                          ties="breslow").coef, atol=1e-8)  # fmt: skip


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_constant_weight_keeps_coef_and_divides_variance(ties):
    """R's coxph help: all weights 2 give the same coefficients and half the variance (and
    the LR, Wald and score statistics times 2)."""
    data = _weighted(400, seed=25, grid=0.1)
    plain = cox(data, duration="time", event="event", covariates=COVS, ties=ties)
    for c in (2.0, 0.37):
        fit = cox(data.assign(w=c), duration="time", event="event", covariates=COVS,
                  weights="w", ties=ties, robust=False)  # fmt: skip
        assert_allclose(fit.coef, plain.coef, atol=1e-8)
        assert_allclose(fit.se, plain.se / np.sqrt(c), rtol=1e-8)
        # every term scales by c, the risk sets too: log(c S0) adds -c log(c) per event
        assert_allclose(fit.loglik, c * (plain.loglik - np.log(c) * plain.n_events), rtol=1e-10)
        assert_allclose(fit.tests.statistic, c * plain.tests.statistic, rtol=1e-8)


def test_zero_weights_drop_rows():
    """Weight 0 = the row is not in the data (and is not counted as missing)."""
    data = _weighted(300, seed=26, grid=0.1)
    data.loc[data.index[::7], "w"] = 0.0
    fit = cox(data, duration="time", event="event", covariates=COVS, weights="w", robust=True)
    kept = data[data.w > 0]
    ref = cox(kept, duration="time", event="event", covariates=COVS, weights="w", robust=True)
    assert_allclose(fit.coef, ref.coef, atol=1e-12)
    assert_allclose(fit.se, ref.se, rtol=1e-12)
    assert fit.n == len(kept) and fit.n_missing == 0


@pytest.mark.parametrize("blocked", [True, False])
@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_weighted_score_information_and_residuals(ties, blocked):
    """Weighted: score = numerical gradient, information = minus numerical Hessian,
    sum_i w_i U_i = score (the residuals the robust variance is made of); both layouts."""
    data = _weighted(300, seed=27, grid=0.1)
    design = _cox_math.prepare(data[COVS].values, data.time.values,
                               data.event.values.astype(bool), data.site.values, ties,
                               blocked=blocked, weights=data.w.values)  # fmt: skip
    beta = np.array([0.3, -0.2, 0.1])
    ev = _cox_math.evaluate(design, beta)
    h = 1e-6
    steps = np.eye(3) * h
    grad = [(_cox_math.evaluate(design, beta + d).loglik
             - _cox_math.evaluate(design, beta - d).loglik) / (2 * h) for d in steps]  # fmt: skip
    hess = [(_cox_math.evaluate(design, beta + d).score
             - _cox_math.evaluate(design, beta - d).score) / (2 * h) for d in steps]  # fmt: skip
    assert_allclose(ev.score, grad, atol=1e-5)
    assert_allclose(-np.array(hess), ev.information, atol=1e-5)
    resid = _cox_math.score_residuals(design, ev)
    assert_allclose((resid * design.weights[:, None]).sum(axis=0), ev.score, atol=1e-9)


def test_bad_weights_name_the_rows_and_ph_test_refuses():
    data = _weighted(50, seed=28, grid=0.1)
    data.loc[3, "w"] = -1.0
    data.loc[5, "w"] = np.nan
    with pytest.raises(InvalidInput, match=r"1 negative value\(s\) at row 3=-1\.0") as info:
        cox(data, duration="time", event="event", covariates=COVS, weights="w")
    assert "missing or infinite value(s) at row 5=nan" in str(info.value)
    with pytest.raises(InvalidInput, match="weights='x'.*no such column|'x': no such column"):
        cox(data, duration="time", event="event", covariates=COVS, weights="x")
    with pytest.raises(InvalidInput, match="weights=\"column 'site_name'"):
        cox(data.assign(site_name="a"), duration="time", event="event", covariates=COVS,
            weights="site_name")  # fmt: skip
    fit = cox(data.assign(w=2.5), duration="time", event="event", covariates=COVS, weights="w")
    with pytest.raises(InvalidInput, match="ph_test\\(\\) does not support case weights"):
        fit.ph_test()
    ones = cox(data.assign(w=1), duration="time", event="event", covariates=COVS, weights="w")
    plain = cox(data, duration="time", event="event", covariates=COVS)
    assert_allclose(ones.ph_test().table.chisq, plain.ph_test().table.chisq, rtol=1e-12)
