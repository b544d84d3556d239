"""Large-sample values of a design: true medians and the limit of the Cox HR estimate.

With crossing hazards the Cox estimate converges to the beta solving the limiting score
equation integral [f1(t) - p(t, beta) (f0(t) + f1(t))] dt = 0, f_i the density of observed
events and p = Y1 e^beta / (Y1 e^beta + Y0) (Y_i the expected numbers at risk).
Source: Struthers & Kalbfleisch, Biometrika 1986;73:363-369 (misspecified Cox model).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from talentop.design.generate import cumulative_hazard
from talentop.design.trial import TrialDesign

#: time grid for the integrals (months)
GRID_POINTS = 6000


def _survival_density(pieces: tuple[np.ndarray, np.ndarray], t: np.ndarray):
    starts, rates = pieces
    surv = np.exp(-cumulative_hazard(starts, rates, t))
    j = np.clip(np.searchsorted(starts, t, side="right") - 1, 0, len(starts) - 1)
    return surv, rates[j] * surv


def arm_survival(design: TrialDesign, arm: int, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Population survival and density of an arm (non-compliers follow the other arm)."""
    own, other = design.arms[arm].pieces(), design.arms[1 - arm].pieces()
    q = design.arms[arm].noncompliance
    s_own, f_own = _survival_density(own, t)
    s_oth, f_oth = _survival_density(other, t)
    return (1 - q) * s_own + q * s_oth, (1 - q) * f_own + q * f_oth


def _scalar_survival(pieces: tuple[np.ndarray, np.ndarray]):
    """S(t) = exp(-H(t)) of one hazard for a float ``t``: ``_survival_density``'s survival
    with the same sums in the same order, without an array per call."""
    starts, rates = pieces[0].tolist(), pieces[1].tolist()
    at_starts = cumulative_hazard(pieces[0], pieces[1], pieces[0]).tolist()  # H at each start
    last = len(starts) - 1

    def survival(t: float) -> float:
        j = bisect.bisect_right(starts, t) - 1
        j = min(max(j, 0), last)
        return math.exp(-(at_starts[j] + rates[j] * (t - starts[j])))

    return survival


def true_median(design: TrialDesign, arm: int, horizon: float = 1000.0) -> float:
    """Median of the arm's population survival (nan if above ``horizon`` months).

    The root is found on scalar floats (``_scalar_survival``), not 1-element arrays: the
    calibration finds about 1,000 medians of 17 evaluations each, and numpy's per-call
    overhead was 30 % of the demo's calibration (docs/benchmarks.md, "Write path, round 6").
    """
    own = _scalar_survival(design.arms[arm].pieces())
    other = _scalar_survival(design.arms[1 - arm].pieces())
    q = design.arms[arm].noncompliance

    def excess(t: float) -> float:
        return (1 - q) * own(t) + q * other(t) - 0.5

    if excess(horizon) > 0:
        return math.nan
    return float(brentq(excess, 0.0, horizon, xtol=1e-9))


def _censoring(design: TrialDesign, cutoff: float, t: np.ndarray) -> np.ndarray:
    """P(still under follow-up at time t since randomisation) at calendar ``cutoff``.

    Administrative part: the share of the n patients enrolled by ``cutoff - t``, i.e. the
    accrual CDF A(cutoff - t) / n (capped at 1), exact for uniform and ramp-up accrual.
    """
    enrolled = design.accrual.enrolled_by(cutoff - np.asarray(t, dtype=float))
    admin = np.minimum(enrolled / design.n_patients, 1.0)
    return admin * np.exp(-design.dropout_per_month * t)


def limiting_log_hr(design: TrialDesign, cutoff: float) -> tuple[float, float]:
    """(limit of the Cox log HR, expected log-rank z) at calendar ``cutoff``.

    The expected z is the score at beta = 0 over the root of its variance (both from the
    expected event densities), so it carries the design's size.
    """
    limit = limiting_cox(design, cutoff)
    return limit.log_hr, limit.logrank_z


@dataclass(frozen=True)
class LimitingCox:
    """Large-sample values of a two-arm Cox / log-rank analysis at a calendar data cut."""

    log_hr: float  # limit of the Cox estimate (Struthers & Kalbfleisch)
    logrank_z: float  # expected score statistic at beta = 0 over its root variance
    information: float  # expected Cox information at log_hr (1 / se^2 of the estimate)
    events: float  # expected number of events

    @property
    def se_log_hr(self) -> float:
        """Expected standard error of the Cox log HR, 1 / sqrt(information)."""
        return 1.0 / math.sqrt(self.information)


def _nodes(design: TrialDesign, cutoff: float) -> tuple[np.ndarray, np.ndarray]:
    """Midpoint-rule nodes and weights on (0, cutoff), split at every hazard change.

    Why split: a density jumps where a hazard piece starts; a fixed grid would make the
    integrals jitter as a fitted breakpoint moves between grid points (brentq then stalls).
    """
    starts = np.concatenate([arm.pieces()[0] for arm in design.arms])
    edges = np.unique(np.concatenate([[0.0, cutoff], starts[(starts > 0) & (starts < cutoff)]]))
    nodes, weights = [], []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        m = max(8, int(math.ceil(GRID_POINTS * (b - a) / cutoff)))
        width = (b - a) / m
        nodes.append(a + width * (np.arange(m) + 0.5))
        weights.append(np.full(m, width))
    return np.concatenate(nodes), np.concatenate(weights)


def limiting_cox(design: TrialDesign, cutoff: float) -> LimitingCox:
    """Limit of the Cox log HR, expected log-rank z, Cox information and events at ``cutoff``.

    Every quantity is an integral over the expected numbers at risk Y_i(t) and event
    densities d_i(t) of the two arms (see the module docstring); the information is
    integral p (1 - p) (d_1 + d_0) dt at the limiting log HR, the large-sample variance of
    the Cox score when the model is used as a working model.
    """
    t, dt = _nodes(design, cutoff)
    g = _censoring(design, cutoff, t)
    n_exp, n_ctl = design.n_per_arm()
    s1, f1 = arm_survival(design, 0, t)
    s0, f0 = arm_survival(design, 1, t)
    y1, y0 = n_exp * g * s1, n_ctl * g * s0
    d1, d0 = n_exp * g * f1 * dt, n_ctl * g * f0 * dt  # expected events per node

    d = d1 + d0
    at_risk = (y1 + y0) > 0  # w + y0 > 0 for every beta exactly where y1 + y0 > 0

    def score(beta: float) -> tuple[float, float]:
        w = y1 * math.exp(beta)
        p = np.divide(w, w + y0, out=np.zeros_like(w), where=at_risk)
        return float(np.sum(d1 - p * d)), float(np.sum(p * (1 - p) * d))

    u0, v0 = score(0.0)
    beta, information = _score_root(score, u0, v0)
    return LimitingCox(
        log_hr=beta,
        logrank_z=-u0 / math.sqrt(v0),
        information=information,
        events=float(np.sum(d)),
    )


def _score_root(score, u0: float, v0: float, lo: float = -10.0, hi: float = 10.0):
    """(beta, V(beta)) at the root of the decreasing score U in (lo, hi), from beta = 0.

    Newton's step is U / V (V = -dU/dbeta, the information, comes with U at no cost),
    kept inside the bracket the signs of U have narrowed, else bisected: 5-6 evaluations
    where brentq needed 13 (the calibration solves about 600 of these). Stops when the step
    is below 1e-13 (brentq was asked for 1e-12); an error when U does not change sign.
    """
    bounds = (lo, hi)
    beta, u, v = 0.0, u0, v0
    for _ in range(200):
        if u == 0.0:
            return beta, v
        if u > 0:
            lo = beta
        else:
            hi = beta
        step = u / v if v > 0 else math.inf
        nxt = beta + step
        if not lo < nxt < hi:
            nxt = 0.5 * (lo + hi)
        if abs(nxt - beta) < 1e-13:
            if min(abs(nxt - b) for b in bounds) < 1e-9 and score(nxt)[0] != 0.0:
                break  # pressed against an end: U kept its sign over the bracket
            return (nxt, score(nxt)[1]) if nxt != beta else (beta, v)
        beta = nxt
        u, v = score(beta)
    raise ValueError(f"the limiting Cox score has no root in {bounds}")
