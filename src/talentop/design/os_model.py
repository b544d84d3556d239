"""Overall survival built from time to treatment failure plus post-failure survival.

OS = T + S, where T is the time to treatment failure of the patient's path (piecewise
exponential, from the TTF calibration), a failure is itself a death with probability
``death_at_failure``, and otherwise S ~ Exponential(``hazard``) is the survival after failure
(post-progression survival), with its own hazard after a failure on the operated path (a
recurrence after resection) and on the systemic path (progression on atezo/bev). So anything
that delays failure (a resection, an arm-B switch to surgery) delays death: the dependence a
trial statistician models (e.g. Broglio & Berry, J Natl Cancer Inst 2009;101:1642-1649: OS =
PFS + survival post progression), unlike one shared draw for TTF and OS.

Calibration: the two post-failure hazards are solved so that the large-sample Cox OS HR at the
interim data cut is the published 0.67 and its standard error the published CI width
(ln 1.29 - ln 0.35) / (2 x 1.96) = 0.333 (``limiting_cox``, Struthers & Kalbfleisch 1986);
the OS curves enter the limit as piecewise-constant hazards on a fine grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from talentop.design.asymptotic import LimitingCox, limiting_cox
from talentop.design.generate import cumulative_hazard
from talentop.design.trial import Arm, TrialDesign
from talentop.errors import ConvergenceError

Pieces = list[tuple[float, float]]
#: grid step (months) of the OS hazards handed to ``limiting_cox``
STEP_MONTHS = 0.25
#: largest lambda x t for which ``os_survival`` sums exp(lambda x mid) (exp(709) overflows)
_MAX_EXPONENT = 600.0


def os_survival(
    ttf: Pieces, post_hazard: float, death_at_failure: float, t: np.ndarray
) -> np.ndarray:
    """P(OS > t) for OS = T + S (module docstring), by exact convolution per grid cell.

    P(OS > t) = S_T(t) + (1 - pi) integral_0^t f_T(u) exp(-lambda (t - u)) du, with the
    integral summed over the grid cells (midpoint rule on a fine sub-grid).
    """
    starts = np.array([s for s, _ in ttf], float)
    rates = np.array([r for _, r in ttf], float)
    t = np.asarray(t, float)
    fine = np.linspace(0.0, float(t.max()), max(2000, int(t.max() * 40)) + 1)
    mid = 0.5 * (fine[1:] + fine[:-1])
    # probability of failure in each fine cell: S_T(a) - S_T(b)
    surv = np.exp(-cumulative_hazard(starts, rates, fine))
    fail = surv[:-1] - surv[1:]
    out = np.exp(-cumulative_hazard(starts, rates, t))
    # sum over cells with mid < t of fail * exp(-lambda (t - mid)), for every t at once:
    # exp(-lambda t) times a running sum of fail * exp(lambda mid), one pass instead of one
    # per t (the terms are positive, so it agrees with the per-t sums to about 1e-13).
    # Where exp(lambda mid) could overflow, the per-t sums.
    if post_hazard * float(fine[-1]) < _MAX_EXPONENT:
        running = np.concatenate([[0.0], np.cumsum(fail * np.exp(post_hazard * mid))])
        cells = np.searchsorted(mid, t, side="left")  # the cells with mid < t
        out += (1 - death_at_failure) * np.exp(-post_hazard * t) * running[cells]
    else:
        for i, ti in enumerate(t):
            before = mid < ti
            out[i] += (1 - death_at_failure) * float(
                np.sum(fail[before] * np.exp(-post_hazard * (ti - mid[before])))
            )
    return np.clip(out, 0.0, 1.0)


def os_pieces(ttf: Pieces, post_hazard: float, death_at_failure: float, horizon: float) -> Pieces:
    """The OS curve of a path as piecewise-constant hazards on a ``STEP_MONTHS`` grid."""
    grid = np.arange(0.0, horizon + STEP_MONTHS, STEP_MONTHS)
    surv = os_survival(ttf, post_hazard, death_at_failure, grid)
    floor = 1e-12
    rates = -np.diff(np.log(np.maximum(surv, floor))) / STEP_MONTHS
    rates = np.maximum(rates, 1e-9)
    return [(float(s), float(r)) for s, r in zip(grid[:-1], rates, strict=True)]


@dataclass(frozen=True)
class PostFailureFit:
    """The fitted post-failure hazards and what they give at the data cut."""

    death_at_failure: float
    hazard_operated: float  # per month, after a failure on the operated path
    hazard_systemic: float  # per month, after a failure on the systemic path
    limit: LimitingCox

    @property
    def os_hr(self) -> float:
        return math.exp(self.limit.log_hr)

    @property
    def median_operated_months(self) -> float:
        return math.log(2) / self.hazard_operated

    @property
    def median_systemic_months(self) -> float:
        return math.log(2) / self.hazard_systemic


def os_design(
    ttf_design: TrialDesign, post: tuple[float, float], death_at_failure: float, cut: float
) -> TrialDesign:
    """The TTF design with each arm's OS hazards (arm 0 operated, arm 1 systemic)."""
    horizon = cut + 1.0
    arms = []
    for arm, hazard in zip(ttf_design.arms, post, strict=True):
        pieces = os_pieces(list(arm.hazards), hazard, death_at_failure, horizon)
        arms.append(Arm(**{**arm.model_dump(), "hazards": pieces}))
    return ttf_design.model_copy(update={"arms": tuple(arms)})


def fit_post_failure(
    ttf_design: TrialDesign,
    cut: float,
    *,
    os_hr: float,
    os_se_log_hr: float,
    death_at_failure: float,
) -> PostFailureFit:
    """Post-failure hazards (operated, systemic) reproducing the OS HR and its SE at ``cut``.

    Outer: the systemic hazard sets how many die by the cut (the SE); inner: the operated
    hazard sets the HR. Post-failure medians: operated between 0.5 and 400 months; systemic
    scanned from 3 to 240 months for a bracket, then refined.
    """
    low, high = math.log(2) / 400.0, math.log(2) / 0.5

    def limit(operated: float, systemic: float) -> LimitingCox:
        return limiting_cox(os_design(ttf_design, (operated, systemic), death_at_failure, cut), cut)

    def operated_for(systemic: float) -> float:
        def excess(operated: float) -> float:
            return limit(operated, systemic).log_hr - math.log(os_hr)

        if excess(low) * excess(high) > 0:
            raise ConvergenceError(
                f"no post-failure hazard after resection gives OS HR {os_hr} (systemic "
                f"hazard {systemic:.4f}/month): try another death_at_failure"
            )
        return float(brentq(excess, low, high, xtol=1e-7))

    def se_excess(systemic: float) -> float | None:
        try:
            return limit(operated_for(systemic), systemic).se_log_hr - os_se_log_hr
        except ConvergenceError:
            return None  # no operated hazard reaches the HR with this systemic one

    # Scan systemic post-failure medians for a bracket where the HR is reachable, then refine.
    medians = [3.0 * 1.4**k for k in range(14)]  # 3 to about 240 months
    values = [(m, se_excess(math.log(2) / m)) for m in medians]
    brackets = [
        (a, b)
        for (a, fa), (b, fb) in zip(values, values[1:], strict=False)
        if fa is not None and fb is not None and fa * fb <= 0
    ]
    if not brackets:
        raise ConvergenceError(
            f"no post-failure survival gives OS HR {os_hr} with SE {os_se_log_hr:.3f} at month "
            f"{cut:.1f} (death_at_failure {death_at_failure}): try another death_at_failure"
        )
    a, b = brackets[0]
    median = float(brentq(lambda m: se_excess(math.log(2) / m), a, b, xtol=1e-4))
    systemic = math.log(2) / median
    operated = operated_for(systemic)
    return PostFailureFit(death_at_failure, operated, systemic, limit(operated, systemic))
