"""Whole-trial simulation: determinism, type I error, power, switching, non-compliance."""

import math

import numpy as np
import pandas as pd
import pytest

from talentop.design import (
    TrialDesign,
    exponential_design,
    gs_boundaries,
    schoenfeld_events,
    simulate_trials,
)
from talentop.design.generate import generate_patients
from talentop.design.operating import operating_characteristics
from talentop.design.sample_size import schoenfeld_power
from talentop.errors import InvalidInput


def _design(hr, events, looks=None, **extra):
    n = int(events * 1.6)
    return exponential_design(
        hazard_ratio=hr,
        control_median_months=12.0,
        n_patients=n,
        look_events=looks or [events],
        accrual_rate_per_month=20.0,
        **extra,
    )


def test_same_seed_same_table_and_blocks_are_stable():
    design = _design(0.7, 120, looks=[60, 120])
    first = simulate_trials(design, replicates=300, seed=5)
    again = simulate_trials(design, replicates=300, seed=5)
    pd.testing.assert_frame_equal(first, again)
    # block 0 does not depend on how many blocks follow
    pd.testing.assert_frame_equal(simulate_trials(design, replicates=250, seed=5), first.iloc[:250])
    other = simulate_trials(design, replicates=300, seed=6)
    assert not np.allclose(first["z_2"], other["z_2"])
    assert list(first["replicate"]) == list(range(300))


def test_type_one_error_matches_alpha_within_three_sigma():
    """HR = 1, OBF two looks, one-sided 0.025: rejection rate within 3 binomial SE of 0.025
    (4000 replicates, seed fixed)."""
    design = _design(1.0, 200, looks=[100, 200])
    oc = operating_characteristics(simulate_trials(design, replicates=4000, seed=101), true_hr=1.0)
    se = math.sqrt(0.025 * 0.975 / 4000)
    assert abs(oc.rejection_rate - 0.025) < 3 * se
    assert abs(oc.log_hr_bias) < 3 * oc.log_hr_bias_se + 0.01


def test_power_matches_schoenfeld_prediction_within_three_sigma():
    """Single look at the Schoenfeld events for HR 0.7, 80 % power, one-sided 0.025 (247):
    simulated power within 3 binomial SE of the formula's prediction."""
    events = schoenfeld_events(hazard_ratio=0.7, alpha=0.025, power=0.8, sided=1)
    design = _design(0.7, events, efficacy_z=[1.959964])
    df = simulate_trials(design, replicates=4000, seed=202)
    predicted = schoenfeld_power(hazard_ratio=0.7, events=events)
    se = math.sqrt(predicted * (1 - predicted) / 4000)
    assert abs(df["rejected"].mean() - predicted) < 3 * se
    assert (df["events_1"] == events).all()


def test_group_sequential_power_and_stopping_match_the_recursion():
    """OBF at 1/2 and 1 of 250 events, HR 0.65: per-look crossing probabilities from
    gs_boundaries (drift |ln HR| sqrt(D / 4)) within 3 SE of the simulation."""
    design = _design(0.65, 250, looks=[125, 250])
    oc = operating_characteristics(simulate_trials(design, replicates=4000, seed=303))
    drift = abs(math.log(0.65)) * math.sqrt(250 / 4)
    gs = gs_boundaries(information=[0.5, 1.0], drift=drift, beta=0.2)
    predicted = np.diff(np.concatenate([[0.0], gs.cumulative_power]))
    for simulated, expected in zip(oc.stop_efficacy, predicted, strict=True):
        assert abs(simulated - expected) < 3 * math.sqrt(expected * (1 - expected) / 4000) + 0.005


def test_futility_bound_stops_trials_under_the_null():
    design = _design(
        1.0, 200, looks=[100, 200], futility_z=[0.0, 1.959964], efficacy_z=[2.96, 1.97]
    )
    df = simulate_trials(design, replicates=1000, seed=9)
    stopped = (df["decision"] == "futility") & (df["stop_look"] == 1)
    # P(Z_1 <= 0) = 0.5 under H0
    assert abs(stopped.mean() - 0.5) < 3 * math.sqrt(0.25 / 1000)
    assert (df.loc[stopped, "z_1"] <= 0).all()


def test_dynamic_switching_records_switch_times_before_events():
    """Control hazard 0.05/month, switch rate 0.02/month, no censoring: P(switch before
    event) = 0.02 / (0.02 + 0.05) (competing exponentials)."""
    design = TrialDesign.build(
        arms=(
            {"name": "A", "hazards": [(0.0, 0.1), (3.0, 0.02)]},
            {"name": "B", "hazards": [(0.0, 0.05)]},
        ),
        n_patients=200,
        accrual={"rate_per_month": 20},
        look_events=[150],
        switching={"rate_per_month": 0.02},
    )
    patients = generate_patients(design, 200, np.random.default_rng(4))
    control = patients.experimental == 0
    switched = np.isfinite(patients.switch)
    assert not switched[:, ~control].any()
    assert (patients.switch[switched] < patients.event[switched]).all()
    rate = switched[:, control].mean()
    assert abs(rate - 2 / 7) < 3 * math.sqrt(2 / 7 * 5 / 7 / switched[:, control].size)
    df = simulate_trials(design, replicates=50, seed=1)
    assert (df["switched"] > 0).all()


def test_noncompliance_fraction_and_its_hazard():
    """18/101 of arm A follow arm B: the crossed-over fraction is binomial around 18/101 and
    those patients' median is arm B's (11.8 months)."""
    design = TrialDesign.build(
        arms=(
            {"name": "A", "hazards": [(0.0, 0.09), (3.0, 0.02)], "noncompliance": 18 / 101},
            {"name": "B", "median_months": 11.8},
        ),
        n_patients=201,
        accrual={"rate_per_month": 6},
        look_events=[100],
    )
    patients = generate_patients(design, 400, np.random.default_rng(8))
    arm_a = patients.experimental == 1
    crossed = patients.crossed_over[:, arm_a]
    assert abs(crossed.mean() - 18 / 101) < 3 * math.sqrt(0.18 * 0.82 / crossed.size)
    assert not patients.crossed_over[:, ~arm_a].any()
    median = np.median(patients.event[:, arm_a][crossed])
    assert median == pytest.approx(11.8, rel=0.05)


def test_invalid_design_and_replicates_are_refused():
    with pytest.raises(InvalidInput, match="replicates=0: expected a positive whole number"):
        simulate_trials(_design(0.7, 100), replicates=0, seed=1)
    with pytest.raises(InvalidInput, match=r"seed=-1: expected an integer >= 0"):
        simulate_trials(_design(0.7, 100), replicates=5, seed=-1)
    with pytest.raises(InvalidInput, match="look_events"):
        TrialDesign.build(
            arms=({"name": "A", "median_months": 10}, {"name": "B", "median_months": 8}),
            n_patients=100,
            accrual={"rate_per_month": 5},
            look_events=[80, 40],
        )
    with pytest.raises(InvalidInput, match="exactly one of hazards, median_months"):
        TrialDesign.build(
            arms=({"name": "A"}, {"name": "B", "median_months": 8}),
            n_patients=100,
            accrual={"rate_per_month": 5},
            look_events=[40],
        )
