"""Per-path hazards for TTF, and OS built from TTF plus post-failure survival.

TTF: ``talentop.design.calibrate.calibrate_talentop()`` fits arm-B exponential hazards and
operated arm-A two-piece hazards (surgical-risk window, then a lower hazard) to the published
interim (median TTF 20.4 vs 11.8 months, TTF HR 0.60, 83/101 operated), at its stated accrual
and data cut. Arm-A patients not operated follow arm B. Times in months.

OS (``talentop.design.os_model``): OS = TTF + post-failure survival; a failure is a death with
probability ``DEATH_AT_FAILURE`` (SETTING), otherwise the patient lives an Exponential time
after it, with one hazard after a failure on the operated path and one on the systemic path,
both fitted so the large-sample OS HR at the data cut is the published 0.67 and its SE the
published CI width (0.35-1.29). A switch or a resection that delays failure delays death.
"""

from __future__ import annotations

import logging
import os
import pickle
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

log = logging.getLogger("talentop.demo")


@dataclass(frozen=True)
class PiecewiseHazard:
    """Hazard ``rates[i]`` per month on ``[cuts[i-1], cuts[i])`` (``cuts`` strictly increasing)."""

    cuts: tuple[float, ...]  # interior change points, months
    rates: tuple[float, ...]  # len(cuts) + 1 rates, per month

    @classmethod
    def from_pieces(cls, pieces: list[tuple[float, float]]) -> PiecewiseHazard:
        """From the calibration's ``[(start_month, hazard_per_month), ...]`` (first start 0)."""
        return cls(tuple(float(s) for s, _ in pieces[1:]), tuple(float(h) for _, h in pieces))

    def cumulative(self, t: np.ndarray | float) -> np.ndarray:
        """H(t) = integral of the hazard from 0 to t."""
        t = np.asarray(t, float)
        edges = np.concatenate([[0.0], self.cuts, [np.inf]])
        total = np.zeros_like(t)
        for rate, lo, hi in zip(self.rates, edges[:-1], edges[1:], strict=True):
            total = total + rate * np.clip(t - lo, 0.0, hi - lo)
        return total

    def inverse(self, h: np.ndarray | float) -> np.ndarray:
        """The time t with H(t) = h (inversion sampling: t = H^-1(-log U))."""
        h = np.asarray(h, float)
        edges = np.concatenate([[0.0], self.cuts])
        h_edges = self.cumulative(edges)
        index = np.searchsorted(h_edges, h, side="right") - 1
        rates = np.asarray(self.rates)[index]
        return edges[index] + (h - h_edges[index]) / rates

    def median(self) -> float:
        return float(self.inverse(np.log(2.0)))


@dataclass(frozen=True)
class OutcomeModel:
    """Hazards for the treatment paths, the operated fraction and the calibration's setting."""

    ttf_operated: PiecewiseHazard
    ttf_systemic: PiecewiseHazard  # atezo/bev alone (arm B, or arm A not operated)
    post_failure_operated: float  # hazard per month after a failure on the operated path
    post_failure_systemic: float  # ... on the systemic path
    death_at_failure: float  # share of failures that are the death itself
    operated_fraction_arm_a: float  # 83 / 101 in the interim
    clavien_dindo_probs: dict[str, float]  # worst grade after resection ("none" = none)
    accrual_months: float = 36.0  # randomisation accrual assumed by the calibration
    data_cut_months: float = 48.0  # data cut after the first randomisation
    expected: dict[str, float] = field(default_factory=dict)  # calibrated model's values
    calibration: str = ""  # how calibrate_talentop was called


#: Worst Clavien-Dindo grade after resection (grade V is not drawn: a death within 30 days
#: of surgery is recorded as grade V by the runner, about 1% of operated patients under the
#: OS model). Drawn P(>= IIIa) = 0.215, so with grade V about 21.8% (published 21.7%); the
#: report's expected value is computed from these and the OS model
#: (``demo.expected.expected_cd3_pct``).
CLAVIEN_DINDO_PROBS = {
    "none": 0.40,
    "I": 0.185,
    "II": 0.20,
    "IIIa": 0.13,
    "IIIb": 0.045,
    "IVa": 0.025,
    "IVb": 0.015,
}
#: Share of treatment failures that are the death itself (SETTING; the rest live on after
#: failure, OS = TTF + post-failure survival).
DEATH_AT_FAILURE = 0.10


#: The calibration's settings the demo falls back to when the default fit does not converge:
#: 36 months of accrual, data cut 48 months after the first randomisation, arm-B OS median
#: 30 months (the published P and OS CI width would need an earlier cut; see the report).
FALLBACK_ASSUMPTIONS = {
    "accrual_months": 36.0,
    "data_cut_months": 48.0,
    "os_control_median_months": 30.0,
}


@lru_cache(maxsize=1)
def _post_failure(death_at_failure: float = DEATH_AT_FAILURE) -> Any:
    """The post-failure hazards fitted to the published OS HR and CI (design.os_model)."""
    from talentop.design.os_model import fit_post_failure

    cal, _ = _calibration()
    return fit_post_failure(
        cal.design("ttf"),
        cal.data_cut_months,
        os_hr=cal.targets.os_hr,
        os_se_log_hr=cal.targets.os_se_log_hr,
        death_at_failure=death_at_failure,
    )


@lru_cache(maxsize=1)
def _calibration() -> tuple[Any, str]:
    from talentop.design.calibrate import CalibrationAssumptions, calibrate_talentop
    from talentop.errors import ConvergenceError

    # 200 Monte Carlo replicates: the fit itself is analytic; the MC only checks it
    try:
        return calibrate_talentop(replicates=200), "calibrate_talentop() defaults"
    except ConvergenceError as error:
        assumptions = CalibrationAssumptions(**FALLBACK_ASSUMPTIONS)
        note = f"calibrate_talentop(assumptions={FALLBACK_ASSUMPTIONS}) (defaults: {error})"
        return calibrate_talentop(assumptions=assumptions, replicates=200), note


#: The child computing ``outcome_model()`` (``prefetch_outcome_model``): [(pid, pipe fd)].
_PREFETCHED: list[tuple[int, int]] = []
#: Its result, pickled: every later ``outcome_model()`` of the process unpickles a fresh
#: copy (the dynamic-reassessment run calls it again; the in-process caches of
#: ``_calibration`` are empty when the child calibrated).
_RECEIVED: list[bytes] = []


def prefetch_outcome_model() -> None:
    """Start computing ``outcome_model()`` in a forked child; the next ``outcome_model()``
    takes its result. For ``talentop demo``: the calibration (about 1 s of nested root
    finding) then runs on the other core while the command imports the services, pandas
    and matplotlib and creates the database. A no-op without ``os.fork`` (Windows) or when
    a child is already running.

    The child only computes, writes the pickled model to a pipe and leaves with
    ``os._exit`` (nothing of the caller's runs there). If it fails, ``outcome_model()``
    computes the model in-process: the same model either way (the same code on the same
    numbers; tests/demo/test_outcomes_prefetch.py).
    """
    if _PREFETCHED or _RECEIVED or not hasattr(os, "fork"):
        return
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        code = 1
        try:
            os.close(read)
            data = pickle.dumps(_computed_model(), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write, "wb") as pipe:
                pipe.write(data)
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    _PREFETCHED.append((pid, read))


def _prefetched() -> OutcomeModel | None:
    """The prefetching child's model (waiting for it the first time), or None if there is
    none or it failed."""
    if _PREFETCHED:
        pid, read = _PREFETCHED.pop()
        with os.fdopen(read, "rb") as pipe:
            data = pipe.read()
        status = os.waitpid(pid, 0)[1]
        if os.waitstatus_to_exitcode(status) != 0 or not data:
            log.warning(
                "the outcome model's child %s failed (status %s): computed here", pid, status
            )
            return None
        _RECEIVED.append(data)
    if not _RECEIVED:
        return None
    return pickle.loads(_RECEIVED[0])  # noqa: S301 - written by our own child, through a pipe


def outcome_model() -> OutcomeModel:
    """The model the demo uses: ``calibrate_talentop()`` TTF hazards and assumptions, and the
    post-failure hazards fitted to the published OS HR and CI (module docstring); the
    prefetched one if ``prefetch_outcome_model`` started it."""
    return _prefetched() or _computed_model()


def _computed_model() -> OutcomeModel:
    cal, note = _calibration()
    post = _post_failure()
    fit = cal.fit.set_index("quantity")["analytic"]
    return OutcomeModel(
        ttf_operated=PiecewiseHazard.from_pieces(cal.ttf_hazards["A"]),
        ttf_systemic=PiecewiseHazard.from_pieces(cal.ttf_hazards["B"]),
        post_failure_operated=post.hazard_operated,
        post_failure_systemic=post.hazard_systemic,
        death_at_failure=post.death_at_failure,
        operated_fraction_arm_a=float(cal.operated_fraction),
        clavien_dindo_probs=dict(CLAVIEN_DINDO_PROBS),
        accrual_months=float(cal.assumptions.accrual_months),
        data_cut_months=float(cal.assumptions.data_cut_months),  # fitted or given
        expected={
            key: float(fit[quantity])
            for key, quantity in (
                ("ttf_median_a", "TTF median A (months)"),
                ("ttf_median_b", "TTF median B (months)"),
                ("ttf_hr", "TTF hazard ratio"),
                ("ttf_events", "TTF events at the data cut"),
                ("ttf_z", "TTF expected log-rank z"),
            )
            if quantity in fit.index
        }
        | {
            "os_hr": post.os_hr,
            "os_se_log_hr": post.limit.se_log_hr,
            "os_deaths": post.limit.events,
            "operated_fraction": float(cal.operated_fraction),
        },
        calibration=f"{note}; OS: design.os_model.fit_post_failure(death_at_failure="
        f"{post.death_at_failure})",
    )


def os_months(model: OutcomeModel, ttf_months: float, path: str, dies: bool, unit: float) -> float:
    """OS on a path: the failure itself (``dies``), or failure + post-failure survival
    (``unit`` an Exponential(1) draw scaled by the path's post-failure hazard)."""
    if dies:
        return float(ttf_months)
    hazard = model.post_failure_systemic if path == "systemic" else model.post_failure_operated
    return float(ttf_months + unit / hazard)


def switched_time(
    before: PiecewiseHazard, after: PiecewiseHazard, switch_at: np.ndarray, target_h: np.ndarray
) -> np.ndarray:
    """Event time when the hazard changes from ``before`` to ``after`` (restarted) at ``switch_at``.

    The same exponential draw ``target_h`` as the unswitched path, so a patient's two
    potential outcomes are coupled (common random numbers): switching changes only what
    happens after the switch.
    """
    switch_at = np.asarray(switch_at, float)
    target_h = np.asarray(target_h, float)
    h_switch = before.cumulative(switch_at)
    plain = before.inverse(target_h)
    later = switch_at + after.inverse(np.maximum(target_h - h_switch, 0.0))
    return np.where(target_h <= h_switch, plain, later)
