"""Per-arm piecewise-exponential hazards for TTF and OS, calibrated to the TALENTOP interim.

Targets (ESMO 2025 interim, seed article): median TTF 20.4 (A) vs 11.8 (B) months, TTF
HR 0.60; OS HR 0.67, immature; curves cross early (surgical risk first, gain later).
The hazards below were fitted by hand to those targets (see ``tests/demo``, which checks
the resulting medians by simulation); swap :func:`outcome_model` for the design module's
calibration when it offers one. Times are in months.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PiecewiseHazard:
    """Hazard ``rates[i]`` per month on ``[cuts[i-1], cuts[i])`` (``cuts`` strictly increasing)."""

    cuts: tuple[float, ...]  # interior change points, months
    rates: tuple[float, ...]  # len(cuts) + 1 rates, per month

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
    """Hazards for the three treatment paths and the probabilities that shape the cohort."""

    ttf_operated: PiecewiseHazard
    ttf_systemic: PiecewiseHazard  # atezo/bev alone (arm B, or arm A not operated)
    os_operated: PiecewiseHazard
    os_systemic: PiecewiseHazard
    operated_fraction_arm_a: float  # 83 / 101 in the interim
    clavien_dindo_probs: dict[str, float]  # worst grade after resection ("none" = none)


def outcome_model() -> OutcomeModel:
    """The model the demo uses (hand calibration; one place to switch)."""
    return OutcomeModel(
        # Failure other than death (death is added by min(TTF, OS)): early surgical hazard
        # (first 2 months) above systemic, then well below it. Total B hazard ln2/11.8.
        ttf_operated=PiecewiseHazard(cuts=(2.0,), rates=(0.055, 0.012)),
        ttf_systemic=PiecewiseHazard(cuts=(), rates=(np.log(2) / 11.8 - np.log(2) / 36.0,)),
        os_operated=PiecewiseHazard(cuts=(2.0,), rates=(0.03, 0.0115)),
        os_systemic=PiecewiseHazard(cuts=(), rates=(np.log(2) / 36.0,)),
        operated_fraction_arm_a=83 / 101,
        clavien_dindo_probs={
            "none": 0.40,
            "I": 0.18,
            "II": 0.20,
            "IIIa": 0.12,
            "IIIb": 0.05,
            "IVa": 0.03,
            "IVb": 0.01,
            "V": 0.01,
        },
    )


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
