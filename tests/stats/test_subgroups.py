"""Subgroup forest table: per-level HRs = Cox on the subset; interaction LR vs lifelines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from scipy import stats as sps

from talentop.errors import InvalidInput
from talentop.stats import cox, subgroup_hazard_ratios
from talentop.stats.subgroups import COLUMNS


@pytest.fixture()
def trial(lung):
    data = lung.assign(treated=(lung.sex == 2).astype(int))
    data["older"] = np.where(data.age >= 65, "65+", "<65")
    return data


def test_rows_are_cox_fits_on_each_level(trial):
    table = subgroup_hazard_ratios(
        trial, duration="time", event="status", treatment="treated", subgroups=["older"]
    )
    assert list(table.columns) == COLUMNS
    assert table.subgroup.tolist() == ["Overall", "older", "older"]
    overall = table.iloc[0]
    # R: coxph(Surv(time, status) ~ sex, data = lung): exp(coef) 0.5880, 0.4237-0.8160
    assert overall.hr == pytest.approx(0.5880, abs=5e-5)
    assert (overall.ci_lower, overall.ci_upper) == pytest.approx((0.4237, 0.8160), abs=5e-5)
    for _, row in table.iloc[1:].iterrows():
        part = trial[trial.older == row.level]
        fit = cox(part, duration="time", event="status", covariates=["treated"])
        assert row.hr == pytest.approx(fit.hr.iloc[0], rel=1e-12)
        assert row.n == len(part)
        assert row.events_treated == part.status[part.treated == 1].sum()


def test_interaction_p_matches_lifelines_lr(trial):
    table = subgroup_hazard_ratios(
        trial, duration="time", event="status", treatment="treated", subgroups=["older"]
    )
    data = trial[["time", "status", "treated"]].assign(old=(trial.older == "65+").astype(float))
    data["treated_x_old"] = data.treated * data.old
    full = CoxPHFitter().fit(data, "time", "status")
    reduced = CoxPHFitter().fit(data.drop(columns="treated_x_old"), "time", "status")
    p = sps.chi2.sf(2 * (full.log_likelihood_ - reduced.log_likelihood_), 1)
    assert table.interaction_p.iloc[1] == pytest.approx(p, rel=1e-4)


def test_level_with_one_arm_is_reported_not_fitted(trial):
    table = subgroup_hazard_ratios(
        trial, duration="time", event="status", treatment="treated", subgroups=["ph.ecog"]
    )
    row = table[(table.subgroup == "ph.ecog") & (table.level == 3.0)].iloc[0]
    assert np.isnan(row.hr) and row.note == "one arm is empty"
    assert 0 < table.interaction_p.iloc[-1] < 1


def test_bad_treatment_coding(trial):
    with pytest.raises(InvalidInput, match="treated=\\[1, 2\\]: expected 0 = control"):
        subgroup_hazard_ratios(
            trial.assign(treated=trial.sex),
            duration="time",
            event="status",
            treatment="treated",
            subgroups=["older"],
        )
    with pytest.raises(InvalidInput, match="column 'region': not in data"):
        subgroup_hazard_ratios(
            pd.DataFrame(trial),
            duration="time",
            event="status",
            treatment="treated",
            subgroups=["region"],
        )
