"""Expected events over calendar time, study duration and sample size (Lachin-Foulkes style).

A patient randomised at calendar month u and followed to c has an event by c with
probability P(c - u) = integral_0^(c-u) lambda(s) S(s) e^(-eta s) ds (dropout eta competes);
expected events are n times P averaged over the entry distribution.
Source: Lachin & Foulkes, Biometrics 1986;42:507-519 (piecewise exponential, dropout,
non-uniform accrual); the same model as gsDesign ``nSurv`` / ``eEvents``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from talentop.design.trial import Accrual, TrialDesign
from talentop.errors import InvalidInput

#: entry-time quantiles used to average over accrual (midpoint rule in probability)
ENTRY_NODES = 2000


def event_probability(
    starts: np.ndarray, rates: np.ndarray, dropout_per_month: float, follow: np.ndarray
) -> np.ndarray:
    """P(event observed by follow-up ``follow``) for a piecewise hazard with exponential dropout.

    Exact per piece: within a piece of rate h, the event share of the exits is h / (h + eta).
    """
    follow = np.asarray(follow, dtype=float)
    ends = np.append(starts[1:], np.inf)
    total = np.zeros_like(follow)
    alive = np.ones_like(follow)  # P(no event, no dropout) at the start of the piece
    for start, end, rate in zip(starts, ends, rates, strict=True):
        width = np.clip(np.minimum(follow, end) - start, 0.0, None)
        exit_rate = rate + dropout_per_month
        if exit_rate > 0:
            leave = 1.0 - np.exp(-exit_rate * width)
            total += alive * rate / exit_rate * leave
            alive = alive * (1.0 - leave)
    return total


def _arm_mixtures(design: TrialDesign) -> list[tuple[float, list[tuple[float, tuple]]]]:
    """Per arm: patients and (weight, pieces) of the hazards its patients follow."""
    n_exp, n_ctl = design.n_per_arm()
    exp_pieces, ctl_pieces = design.arms[0].pieces(), design.arms[1].pieces()
    q_exp, q_ctl = design.arms[0].noncompliance, design.arms[1].noncompliance
    return [
        (n_exp, [(1 - q_exp, exp_pieces), (q_exp, ctl_pieces)]),
        (n_ctl, [(1 - q_ctl, ctl_pieces), (q_ctl, exp_pieces)]),
    ]


def expected_events(design: TrialDesign, calendar_times: list[float] | np.ndarray) -> np.ndarray:
    """Expected total events by each calendar month (from the first randomisation).

    Non-compliance is a mixture of the two arms' hazards; dynamic switching is not modelled
    here (simulate it). Entry times are averaged at ``ENTRY_NODES`` quantiles of accrual.
    """
    if design.switching is not None:
        raise InvalidInput.field(
            "switching", design.switching, "None: the analytic model has no switching; simulate"
        )
    calendar = np.atleast_1d(np.asarray(calendar_times, dtype=float))
    entries = design.accrual.entry_time(
        (np.arange(ENTRY_NODES) + 0.5) / ENTRY_NODES * design.n_patients
    )
    follow = np.clip(calendar[:, None] - entries[None, :], 0.0, None)
    total = np.zeros(len(calendar))
    for n_arm, mixture in _arm_mixtures(design):
        for weight, (starts, rates) in mixture:
            if weight > 0:
                p = event_probability(starts, rates, design.dropout_per_month, follow)
                total += n_arm * weight * p.mean(axis=1)
    return total


def study_duration(design: TrialDesign, events: float) -> float:
    """Calendar month at which ``events`` are expected (brentq on expected_events)."""
    horizon = design.max_duration_months
    if expected_events(design, [horizon])[0] < events:
        raise InvalidInput.field(
            "events", events, f"fewer than expected by month {horizon} (raise n or follow-up)"
        )
    return float(
        brentq(lambda c: expected_events(design, [c])[0] - events, 0.0, horizon, xtol=1e-8)
    )


@dataclass(frozen=True)
class SampleSize:
    """Patients, accrual duration and study duration that yield the required events."""

    n_patients: int
    accrual_months: float
    duration_months: float
    events: float


def sample_size(
    design: TrialDesign, *, events: float, min_follow_up_months: float, max_patients: int = 100_000
) -> SampleSize:
    """Smallest n such that ``events`` are expected at end of accrual + ``min_follow_up_months``.

    The accrual rate (and ramp-up) of ``design`` is kept; accrual lasts as long as n needs.
    """

    def shortfall(n: float) -> float:
        trial = design.model_copy(update={"n_patients": max(int(math.ceil(n)), 2)})
        end = trial.accrual.duration(trial.n_patients) + min_follow_up_months
        return float(expected_events(trial, [end])[0] - events)

    if shortfall(max_patients) < 0:
        raise InvalidInput.field(
            "events", events, f"reachable with at most {max_patients} patients"
        )
    lo, hi = max(int(events), 2), max_patients
    while hi - lo > 1:  # events grow with n: bisection on whole patients
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if shortfall(mid) < 0 else (lo, mid)
    n = hi
    accrual = design.accrual.duration(n)
    return SampleSize(n, accrual, accrual + min_follow_up_months, events)


def accrual_for(n_patients: int, accrual_months: float, ramp_up_months: float = 0.0) -> Accrual:
    """The accrual rate that enrols ``n_patients`` in ``accrual_months`` after a ramp-up."""
    if accrual_months <= ramp_up_months / 2:
        raise InvalidInput.field("accrual_months", accrual_months, "longer than half the ramp-up")
    return Accrual(
        rate_per_month=n_patients / (accrual_months - ramp_up_months / 2),
        ramp_up_months=ramp_up_months,
    )
