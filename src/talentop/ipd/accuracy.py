"""How well reconstructed patients reproduce what was published, as IPDfromKM reports it.

Liu N, Zhou Y, Lee JJ. IPDfromKM: reconstruct individual patient data from published
Kaplan-Meier survival curves. BMC Med Res Methodol 2021;21:111: the Kaplan-Meier curve of the
reconstructed patients against the digitised survival (root mean squared error, mean and
maximum absolute difference at the clicks), and the reconstructed numbers at risk against the
published ones. Both curves are step functions and a click at a drop may sit on either side of
it (hand clickers click both corners), so each click is compared with the nearer of the
reconstructed curve's values just before and at its time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from talentop.ipd.guyot import Reconstruction
from talentop.reports import RenderedFigure, render
from talentop.stats import KaplanMeier, kaplan_meier
from talentop.stats.results import json_safe

#: A reconstruction worse than this (max absolute survival difference) is flagged.
WARN_MAX_ABS = 0.05


@dataclass(frozen=True)
class Accuracy:
    """Reconstructed vs digitised survival and vs published numbers at risk."""

    rmse: float
    mean_abs: float
    max_abs: float
    at_risk: pd.DataFrame  # time, published, reconstructed, difference
    n_patients: int
    events: int
    events_given: int | None
    km: KaplanMeier

    @property
    def warnings(self) -> list[str]:
        found = []
        if self.max_abs > WARN_MAX_ABS:
            found.append(
                f"the reconstructed curve is up to {self.max_abs:.3f} from the clicks (more "
                f"than {WARN_MAX_ABS}): check the clicks and the numbers at risk"
            )
        off = self.at_risk[self.at_risk["difference"] != 0]
        if not off.empty:
            found.append(
                "reconstructed numbers at risk differ from the published ones at t = "
                + ", ".join(f"{t:g}" for t in off["time"])
            )
        return found

    def to_dict(self) -> dict[str, Any]:
        return {
            "survival_vs_clicks": {
                "rmse": self.rmse,
                "mean_abs": self.mean_abs,
                "max_abs": self.max_abs,
            },  # fmt: skip
            "at_risk": json_safe(self.at_risk),
            "n_patients": self.n_patients,
            "events": self.events,
            "events_given": self.events_given,
            "warnings": self.warnings,
        }


def _left_right(km: KaplanMeier, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The KM curve just before and at each time (1 before the first time)."""
    table_times = km.table["time"].to_numpy()
    survival = np.concatenate([[1.0], km.table["survival"].to_numpy()])
    before = survival[np.searchsorted(table_times, times, side="left")]
    at = survival[np.searchsorted(table_times, times, side="right")]
    return before, at


def accuracy(reconstruction: Reconstruction) -> Accuracy:
    """The accuracy report of a reconstruction."""
    ipd = reconstruction.ipd
    km = kaplan_meier(ipd["time"], ipd["event"])
    clicks = reconstruction.clicks
    before, at = _left_right(km, clicks.time)
    error = np.minimum(np.abs(clicks.survival - before), np.abs(clicks.survival - at))
    published = reconstruction.at_risk
    rebuilt = km.at_risk(published.time).to_numpy()
    table = pd.DataFrame(
        {
            "time": published.time,
            "published": published.n_risk.astype(int),
            "reconstructed": rebuilt.astype(int),
        }
    )
    table["difference"] = table["reconstructed"] - table["published"]
    return Accuracy(
        rmse=float(np.sqrt(np.mean(error**2))),
        mean_abs=float(np.mean(error)),
        max_abs=float(np.max(error)),
        at_risk=table,
        n_patients=len(ipd),
        events=int(ipd["event"].sum()),
        events_given=reconstruction.total_events,
        km=km,
    )


def accuracy_figure(reconstruction: Reconstruction, report: Accuracy, *, name: str,
                    title: str) -> RenderedFigure:  # fmt: skip
    """Digitised clicks over the reconstructed KM curve, with published vs reconstructed
    numbers at risk under it."""
    fig = Figure(figsize=(7.2, 5.2), dpi=110)
    grid = fig.add_gridspec(2, 1, height_ratios=[4.2, 1.0], hspace=0.35)
    ax = fig.add_subplot(grid[0])
    table = report.km.table
    ax.step(np.concatenate([[0.0], table["time"]]), np.concatenate([[1.0], table["survival"]]),
            where="post", color="#0072B2", lw=1.6, label="reconstructed patients (KM)")  # fmt: skip
    clicks = reconstruction.clicks
    ax.plot(clicks.time, clicks.survival, ls="none", marker="o", ms=2.6, color="#D55E00",
            label="digitised clicks")  # fmt: skip
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, float(clicks.time[-1]) * 1.01)
    ax.set_xlabel("Time")
    ax.set_ylabel("Survival")
    ax.set_title(title, loc="left", fontsize=10, fontweight="bold")
    ax.grid(alpha=0.25)
    ax.legend(loc="upper right", frameon=False, fontsize=8)
    ax.text(0.01, 0.03, f"RMSE {report.rmse:.4f}; max |difference| {report.max_abs:.4f}",
            transform=ax.transAxes, fontsize=8)  # fmt: skip
    risk = fig.add_subplot(grid[1], sharex=ax)
    risk.axis("off")
    risk.set_ylim(-0.6, 1.6)
    for row, (label, column) in enumerate((("published", "published"),
                                           ("reconstructed", "reconstructed"))):  # fmt: skip
        y = 1 - row
        risk.text(-0.05, y, label, transform=risk.get_yaxis_transform(), ha="right",
                  va="center", fontsize=8)  # fmt: skip
        for t, count in zip(report.at_risk["time"], report.at_risk[column], strict=True):
            risk.text(t, y, str(int(count)), ha="center", va="center", fontsize=8)
    risk.set_title("Number at risk", loc="left", fontsize=8)
    return render(fig, name, title)
