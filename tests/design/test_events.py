"""Expected events, study duration and sample size (Lachin-Foulkes model)."""

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from talentop.design.events import (
    accrual_for,
    event_probability,
    expected_events,
    sample_size,
    study_duration,
)
from talentop.design.generate import generate_patients
from talentop.design.trial import Accrual, TrialDesign
from talentop.errors import InvalidInput


def _design(n=460, accrual_months=0.5, hazards=((0.1,), (0.2,)), dropout=0.1, ramp=0.0, **extra):
    return TrialDesign.build(
        arms=(
            {"name": "A", "hazards": [(0.0, hazards[0][0])]},
            {"name": "B", "hazards": [(0.0, hazards[1][0])]},
        ),
        n_patients=n,
        accrual=accrual_for(n, accrual_months, ramp),
        dropout_per_month=dropout,
        look_events=[min(97, n)],
        max_duration_months=500,
        **extra,
    )


def test_expected_events_match_lachin_foulkes_closed_form():
    """Uniform accrual over R, exponential hazard h, dropout eta, analysis at T: the event
    probability is h/(h+eta) [1 - (e^{-(h+eta)(T-R)} - e^{-(h+eta)T}) / ((h+eta) R)]
    (Lachin & Foulkes 1986, eq. for uniform entry)."""
    design = _design(n=460, accrual_months=0.5)

    def closed_form(h, eta, r, t):
        k = h + eta
        return h / k * (1 - (math.exp(-k * (t - r)) - math.exp(-k * t)) / (k * r))

    for t in (1.0, 2.0, 5.0):
        expected = 230 * (closed_form(0.1, 0.1, 0.5, t) + closed_form(0.2, 0.1, 0.5, t))
        assert expected_events(design, [t])[0] == pytest.approx(expected, rel=1e-5)


def test_expected_events_match_gssurv_published_output():
    """gsDesign snapshot independent-test-gsBoundSummary.md:
    ``gsSurv(lambdaC = .2, hr = .5, eta = .1, T = 2, minfup = 1.5)`` prints N: 460 and
    final Events: 97 (both rounded), i.e. 460 patients over 0.5 time units, analysis at 2."""
    design = _design(n=460, accrual_months=0.5)
    assert expected_events(design, [2.0])[0] == pytest.approx(97, abs=1.0)


def test_piecewise_event_probability_matches_numerical_integration():
    """P(event by s) solves dP/du = lambda(u) S(u), dS/du = -(lambda(u) + eta) S(u):
    integrated by scipy's solve_ivp (RK45, tight tolerances, split at the breakpoints)."""
    starts, rates, eta = np.array([0.0, 3.0, 10.0]), np.array([0.09, 0.02, 0.05]), 0.01

    def rhs(u, y, rate):
        return [rate * y[1], -(rate + eta) * y[1]]

    def integrate(s):
        y = [0.0, 1.0]
        edges = [0.0, 3.0, 10.0, np.inf]
        for k, rate in enumerate(rates):
            lo, hi = edges[k], min(edges[k + 1], s)
            if hi <= lo:
                break
            y = solve_ivp(rhs, (lo, hi), y, args=(rate,), rtol=1e-11, atol=1e-12).y[:, -1]
        return y[0]

    for s in (2.0, 7.5, 20.0):
        value = integrate(s)
        assert event_probability(starts, rates, eta, np.array([s]))[0] == pytest.approx(
            value, rel=1e-7
        )


def test_expected_events_match_monte_carlo_with_ramp_up_and_noncompliance():
    """Piecewise hazards, ramp-up accrual and 18 % non-compliance: analytic expectation
    within 4 Monte-Carlo standard errors of 4000 simulated trials (seeded)."""
    design = TrialDesign.build(
        arms=(
            {"name": "A", "hazards": [(0.0, 0.09), (3.0, 0.02)], "noncompliance": 0.18},
            {"name": "B", "median_months": 11.8},
        ),
        n_patients=201,
        accrual={"rate_per_month": 7.0, "ramp_up_months": 6.0},
        dropout_per_month=0.005,
        look_events=[100],
    )
    patients = generate_patients(design, 4000, np.random.default_rng(11))
    for month in (12.0, 30.0, 60.0):
        counted = (
            (patients.entry + patients.event <= month) & (patients.event <= patients.dropout)
        ).sum(axis=1)
        se = counted.std(ddof=1) / math.sqrt(len(counted))
        assert expected_events(design, [month])[0] == pytest.approx(counted.mean(), abs=4 * se)


def test_ramp_up_entry_time_inverts_cumulative_accrual():
    """A(u) = rate u^2 / (2 R) during the ramp, rate (u - R/2) after: entry_time(A(u)) = u."""
    accrual = Accrual(rate_per_month=10.0, ramp_up_months=4.0)
    u = np.array([0.5, 2.0, 3.9, 4.0, 9.0])
    cumulative = np.where(u < 4, 10 * u**2 / 8, 10 * (u - 2))
    np.testing.assert_allclose(accrual.entry_time(cumulative), u, rtol=1e-12)
    assert accrual.duration(70) == pytest.approx(9.0)


def test_study_duration_and_sample_size_invert_expected_events():
    design = _design(n=300, accrual_months=20, hazards=((0.03,), (0.05,)), dropout=0.0)
    month = study_duration(design, 150)
    assert expected_events(design, [month])[0] == pytest.approx(150, abs=1e-5)
    size = sample_size(design, events=200, min_follow_up_months=12)
    fewer = design.model_copy(update={"n_patients": size.n_patients - 1})
    end_fewer = fewer.accrual.duration(size.n_patients - 1) + 12
    assert (
        expected_events(
            design.model_copy(update={"n_patients": size.n_patients}), [size.duration_months]
        )[0]
        >= 200
    )
    assert expected_events(fewer, [end_fewer])[0] < 200
    with pytest.raises(
        InvalidInput, match="events=1000: expected fewer than expected by month 500"
    ):
        study_duration(design, 1000)
