"""Large-sample values of a design: true medians and the limit of the Cox HR estimate.

With crossing hazards the Cox estimate converges to the beta solving the limiting score
equation integral [f1(t) - p(t, beta) (f0(t) + f1(t))] dt = 0, f_i the density of observed
events and p = Y1 e^beta / (Y1 e^beta + Y0) (Y_i the expected numbers at risk).
Source: Struthers & Kalbfleisch, Biometrika 1986;73:363-369 (misspecified Cox model).
"""

from __future__ import annotations

import math

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


def true_median(design: TrialDesign, arm: int, horizon: float = 1000.0) -> float:
    """Median of the arm's population survival (nan if above ``horizon`` months)."""

    def excess(t: float) -> float:
        return float(arm_survival(design, arm, np.array([t]))[0][0] - 0.5)

    if excess(horizon) > 0:
        return math.nan
    return float(brentq(excess, 0.0, horizon, xtol=1e-9))


def _censoring(design: TrialDesign, cutoff: float, t: np.ndarray) -> np.ndarray:
    """P(still under follow-up at time t since randomisation) at calendar ``cutoff``."""
    nodes = 2000
    entries = design.accrual.entry_time((np.arange(nodes) + 0.5) / nodes * design.n_patients)
    admin = (cutoff - entries[None, :] >= t[:, None]).mean(axis=1)
    return admin * np.exp(-design.dropout_per_month * t)


def limiting_log_hr(design: TrialDesign, cutoff: float) -> tuple[float, float]:
    """(limit of the Cox log HR, expected log-rank z) at calendar ``cutoff``.

    The expected z is the score at beta = 0 over the root of its variance (both from the
    expected event densities), so it carries the design's size.
    """
    t = np.linspace(0.0, cutoff, GRID_POINTS)
    g = _censoring(design, cutoff, t)
    n_exp, n_ctl = design.n_per_arm()
    s1, f1 = arm_survival(design, 0, t)
    s0, f0 = arm_survival(design, 1, t)
    y1, y0 = n_exp * g * s1, n_ctl * g * s0
    d1, d0 = n_exp * g * f1, n_ctl * g * f0

    def score(beta: float) -> tuple[float, float]:
        w = y1 * math.exp(beta)
        p = np.divide(w, w + y0, out=np.zeros_like(w), where=(w + y0) > 0)
        return float(np.trapezoid(d1 - p * (d1 + d0), t)), float(
            np.trapezoid(p * (1 - p) * (d1 + d0), t)
        )

    beta = float(brentq(lambda b: score(b)[0], -10.0, 10.0, xtol=1e-12))
    u0, v0 = score(0.0)
    return beta, -u0 / math.sqrt(v0)
