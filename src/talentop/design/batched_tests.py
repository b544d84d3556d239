"""Log-rank test, Breslow Cox and Kaplan-Meier medians for many trials at once.

Why not ``talentop.stats``: that module analyses one data set at a time; a simulation of
20,000 trials would call it 20,000 times from Python. Here every replicate is a row of a
(replicates, n) array: one sort along axis 1, cumulative sums give the risk sets, and the
one-covariate Cox model is fitted by Newton steps on all rows together
(``benchmarks/simulate.py`` measures the gain against a lifelines loop).
Times are continuous, so tied event times have probability zero: each event is its own risk
set, and the Breslow, Efron and exact partial likelihoods coincide.
Source: Collett, "Modelling Survival Data in Medical Research", 3rd ed., 2.6 (log-rank)
and 3.3 (Cox partial likelihood).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Newton iterations for the Cox fit; |step| capped as lifelines does for stability
MAX_NEWTON = 25
MAX_STEP = 2.0


@dataclass
class BatchedResult:
    """Per-replicate results (arrays of shape (replicates,))."""

    events: np.ndarray
    logrank_z: np.ndarray  # > 0 favours the experimental arm (fewer events than expected)
    log_hr: np.ndarray  # Cox log hazard ratio, experimental vs control (nan if not estimable)
    se_log_hr: np.ndarray
    converged: np.ndarray
    median_experimental: np.ndarray  # KM median, nan when not reached
    median_control: np.ndarray


def _sorted(time: np.ndarray, status: np.ndarray, experimental: np.ndarray):
    order = np.argsort(time, axis=1, kind="stable")
    status_sorted = np.take_along_axis(status, order, axis=1)
    if experimental.ndim == 1:
        x_sorted = experimental[order]
    else:
        x_sorted = np.take_along_axis(experimental, order, axis=1)
    time_sorted = np.take_along_axis(time, order, axis=1)
    return time_sorted, status_sorted.astype(float), x_sorted.astype(float)


def _at_risk(x_sorted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Numbers at risk (experimental, control) just before each sorted time."""
    n_exp = np.cumsum(x_sorted[:, ::-1], axis=1)[:, ::-1]
    total = np.arange(x_sorted.shape[1], 0, -1, dtype=float)[None, :]
    return n_exp, total - n_exp


def _km_median(time_sorted: np.ndarray, deaths: np.ndarray, at_risk: np.ndarray) -> np.ndarray:
    """First time with KM survival <= 0.5 (nan if never): cumulative sum of log(1 - d/n)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        step = np.where(
            deaths > 0,
            np.log1p(-np.divide(deaths, at_risk, out=np.zeros_like(deaths), where=at_risk > 0)),
            0.0,
        )
    log_surv = np.cumsum(step, axis=1)
    below = log_surv <= np.log(0.5) + 1e-12
    first = np.argmax(below, axis=1)
    found = below[np.arange(len(first)), first]
    return np.where(found, time_sorted[np.arange(len(first)), first], np.nan)


def batched_analysis(
    time: np.ndarray, status: np.ndarray, experimental: np.ndarray
) -> BatchedResult:
    """Log-rank z, Cox HR (Newton-Raphson, 1 covariate) and KM medians for every row."""
    time_sorted, d, x = _sorted(time, status, experimental)
    n1, n0 = _at_risk(x)
    total = n1 + n0
    events = d.sum(axis=1)
    # log-rank: observed minus expected in the experimental arm, hypergeometric variance (d = 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        p1 = np.divide(n1, total, out=np.zeros_like(n1), where=total > 0)
    observed = (d * x).sum(axis=1)
    expected = (d * p1).sum(axis=1)
    variance = (d * p1 * (1 - p1)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (expected - observed) / np.sqrt(variance)
    # Cox: score U = sum_events (x - p(beta)), information I = sum_events p (1 - p)
    beta = np.zeros(len(events))
    info = variance.copy()
    converged = np.zeros(len(events), dtype=bool)
    for _ in range(MAX_NEWTON):
        w = n1 * np.exp(beta)[:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            p = np.divide(w, w + n0, out=np.zeros_like(w), where=(w + n0) > 0)
        score = (d * (x - p)).sum(axis=1)
        info = (d * p * (1 - p)).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            step = np.clip(
                np.divide(score, info, out=np.zeros_like(score), where=info > 0),
                -MAX_STEP,
                MAX_STEP,
            )
        beta = beta + np.where(converged, 0.0, step)
        converged |= np.abs(step) < 1e-9
        if converged.all():
            break
    # no events in one arm: the partial likelihood has no maximum (separation)
    estimable = converged & (observed > 0) & (observed < events)
    with np.errstate(divide="ignore"):
        se = np.where(estimable, 1.0 / np.sqrt(info), np.nan)
    return BatchedResult(
        events=events,
        logrank_z=z,
        log_hr=np.where(estimable, beta, np.nan),
        se_log_hr=se,
        converged=converged,
        median_experimental=_km_median(time_sorted, d * x, n1),
        median_control=_km_median(time_sorted, d * (1 - x), n0),
    )
