"""CoxFit baseline hazard and predicted survival vs lifelines and statsmodels (test oracles).

lifelines ``CoxPHFitter``: Breslow baseline at the covariate means (``baseline_cumulative_
hazard_``; per stratum with ``strata=``), ``predict_survival_function`` (it interpolates
linearly between event times, so it is compared at observed times only). Agreement is to
lifelines' own convergence tolerance (coefficients within ~1e-7).
statsmodels ``PHReg.baseline_cumulative_hazard``: Breslow at covariates 0, listed at the
event times as the value just *before* each time (H(t-)), so its i-th value is our
cumulative hazard at the (i-1)-th event time.
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
from talentop.stats import cox

from .conftest import simulated

COVS = ["age", "sex", "ph.ecog"]


@pytest.fixture(scope="module")
def complete(lung):
    return lung.dropna(subset=COVS).reset_index(drop=True)


def _lifelines(frame, strata=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CoxPHFitter(strata=strata).fit(frame[["time", "status", *COVS]], "time", "status")


def test_breslow_baseline_matches_lifelines(complete):
    fit = cox(complete, duration="time", event="status", covariates=COVS)
    ours = fit.baseline_hazard().set_index("time")
    theirs = _lifelines(complete).baseline_cumulative_hazard_.iloc[:, 0]
    assert_allclose(ours["cumulative_hazard"].reindex(theirs.index), theirs, rtol=2e-6)
    survival = fit.baseline_survival().set_index("time")["survival"]
    assert_allclose(survival, np.exp(-ours["cumulative_hazard"]), rtol=1e-14)
    # the table's counts are the risk set and the deaths at each time
    first = ours.iloc[0]
    assert first["n_risk"] == len(complete)
    assert first["n_event"] == int(
        ((complete.time == ours.index[0]) & (complete.status == 1)).sum()
    )


def test_breslow_baseline_at_zero_matches_statsmodels(complete):
    fit = cox(complete, duration="time", event="status", covariates=COVS)
    ours = fit.baseline_hazard(centered=False).set_index("time")["cumulative_hazard"]
    model = PHReg(
        complete.time.to_numpy(), complete[COVS].to_numpy(), complete.status.to_numpy(),
        ties="efron",
    )  # fmt: skip
    # the estimator itself, at our coefficients (statsmodels' fit agrees to ~1e-9)
    times, before, _ = model.baseline_cumulative_hazard(fit.coef.to_numpy())[0]
    assert before[0] == 0.0
    assert_allclose(ours.loc[times[:-1]].to_numpy(), before[1:], rtol=1e-12)
    fitted = model.fit().baseline_cumulative_hazard[0][1]
    assert_allclose(ours.loc[times[:-1]].to_numpy(), fitted[1:], rtol=1e-8)


def test_stratified_baseline_and_prediction_match_lifelines_and_statsmodels(complete):
    covariates = ["age", "ph.ecog"]
    fit = cox(complete, duration="time", event="status", covariates=covariates, strata="sex")
    table = fit.baseline_hazard()
    assert list(table["stratum"].unique()) == [1, 2]
    peer = _lifelines(complete, strata=["sex"])
    for stratum in (1, 2):
        ours = table[table.stratum == stratum].set_index("time")["cumulative_hazard"]
        theirs = peer.baseline_cumulative_hazard_[stratum].loc[ours.index]
        assert_allclose(ours, theirs, rtol=2e-6)
    model = PHReg(
        complete.time.to_numpy(), complete[covariates].to_numpy(), complete.status.to_numpy(),
        strata=complete.sex.to_numpy(), ties="efron",
    )  # fmt: skip
    at_zero = fit.baseline_hazard(centered=False)
    per_stratum = model.baseline_cumulative_hazard(fit.coef.to_numpy())
    for stratum, (times, before, _) in zip((1, 2), per_stratum, strict=True):
        ours = at_zero[at_zero.stratum == stratum].set_index("time")["cumulative_hazard"]
        assert_allclose(ours.loc[times[:-1]].to_numpy(), before[1:], rtol=1e-12)
    rows = complete.iloc[[0, 5, 9, 30]]
    times = [11.0, 107.0, 310.0]  # observed times: lifelines interpolates between them
    ours = fit.predict_survival(rows, times=times)
    theirs = peer.predict_survival_function(rows[["age", "sex", "ph.ecog"]], times=times)
    assert_allclose(ours.to_numpy(), theirs.to_numpy(), atol=1e-7)
    assert list(ours.columns) == list(rows.index)


def test_predicted_survival_matches_lifelines_and_is_nan_after_follow_up(complete):
    fit = cox(complete, duration="time", event="status", covariates=COVS)
    rows = complete.head(5)
    times = [5.0, 11.0, 107.0, 310.0, 883.0]
    ours = fit.predict_survival(rows, times=times)
    theirs = _lifelines(complete).predict_survival_function(rows[COVS], times=times)
    assert_allclose(ours.to_numpy(), theirs.to_numpy(), atol=1e-6)
    hazard = fit.predict_cumulative_hazard(rows, times=times)
    assert_allclose(np.exp(-hazard.to_numpy()), ours.to_numpy(), rtol=1e-14)
    later = fit.predict_survival(rows, times=[0.0, complete.time.max() + 1])
    assert (later.iloc[0] == 1.0).all() and later.iloc[1].isna().all()
    # default grid: every distinct follow-up time
    assert len(fit.predict_survival(rows)) == complete.time.nunique()


def test_efron_increments_by_hand():
    """Efron's tie-corrected increment, R survfit.coxph's default after an Efron fit:
    at a time with m tied deaths, sum_{l=0}^{m-1} 1 / (S0 - (l/m) D0). With beta = 0
    (a covariate that cannot change anything) S0 = n at risk and D0 = m, so two tied deaths
    among 4 at risk give 1/4 + 1/3 (Breslow: 2/4)."""
    data = pd.DataFrame(
        {"time": [1, 1, 2, 3, 3, 3], "event": [1, 1, 0, 1, 0, 1], "x": [0, 1, 0, 1, 0, 1]}
    )
    # x balanced within every risk set so that beta = 0 exactly? Not needed: compute by hand
    fit = cox(data, duration="time", event="event", covariates=["x"])
    beta = float(fit.coef["x"])
    risk = np.exp(beta * (data.x - data.x.mean()))
    s0_1, d0_1 = risk.sum(), risk[[0, 1]].sum()
    s0_3, d0_3 = risk[[3, 4, 5]].sum(), risk[[3, 5]].sum()
    efron = fit.baseline_hazard(method="efron").set_index("time")["hazard"]
    assert efron.loc[1] == pytest.approx(1 / s0_1 + 1 / (s0_1 - d0_1 / 2), rel=1e-12)
    assert efron.loc[2] == 0.0
    assert efron.loc[3] == pytest.approx(1 / s0_3 + 1 / (s0_3 - d0_3 / 2), rel=1e-12)
    breslow = fit.baseline_hazard().set_index("time")["hazard"]
    assert breslow.loc[1] == pytest.approx(2 / s0_1, rel=1e-12)
    with pytest.raises(InvalidInput, match="method='kaplan'"):
        fit.baseline_hazard(method="kaplan")


def test_weighted_baseline_equals_replicated_rows():
    """Integer case weights equal replicated rows for Breslow (cox docstring)."""
    data = simulated(40, 9, grid=0.25)
    weights = np.random.default_rng(1).integers(1, 4, len(data))
    weighted = cox(
        data.assign(w=weights), duration="time", event="event", covariates=["x0"],
        ties="breslow", weights="w",
    ).baseline_hazard()  # fmt: skip
    replicated = cox(
        data.loc[data.index.repeat(weights)], duration="time", event="event", covariates=["x0"],
        ties="breslow",
    ).baseline_hazard()  # fmt: skip
    assert_allclose(weighted["cumulative_hazard"], replicated["cumulative_hazard"], rtol=1e-10)


def test_prediction_input_is_checked(complete):
    fit = cox(complete, duration="time", event="status", covariates=["age"], strata="sex")
    with pytest.raises(InvalidInput, match="column 'sex' not found"):
        fit.predict_survival(complete[["age"]])
    with pytest.raises(InvalidInput, match=r"strata \['3'\] not in the fit"):
        fit.predict_survival(pd.DataFrame({"age": [60], "sex": [3]}))
    with pytest.raises(InvalidInput, match="age: missing, infinite or not a number at row 0"):
        fit.predict_survival(pd.DataFrame({"age": [np.inf], "sex": [1]}))
