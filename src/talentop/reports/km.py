"""Kaplan-Meier figure with the numbers-at-risk table under the time axis.

Layout follows the reporting advice of Pocock, Clayton & Altman (Lancet 2002;359:1686-9):
numbers at risk under the axis, censoring marks, and a time axis that covers the whole
follow-up (to the first tick at or after the longest follow-up, never cut before it).
Landmark survival (default 12 and 24 months) with its 95% CI is computed per arm
(``KMFigure.landmarks``) and marked on the curves; ``ci_band`` shades the pointwise band.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg

from talentop.errors import InvalidInput
from talentop.reports._render import PALETTE, RenderedFigure, new_figure, render, styled


@dataclass(frozen=True)
class ArmCurve:
    """One arm's data for a KM figure: its label, the times (months) and events (1 = event)."""

    label: str
    time: np.ndarray
    event: np.ndarray


@dataclass(frozen=True)
class KMFigure:
    """A rendered KM figure plus the numbers it shows (for tests and the HTML table)."""

    figure: RenderedFigure
    at_risk: pd.DataFrame  # index: arm label; columns: tick times (months)
    medians: dict[str, float | None]
    #: Figure-pixel boxes (x0, y0, x1, y1) of the "axes" (plotting area) and the "legend".
    layout: dict[str, tuple[float, float, float, float]] | None = None
    #: One row per arm and landmark: arm, time, n_risk, survival, lower, upper (NaN when
    #: the landmark lies beyond the arm's follow-up).
    landmarks: pd.DataFrame | None = None
    x_max: float = 0.0  # right end of the time axis


def _survival_steps(km: Any, time: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Step-function vertices (x, S(x)) at 0 and every distinct observed time."""
    grid = np.concatenate([[0.0], np.unique(time)])
    surv = np.array([float(km.survival_at(float(t))) for t in grid])
    return grid, surv


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None


@styled
def km_figure(
    arms: Sequence[ArmCurve],
    *,
    name: str,
    title: str,
    y_label: str,
    x_label: str = "Months since randomisation",
    tick_step_months: float = 3.0,
    annotation: str | None = None,
    conf_type: str = "log",
    fitted: Mapping[str, Any] | None = None,
    landmarks: Sequence[float] = (12.0, 24.0),
    ci_band: bool = False,
) -> KMFigure:
    """Draw per-arm KM curves with censor ticks, median lines and a numbers-at-risk table.

    ``fitted`` may pass already fitted ``talentop.stats.kaplan_meier`` objects by label;
    otherwise each arm is fitted here. The at-risk row of each arm is exactly
    ``kaplan_meier(time, event).at_risk(ticks)``.
    """
    from talentop.stats import kaplan_meier

    if not arms:
        raise InvalidInput.field("arms", [], "at least one arm to draw")
    fits = {}
    for arm in arms:
        if len(arm.time) == 0:
            raise InvalidInput.field(f"arms[{arm.label}].time", [], "at least one patient")
        fits[arm.label] = (fitted or {}).get(arm.label) or kaplan_meier(
            np.asarray(arm.time, float), np.asarray(arm.event, int), conf_type=conf_type
        )
    t_max = max(float(np.max(arm.time)) for arm in arms)
    # the axis ends at the first tick at or after the longest follow-up: nothing is cut off
    x_max = tick_step_months * max(1, int(np.ceil(t_max / tick_step_months - 1e-9)))
    ticks = np.arange(0.0, x_max + 1e-9, tick_step_months)
    at_risk = pd.DataFrame(
        {label: np.asarray(fit.at_risk(ticks), int) for label, fit in fits.items()},
        index=[float(t) for t in ticks],
    ).T
    medians = {label: _finite(fit.median) for label, fit in fits.items()}
    marks = pd.concat(
        [fit.summary_at(list(landmarks)).assign(arm=label) for label, fit in fits.items()],
        ignore_index=True,
    )[["arm", "time", "n_risk", "survival", "lower", "upper"]]

    fig = new_figure(7.2, 5.0)
    grid = fig.add_gridspec(2, 1, height_ratios=[4.2, 0.35 + 0.28 * len(arms)], hspace=0.32)
    ax = fig.add_subplot(grid[0])
    for index, arm in enumerate(arms):
        colour = PALETTE[index % len(PALETTE)]
        fit = fits[arm.label]
        xs, ys = _survival_steps(fit, np.asarray(arm.time, float))
        median = medians[arm.label]
        median_text = f"{median:.1f}" if median is not None else "NR"
        ax.step(
            xs, ys, where="post", color=colour, lw=1.8, label=f"{arm.label} (median {median_text})"
        )
        if ci_band:
            band = fit.table
            ax.fill_between(
                np.concatenate([[0.0], band["time"].to_numpy()]),
                np.concatenate([[1.0], band["lower"].fillna(0).to_numpy()]),
                np.concatenate([[1.0], band["upper"].fillna(0).to_numpy()]),
                step="post",
                color=colour,
                alpha=0.15,
                lw=0,
            )
        own = marks[(marks.arm == arm.label) & marks.survival.notna()]
        ax.plot(own["time"], own["survival"], ls="none", marker="o", ms=3.5, color=colour)
        censored = np.asarray(arm.time, float)[np.asarray(arm.event, int) == 0]
        if censored.size:
            ax.plot(
                censored,
                [float(fit.survival_at(float(t))) for t in censored],
                ls="none",
                marker="|",
                ms=7,
                mew=1.2,
                color=colour,
            )
        if median is not None:
            # Dotted guide from the 50% line down to the median, the classic reading aid.
            ax.plot([0, median], [0.5, 0.5], ls=":", lw=0.9, color="grey")
            ax.plot([median, median], [0, 0.5], ls=":", lw=0.9, color=colour)
    for landmark in landmarks:
        if landmark <= x_max:
            ax.axvline(landmark, color="#999999", lw=0.6, ls=(0, (2, 3)), zorder=0)
    ax.set_xlim(0, x_max)
    ax.set_ylim(0, 1.02)
    ax.set_xticks(ticks)
    ax.set_ylabel(y_label)
    ax.set_xlabel(x_label)
    # Legend between the title and the plotting area: never on top of a curve, whatever
    # their shape (loc="best" does not see step lines reliably, and curves reach y = 1).
    ax.set_title(title, loc="left", fontsize=11, fontweight="bold", pad=22)
    ax.grid(axis="y", alpha=0.25)
    legend = ax.legend(
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        ncol=len(arms),
        frameon=False,
        borderaxespad=0.2,
        handlelength=1.8,
        fontsize=9,
    )
    if annotation:
        ax.text(
            0.02,
            0.04,
            annotation,
            transform=ax.transAxes,
            fontsize=8.5,
            va="bottom",
            ha="left",
            bbox={"fc": "white", "ec": "#bbbbbb", "boxstyle": "round"},
        )

    table_ax = fig.add_subplot(grid[1], sharex=ax)
    table_ax.set_ylim(-0.5, len(arms) - 0.5)
    table_ax.axis("off")
    table_ax.set_title("Number at risk", loc="left", fontsize=8.5, pad=2)
    for row, arm in enumerate(arms):
        y = len(arms) - 1 - row
        colour = PALETTE[row % len(PALETTE)]
        table_ax.text(
            -0.045,
            y,
            arm.label,
            transform=table_ax.get_yaxis_transform(),
            ha="right",
            va="center",
            color=colour,
            fontsize=8.5,
            fontweight="bold",
        )
        for tick, count in zip(ticks, at_risk.loc[arm.label], strict=True):
            table_ax.text(tick, y, str(int(count)), ha="center", va="center", fontsize=8.5)
    renderer = FigureCanvasAgg(fig).get_renderer()
    layout = {
        key: tuple(float(v) for v in artist.get_window_extent(renderer).extents)
        for key, artist in (("axes", ax), ("legend", legend))
    }
    return KMFigure(render(fig, name, title), at_risk, medians, layout, marks, x_max)
