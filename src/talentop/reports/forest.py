"""Forest plot of subgroup hazard ratios (log scale), with n/events per arm and interaction p.

Layout as in the CONSORT 2010 / ICH E9 advice on subgroups: every level shown with its
confidence interval, the overall estimate on top, and the treatment-by-subgroup interaction
test (not the per-level p values) reported for each factor. Each square's area is
proportional to the estimate's weight, 1 / var(log HR) with the variance from the CI
((ln upper - ln lower) / (2 z))^2 (the meta-analysis convention, e.g. Cochrane Handbook
10.3 and the forest plots of NEJM/Lancet subgroup figures), so a level with few events
does not look as important as the overall estimate. A level whose HR is not estimable
says why (the ``hr_reason`` column, when the frame has one).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.ticker import NullFormatter, NullLocator

from talentop.errors import InvalidInput
from talentop.reports._render import PALETTE, RenderedFigure, new_figure, render, styled
from talentop.reports.numbers import fmt_ci, not_estimable
from talentop.stats.distributions import norm

#: Marker sizes (points, the side of the square): the heaviest estimate gets the largest.
MARKER_MAX = 11.0
MARKER_MIN = 3.0

#: Columns the forest plot reads; one row per subgroup level (``subgroup`` "Overall" first).
FOREST_COLUMNS = (
    "subgroup",
    "level",
    "n_a",
    "events_a",
    "n_b",
    "events_b",
    "hr",
    "ci_lower",
    "ci_upper",
    "p_interaction",
)


def _fmt_p(p: float | None) -> str:
    if p is None or not np.isfinite(p):
        return ""
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def forest_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Check the columns and return the rows in plotting order (top to bottom), with the
    optional ``hr_reason`` (why an HR is missing) and the inverse-variance ``weight``."""
    missing = [c for c in FOREST_COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidInput.field("forest columns", list(frame.columns), f"also {missing}")
    rows = frame.loc[:, list(FOREST_COLUMNS)].reset_index(drop=True)
    reasons = frame["hr_reason"] if "hr_reason" in frame.columns else pd.Series(None, frame.index)
    rows["hr_reason"] = reasons.reset_index(drop=True).where(lambda r: r.notna(), None)
    rows["weight"] = [weight(lo, hi) for lo, hi in zip(rows.ci_lower, rows.ci_upper, strict=True)]
    return rows


def weight(lower: float, upper: float, level: float = 0.95) -> float:
    """Inverse variance of log HR from its CI; NaN when the CI is not finite."""
    try:
        lo, hi = float(lower), float(upper)
    except (TypeError, ValueError):
        return float("nan")
    if not (np.isfinite(lo) and np.isfinite(hi) and 0 < lo < hi):
        return float("nan")
    se = (math.log(hi) - math.log(lo)) / (2 * norm.ppf(0.5 + level / 2))
    return 1.0 / se**2


def marker_size(row_weight: float, heaviest: float) -> float:
    """Side of the square in points: area proportional to the weight."""
    if not (np.isfinite(row_weight) and heaviest > 0):
        return MARKER_MIN
    return max(MARKER_MIN, MARKER_MAX * math.sqrt(row_weight / heaviest))


@styled
def forest_figure(
    frame: pd.DataFrame,
    *,
    name: str = "forest",
    title: str = "Subgroup analysis of time to treatment failure",
    arm_labels: tuple[str, str] = ("A", "B"),
) -> RenderedFigure:
    """Draw the forest plot: one line per level, HR (95% CI) on a log axis, text columns."""
    rows = forest_rows(frame)
    if rows.empty:
        raise InvalidInput.field("subgroups", 0, "at least one subgroup row")
    # One header line per factor, then its levels, so the eye groups them.
    # (label, row) for a level; (factor name, interaction text) for a factor's header line
    lines: list[tuple[str, pd.Series | str]] = []
    for subgroup, block in rows.groupby("subgroup", sort=False):
        if len(block) == 1 and block.iloc[0]["level"] in ("", subgroup):
            lines.append((str(subgroup), block.iloc[0]))
            continue
        p = block["p_interaction"].dropna()
        interaction = f"interaction P = {_fmt_p(float(p.iloc[0]))}" if len(p) else ""
        lines.append((str(subgroup), interaction))
        lines.extend(
            (f"    {level}", row)
            for level, row in zip(block["level"], (r for _, r in block.iterrows()), strict=True)
        )

    height = 1.1 + 0.27 * len(lines)
    fig = new_figure(9.6, height)
    grid = fig.add_gridspec(1, 3, width_ratios=[2.8, 2.4, 3.6], wspace=0.05)
    ax_text, ax_plot, ax_num = (fig.add_subplot(grid[i]) for i in range(3))
    n_lines = len(lines)
    for ax in (ax_text, ax_num):
        ax.set_ylim(-0.5, n_lines + 0.3)
        ax.axis("off")
    ax_plot.set_ylim(-0.5, n_lines + 0.3)
    ax_plot.spines["left"].set_visible(False)
    ax_plot.set_yticks([])

    a, b = arm_labels
    ax_text.text(0, n_lines, "Subgroup", fontweight="bold", va="center")
    ax_num.text(0.04, n_lines, f"{a}\nevents/n", fontweight="bold", va="center")
    ax_num.text(0.34, n_lines, f"{b}\nevents/n", fontweight="bold", va="center")
    ax_num.text(0.64, n_lines, "HR (95% CI)", fontweight="bold", va="center")
    lows, highs = [], []
    heaviest = float(np.nanmax(rows["weight"])) if rows["weight"].notna().any() else 0.0
    for i, (label, row) in enumerate(lines):
        y = n_lines - 1 - i
        bold = isinstance(row, str) or label == "Overall"
        ax_text.text(0, y, label, va="center", fontweight="bold" if bold else "normal")
        if isinstance(row, str):
            ax_num.text(0.64, y, row, va="center", style="italic", color="#444444")
            continue
        ax_num.text(0.04, y, f"{int(row.events_a)}/{int(row.n_a)}", va="center")
        ax_num.text(0.34, y, f"{int(row.events_b)}/{int(row.n_b)}", va="center")
        hr, lo, hi = float(row.hr), float(row.ci_lower), float(row.ci_upper)
        if not all(np.isfinite([hr, lo, hi])) or hr <= 0:
            reason = row.hr_reason if isinstance(row.hr_reason, str) else None
            ax_num.text(0.64, y, not_estimable(reason), va="center", color="#555555", fontsize=7.5)
            continue
        ax_num.text(0.64, y, fmt_ci(hr, lo, hi), va="center")
        colour = "black" if label == "Overall" else PALETTE[0]
        marker = "D" if label == "Overall" else "s"
        ax_plot.plot([lo, hi], [y, y], color=colour, lw=1.3)
        ax_plot.plot(
            [hr], [y], marker=marker, color=colour, ls="none",
            ms=marker_size(float(row.weight), heaviest),
        )  # fmt: skip
        lows.append(lo)
        highs.append(hi)
    low = min([0.25, *lows]) if lows else 0.25
    high = max([2.0, *highs]) if highs else 2.0
    low, high = max(low, 0.02), min(high, 50.0)
    ax_plot.set_xscale("log")
    ax_plot.xaxis.set_minor_locator(NullLocator())
    ax_plot.xaxis.set_minor_formatter(NullFormatter())
    ax_plot.set_xlim(low * 0.9, high * 1.1)
    ticks = [t for t in (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 10, 25) if low * 0.9 <= t <= high * 1.1]
    ax_plot.set_xticks(ticks)
    ax_plot.set_xticklabels([f"{t:g}" for t in ticks])
    ax_plot.axvline(1.0, color="grey", lw=0.8, ls="--")
    ax_plot.set_xlabel(f"Hazard ratio\n\u2190 favours {a}    favours {b} \u2192", fontsize=8.5)
    if math.isfinite(height):
        fig.suptitle(title, x=0.02, ha="left", fontsize=11, fontweight="bold")
    return render(fig, name, title)
