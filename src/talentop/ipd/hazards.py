"""Fit the simulator's piecewise-exponential hazards to (reconstructed) patient data.

``talentop calibrate`` fits the hazards to two published medians and a hazard ratio; with
patient data (from ``talentop reconstruct``) the whole curve is available. Each arm's hazard
on a piece [c_j, c_j+1) is the maximum-likelihood estimate of a piecewise-exponential model,
events in the piece over the time at risk in it (Friedman, Ann Stat 1982;10:101-113). The
pieces are ready for ``talentop.design.trial.Arm(hazards=...)``.

How well the model matches the curves: per arm, the largest distance between the model's
survival and the Kaplan-Meier curve at the event times, the share of event times at which the
model lies inside the KM 95 % pointwise band, and the median and RMST of both.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from talentop.design.generate import cumulative_hazard, inverse_cumulative_hazard
from talentop.errors import InvalidInput
from talentop.ipd.reanalyse import ArmData
from talentop.stats import kaplan_meier
from talentop.stats.results import json_safe
from talentop.stats.rmst import rmst_one

#: Default number of pieces: cuts at the quantiles of the pooled event times.
DEFAULT_PIECES = 4


@dataclass(frozen=True)
class ArmFit:
    """One arm's fitted hazards and how well they reproduce its KM curve."""

    name: str
    pieces: list[tuple[float, float]]  # (start, hazard per time unit)
    events: list[int]
    exposure: list[float]
    max_abs_difference: float
    inside_band: float
    km_median: float
    model_median: float
    tau: float
    km_rmst: float
    model_rmst: float


@dataclass(frozen=True)
class IPDCalibration:
    """Fitted hazards for every arm, on common cut points."""

    cuts: list[float]
    arms: list[ArmFit]

    def fit_table(self) -> pd.DataFrame:
        """One row per arm: the KM vs model comparison."""
        return pd.DataFrame(
            [{"arm": a.name, "max_abs_difference": a.max_abs_difference,
              "share_inside_km_band": a.inside_band, "km_median": a.km_median,
              "model_median": a.model_median, "tau": a.tau, "km_rmst": a.km_rmst,
              "model_rmst": a.model_rmst} for a in self.arms]
        )  # fmt: skip

    def hazard_table(self) -> pd.DataFrame:
        """One row per piece: each arm's hazard, events and exposure, and the HR (first vs
        second arm) the pieces imply."""
        rows = []
        for j, start in enumerate(self.cuts):
            row: dict[str, Any] = {"start": start}
            for arm in self.arms:
                row[f"hazard_{arm.name}"] = arm.pieces[j][1]
                row[f"events_{arm.name}"] = arm.events[j]
                row[f"exposure_{arm.name}"] = arm.exposure[j]
            if len(self.arms) == 2 and self.arms[1].pieces[j][1] > 0:
                row["hazard_ratio"] = self.arms[0].pieces[j][1] / self.arms[1].pieces[j][1]
            rows.append(row)
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        return json_safe(
            {
                "cuts": self.cuts,
                "arms": [
                    {"name": a.name, "hazards": [list(p) for p in a.pieces]} for a in self.arms
                ],  # fmt: skip
                "pieces": self.hazard_table(),
                "fit": self.fit_table(),
            }
        )


def default_cuts(arms: Sequence[ArmData], pieces: int = DEFAULT_PIECES) -> list[float]:
    """Cuts at the quantiles of the pooled event times, rounded to half units."""
    events = np.concatenate([arm.time[arm.event == 1] for arm in arms])
    if events.size < 2 * pieces:
        return [0.0]
    inner = np.quantile(events, np.arange(1, pieces) / pieces)
    return sorted({0.0, *(float(np.round(q * 2) / 2) for q in inner if q > 0.5)})


def _piece_counts(arm: ArmData, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Events and time at risk per piece (the last piece open-ended)."""
    ends = np.append(starts[1:], np.inf)
    inside = np.clip(arm.time[:, None], starts[None, :], ends[None, :]) - starts[None, :]
    exposure = inside.sum(axis=0)
    piece = np.searchsorted(starts, arm.time, side="right") - 1
    events = np.bincount(piece[arm.event == 1], minlength=starts.size)
    return events, exposure


def _model_rmst(starts: np.ndarray, rates: np.ndarray, tau: float) -> float:
    grid = np.linspace(0.0, tau, 4001)
    return float(np.trapezoid(np.exp(-cumulative_hazard(starts, rates, grid)), grid))


def _arm_fit(arm: ArmData, starts: np.ndarray, tau: float) -> ArmFit:
    events, exposure = _piece_counts(arm, starts)
    if events[-1] == 0:
        raise InvalidInput.field(
            f"arm {arm.name} pieces", starts.tolist(),
            f"cut points leaving events in the last piece (no events after {starts[-1]:g})",
        )  # fmt: skip
    rates = np.divide(events, exposure, out=np.zeros(starts.size), where=exposure > 0)
    km = kaplan_meier(arm.time, arm.event)
    table = km.table[km.table["n_event"] > 0]
    model = np.exp(-cumulative_hazard(starts, rates, table["time"].to_numpy()))
    inside = (model >= table["lower"].fillna(0).to_numpy()) & (
        model <= table["upper"].fillna(1).to_numpy()
    )
    km_rmst_value, _ = rmst_one(arm.time, arm.event.astype(bool), tau)
    return ArmFit(
        name=arm.name,
        pieces=[(float(s), float(r)) for s, r in zip(starts, rates, strict=True)],
        events=[int(e) for e in events],
        exposure=[float(x) for x in exposure],
        max_abs_difference=float(np.max(np.abs(model - table["survival"].to_numpy()))),
        inside_band=float(inside.mean()),
        km_median=float(km.median),
        model_median=float(inverse_cumulative_hazard(starts, rates, np.array([math.log(2)]))[0]),
        tau=tau,
        km_rmst=km_rmst_value,
        model_rmst=_model_rmst(starts, rates, tau),
    )


def fit_hazards(arms: Sequence[ArmData], cuts: Sequence[float] | None = None) -> IPDCalibration:
    """Piecewise-exponential hazards per arm on common cuts (default: event quartiles)."""
    if not arms:
        raise InvalidInput.field("--from-ipd", [], "at least one IPD file")
    cuts = default_cuts(arms) if cuts is None else sorted(float(c) for c in cuts)
    if not cuts or cuts[0] != 0 or len(set(cuts)) != len(cuts) or any(c < 0 for c in cuts):
        raise InvalidInput.field(
            "--pieces", cuts, "distinct cut times starting at 0, e.g. 0,3,6,12"
        )
    tau = float(min(arm.time.max() for arm in arms))
    starts = np.asarray(cuts, float)
    return IPDCalibration(cuts, [_arm_fit(arm, starts, tau) for arm in arms])
