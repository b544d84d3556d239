"""Patient-level event times for many replicates at once (arrays of shape (replicates, n)).

Piecewise-exponential times by inversion of the cumulative hazard (E ~ Exp(1), T = H^-1(E));
switchers follow the control hazard until the switch, then the experimental hazard from its
start. Source: the standard inversion method (e.g. Bender, Augustin & Blettner, Stat Med
2005;24:1713-1723).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from talentop.design.trial import TrialDesign


def cumulative_hazard(starts: np.ndarray, rates: np.ndarray, t: np.ndarray) -> np.ndarray:
    """H(t) of a piecewise-constant hazard (pieces beginning at ``starts``)."""
    at_starts = np.concatenate([[0.0], np.cumsum(rates[:-1] * np.diff(starts))])
    j = np.searchsorted(starts, t, side="right") - 1
    j = np.clip(j, 0, len(starts) - 1)
    return at_starts[j] + rates[j] * (t - starts[j])


def inverse_cumulative_hazard(starts: np.ndarray, rates: np.ndarray, e: np.ndarray) -> np.ndarray:
    """The t with H(t) = e; a zero-hazard piece is skipped (side='right' lands past it)."""
    at_starts = np.concatenate([[0.0], np.cumsum(rates[:-1] * np.diff(starts))])
    j = np.searchsorted(at_starts, e, side="right") - 1
    j = np.clip(j, 0, len(starts) - 1)
    # a zero rate can only be selected when e equals H at its start exactly: time = its start
    safe = np.where(rates[j] > 0, rates[j], 1.0)
    return starts[j] + np.where(rates[j] > 0, (e - at_starts[j]) / safe, 0.0)


@dataclass
class Patients:
    """Simulated patients of ``replicates`` trials; times in months."""

    entry: np.ndarray  # calendar month of randomisation
    experimental: np.ndarray  # 1 = experimental arm (arm 0), 0 = control; shape (n,)
    event: np.ndarray  # event time since randomisation (no censoring)
    dropout: np.ndarray  # dropout time since randomisation (inf if none)
    switch: np.ndarray  # switch time since randomisation (inf if never switched)
    crossed_over: np.ndarray  # bool: follows the other arm's hazard (non-compliance)


def generate_patients(design: TrialDesign, replicates: int, rng: np.random.Generator) -> Patients:
    """Draw entry, event, dropout and switch times for ``replicates`` trials."""
    n_exp, n_ctl = design.n_per_arm()
    n = n_exp + n_ctl
    shape = (replicates, n)
    experimental = np.concatenate([np.ones(n_exp, dtype=np.int8), np.zeros(n_ctl, dtype=np.int8)])
    # entry: given n enrolled, entries are iid with density proportional to the accrual rate
    entry = design.accrual.entry_time(rng.random(shape) * n)
    exp_pieces = design.arms[0].pieces()
    ctl_pieces = design.arms[1].pieces()
    # non-compliance: that fraction of each arm follows the other arm's hazard
    crossed = np.zeros(shape, dtype=bool)
    q_exp, q_ctl = design.arms[0].noncompliance, design.arms[1].noncompliance
    if q_exp > 0:
        crossed[:, :n_exp] = rng.random((replicates, n_exp)) < q_exp
    if q_ctl > 0:
        crossed[:, n_exp:] = rng.random((replicates, n_ctl)) < q_ctl
    follows_exp = (experimental[None, :] == 1) ^ crossed
    unit = rng.standard_exponential(shape)
    event = np.where(
        follows_exp,
        inverse_cumulative_hazard(*exp_pieces, unit),
        inverse_cumulative_hazard(*ctl_pieces, unit),
    )
    switch = np.full(shape, np.inf)
    if design.switching is not None:
        # only randomised control patients (not the crossed-over ones) are reassessed
        candidate = (experimental[None, :] == 0) & ~crossed
        switch_draw = rng.standard_exponential(shape) / design.switching.rate_per_month
        switches = candidate & (switch_draw < event)
        used = cumulative_hazard(*ctl_pieces, switch_draw)
        after = switch_draw + inverse_cumulative_hazard(*exp_pieces, np.maximum(unit - used, 0.0))
        event = np.where(switches, after, event)
        switch = np.where(switches, switch_draw, np.inf)
    if design.dropout_per_month > 0:
        dropout = rng.standard_exponential(shape) / design.dropout_per_month
    else:
        dropout = np.full(shape, np.inf)
    return Patients(entry, experimental, event, dropout, switch, crossed)


def observe(patients: Patients, cutoff: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Observed (time, status) at calendar ``cutoff`` per replicate (shape (replicates,)).

    Patients not yet randomised get time 0 and status 0: they are never at risk.
    """
    follow = np.maximum(cutoff[:, None] - patients.entry, 0.0)
    time = np.minimum(np.minimum(patients.event, patients.dropout), follow)
    # compare on the calendar scale, as look_times does, so the look's own event is counted
    status = (patients.event <= patients.dropout) & (
        patients.entry + patients.event <= cutoff[:, None]
    )
    return time, status


def look_times(patients: Patients, look_events: list[int], max_month: float) -> np.ndarray:
    """Calendar month at which each look's event count is reached (or ``max_month``)."""
    observable = patients.event <= patients.dropout
    calendar = np.where(observable, patients.entry + patients.event, np.inf)
    calendar.sort(axis=1)
    counts = np.asarray(look_events) - 1
    times = calendar[:, counts]
    return np.minimum(times, max_month)
