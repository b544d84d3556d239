"""Hard edges of the survival statistics (issue 18): never a silently wrong number, never a
raw numpy exception. Each test is one reproduction from the issue or its generalisation."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from talentop.design import gs_boundaries
from talentop.errors import ConvergenceError, InvalidInput
from talentop.stats import cox, kaplan_meier, logrank, rmst

from .conftest import simulated


@pytest.mark.parametrize("scale", [1e-9, 1e6, 1e9])
@pytest.mark.parametrize("p", [1, 2])
def test_cox_converges_the_same_whatever_the_covariate_units(scale, p):
    """A covariate in large units (a count per litre, ~1e9) used to stop at the absolute
    1e-9 step with coefficient 0, p = 1, LR 0; at x1e6 it was off by 1.4e-4 relative.
    The fit of x * scale must be the fit of x with the coefficient divided by scale."""
    data = simulated(300, 1, p=p)
    names = [f"x{j}" for j in range(p)]
    base = cox(data, duration="time", event="event", covariates=names)
    scaled = data.assign(x0=data["x0"] * scale)
    fit = cox(scaled, duration="time", event="event", covariates=names)
    expected = base.coef.to_numpy().copy()
    expected[0] /= scale
    assert_allclose(fit.coef.to_numpy(), expected, rtol=1e-10)
    assert_allclose(fit.se["x0"] * scale, base.se["x0"], rtol=1e-9)
    assert_allclose(fit.p.to_numpy(), base.p.to_numpy(), rtol=1e-8)
    assert_allclose(fit.tests["statistic"], base.tests["statistic"], rtol=1e-9)
    assert fit.loglik == pytest.approx(base.loglik, rel=1e-12)
    assert fit.tests.loc["likelihood_ratio", "statistic"] > 10  # not the old LR 0


def test_cox_infinite_covariate_is_invalid_input_naming_column_and_row():
    """Was numpy's `LinAlgError: SVD did not converge`."""
    data = simulated(80, 2)
    data.loc[17, "x1"] = np.inf
    data.loc[40, "x1"] = -np.inf
    data.loc[5, "x0"] = np.nan  # missing: dropped, as before
    with pytest.raises(InvalidInput, match=r"x1: 2 infinite value\(s\) at row 17=inf, row 40=-inf"):
        cox(data, duration="time", event="event", covariates=["x0", "x1"])


def test_cox_infinite_time_is_named():
    data = simulated(50, 3)
    data.loc[3, "time"] = np.inf
    with pytest.raises(InvalidInput, match=r"time: 1 infinite value\(s\) at row 3=inf"):
        cox(data, duration="time", event="event", covariates=["x0"])


def test_cox_two_covariates_that_together_separate_the_events():
    """Neither covariate alone orders the event times, their sum does exactly: the
    likelihood rises without bound along a + b. Was `LinAlgError: SVD did not converge`."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=60), rng.normal(size=60)
    data = pd.DataFrame({"time": 10 - (a + b), "event": 1, "a": a, "b": b})
    with pytest.raises(ConvergenceError, match=r"covariates 'a', 'b' together separate"):
        cox(data, duration="time", event="event", covariates=["a", "b"])


def test_cox_singular_information_is_a_convergence_error_naming_the_covariate():
    """A covariate that differs only among patients censored before the first event
    carries no information (its row of the information matrix is 0)."""
    data = simulated(60, 4)
    early = data["time"] < data.loc[data.event == 1, "time"].min()
    data.loc[early.idxmax(), "time"] = 1e-6  # make sure one censored row comes first
    data.loc[data["time"] == 1e-6, "event"] = 0
    data["early"] = (data["time"] == 1e-6).astype(float)
    with pytest.raises(ConvergenceError, match=r"'early'"):
        cox(data, duration="time", event="event", covariates=["x0", "early"])


def test_cox_covariate_with_large_mean_is_not_constant():
    """Mean 1e12, SD 1 was rejected as constant. Its fit equals the fit of the same values
    shifted by 1e12 (the shift is exact in float64 here: Sterbenz)."""
    data = simulated(200, 5)
    data["big"] = data["x0"] + 1e12
    shifted = data.assign(small=data["big"] - 1e12)
    fit = cox(data, duration="time", event="event", covariates=["big", "x1"])
    ref = cox(shifted, duration="time", event="event", covariates=["small", "x1"])
    assert_allclose(fit.coef.to_numpy(), ref.coef.to_numpy(), rtol=1e-8)
    assert_allclose(fit.se.to_numpy(), ref.se.to_numpy(), rtol=1e-8)
    with pytest.raises(ConvergenceError, match="'flat' is constant"):
        cox(data.assign(flat=1e12), duration="time", event="event", covariates=["x0", "flat"])


def test_stratified_logrank_with_groups_nested_in_strata_uses_the_numerical_rank():
    """Issue 18's reproduction: groups A, B only in stratum 0 and C, D only in stratum 1.
    The 4 x 4 variance of O - E is block diagonal with rank 2; solving the 3 x 3 system
    succeeded on rounding noise and reported df = 3. R's survdiff gives df = 2, and the
    statistic is the sum of the two within-stratum 2-group statistics."""
    time = np.r_[np.arange(1, 9), np.arange(1.5, 9.5)]
    status = [1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1, 1, 0, 1]
    group = list("ABABABABCDCDCDCD")
    strata = [0] * 8 + [1] * 8
    result = logrank(time, status, group, strata=strata)
    assert result.df == 2
    first = logrank(time[:8], status[:8], group[:8])
    second = logrank(time[8:], status[8:], group[8:])
    assert result.statistic == pytest.approx(first.statistic + second.statistic, rel=1e-10)
    assert result.p_value == pytest.approx(
        float(np.exp(-result.statistic / 2)), rel=1e-10
    )  # chi-square 2 df survival function
    assert "numerical rank 2" in result.note and "numerical rank 2" in str(result)
    assert result.to_dict()["note"] == result.note
    assert logrank(time, status, group).note is None  # full rank: no note, df 3
    assert logrank(time, status, group).df == 3


def test_logrank_with_zero_variance_says_why_there_is_no_p():
    """One subject per stratum: no event time has two groups at risk together."""
    result = logrank([1, 2, 3], [1, 1, 1], [0, 0, 1], strata=[0, 1, 2])
    assert result.df == 0 and np.isnan(result.p_value)
    assert "variance of observed minus expected is zero" in result.note
    assert json.loads(json.dumps(result.to_dict()))["p_value"] is None


def test_rmst_without_events_before_tau_in_either_arm_has_se_zero_and_a_reason():
    """Was `ZeroDivisionError: float division by zero`."""
    result = rmst([5, 6, 7, 8], [0, 1, 0, 1], tau=4, group=[0, 0, 1, 1])
    assert result.difference == 0.0 and result.se == 0.0
    assert np.isnan(result.p_value) and np.isnan(result.ratio_p_value)
    assert result.ci == (0.0, 0.0)
    assert "no event before tau=4 in either group" in result.note
    assert json.loads(json.dumps(result.to_dict()))["p_value"] is None
    assert "note: no event" in str(result)


@pytest.mark.parametrize(
    "number", [np.int64(12), np.float32(12), np.float64(12), np.int32(12), Fraction(12)]
)
def test_every_real_number_type_is_accepted(number):
    """numpy scalars were refused as tau, p or conf_level ("expected a finite time > 0")."""
    data = simulated(120, 6)
    t, e, g = data["time"] * 10, data["event"], data["arm"]
    assert rmst(t, e, tau=number, group=g).difference == rmst(t, e, tau=12, group=g).difference
    level = number / 16  # 0.75 in the number's own type
    km = kaplan_meier(t, e, conf_level=level)
    assert km.median_ci == kaplan_meier(t, e, conf_level=0.75).median_ci
    assert km.quantile(number / 24).estimate == km.quantile(0.5).estimate
    weighted = logrank(t, e, g, rho=number / 12)
    assert weighted.statistic == logrank(t, e, g, rho=1.0).statistic


@pytest.mark.parametrize("bad", [True, np.bool_(True), "12", None, np.nan, -1, np.inf])
def test_non_numbers_and_bad_numbers_are_still_refused(bad):
    with pytest.raises(InvalidInput, match="tau="):
        rmst([1, 2, 3], [1, 0, 1], tau=bad)


def test_information_fraction_beyond_one_is_refused_not_rescaled():
    """[0.5, 1.2] used to become [0.417, 1]: the bounds of another design, silently."""
    with pytest.raises(InvalidInput, match=r"information fraction\(s\) \[1.2\] beyond 1"):
        gs_boundaries(information=[0.5, 1.2])
    rescaled = gs_boundaries(information=[0.4, 0.8])
    assert rescaled.information == pytest.approx([0.5, 1.0])
    assert "rescaled by the last look (0.8)" in rescaled.notes[0]
    assert rescaled.to_dict()["notes"] == rescaled.notes
    assert gs_boundaries(information=[86, 200]).notes == []  # event counts: no note
    assert gs_boundaries(information=[1, 2, 3, 4]).notes == []  # information units


def test_interim_beyond_planned_events_is_the_final_analysis_and_says_so():
    """The SAP's plan (talentop.design.plan) judges an interim with more events than planned
    as the final analysis, with all of alpha, and says so instead of rescaling silently."""
    from talentop.design.plan import plan_from_sap
    from talentop.protocol import load_protocol

    plan = plan_from_sap(load_protocol("talentop").sap)
    beyond = plan.at_interim(plan.max_events + 20, 2.5)
    assert beyond["information_fraction"] == 1.0
    # Two-sided 5% SAP: the single final look spends all of alpha (z 1.959964).
    assert beyond["efficacy_z"] == pytest.approx(1.959964, abs=1e-6)
    assert "final look" in beyond["note"] and f"{plan.max_events + 20} events" in beyond["note"]
    assert plan.at_interim(plan.max_events // 2, 1.0)["note"] is None
