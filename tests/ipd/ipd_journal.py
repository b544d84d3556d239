"""Known truth for the IPD tests: two simulated arms and their KM figure drawn as a journal would.

``simulate_arms`` draws a two-arm trial (exponential times, HR 0.7, uniform accrual, an
administrative cut and random dropout); ``draw_journal_figure`` draws its Kaplan-Meier figure
at 1000 x 700 px the way journals print them: two colours, censoring ticks, dashed grey
gridlines, a legend inside the plot, a title, axis labels and a numbers-at-risk table under
the plot. Run as a script it writes the README tour's example into ``examples/ipd/``:

    python tests/ipd/ipd_journal.py examples/ipd
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg", force=False)

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from talentop.stats import cox, kaplan_meier  # noqa: E402

ARMS = ("Resection", "Systemic")
COLOURS = ("#1f77b4", "#d62728")  # blue and red, matplotlib's first and fourth
X_MAX = 36.0
TICK_MONTHS = 6.0
EXAMPLE_SEED = 2024


def simulate_arms(
    seed: int,
    *,
    n_per_arm: int = 200,
    hazard_ratio: float = 0.7,
    control_median_months: float = 12.0,
    accrual_months: float = 24.0,
    analysis_month: float = 36.0,
    dropout_per_month: float = 0.01,
) -> pd.DataFrame:
    """Patient rows (arm, time, event): arm ARMS[0] has hazard ratio ``hazard_ratio`` vs ARMS[1]."""
    rng = np.random.default_rng(seed)
    control = np.log(2) / control_median_months
    frames = []
    for arm, rate in ((ARMS[0], control * hazard_ratio), (ARMS[1], control)):
        event_time = rng.exponential(1 / rate, n_per_arm)
        entry = rng.uniform(0, accrual_months, n_per_arm)
        dropout = rng.exponential(1 / dropout_per_month, n_per_arm)
        censor = np.minimum(analysis_month - entry, dropout)
        frames.append(
            pd.DataFrame(
                {
                    "arm": arm,
                    "time": np.minimum(event_time, censor),
                    "event": (event_time <= censor).astype(int),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def at_risk_table(data: pd.DataFrame, times: np.ndarray | None = None) -> pd.DataFrame:
    """Numbers at risk per arm at the tick times, the wide table a journal prints."""
    if times is None:
        times = np.arange(0.0, X_MAX + 1e-9, TICK_MONTHS)
    table = {"time": times}
    for arm in ARMS:
        rows = data[data["arm"] == arm]
        fit = kaplan_meier(rows["time"], rows["event"])
        table[arm] = fit.at_risk(times).to_numpy()
    return pd.DataFrame(table)


def draw_journal_figure(
    data: pd.DataFrame,
    path: Path,
    *,
    colours: tuple[str, str] = COLOURS,
    styles: tuple[str, str] = ("-", "-"),
    legend_loc: str = "upper right",
    full_frame: bool = True,
    hide_axes: bool = False,
    jpeg_quality: int | None = None,
) -> pd.DataFrame:
    """Draw the KM figure of ``data`` at 1000 x 700 px into ``path``; return the at-risk table.

    ``table.attrs["pixels"]`` holds the image pixels (column, row) of the data points (0, 0)
    and (X_MAX, 1), for calibration points when ``hide_axes`` draws no axes at all.
    """
    table = at_risk_table(data)
    fig = Figure(figsize=(10, 7), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.13, 0.34, 0.83, 0.58))
    for index, arm in enumerate(ARMS):
        rows = data[data["arm"] == arm]
        fit = kaplan_meier(rows["time"], rows["event"])
        steps = fit.table
        xs = np.concatenate([[0.0], steps["time"].to_numpy()])
        ys = np.concatenate([[1.0], steps["survival"].to_numpy()])
        ax.step(
            xs,
            ys,
            where="post",
            color=colours[index],
            ls=styles[index],
            lw=2.0,
            label=f"{arm} (n={len(rows)})",
            clip_on=False,
        )
        censored = steps[steps["n_censor"] > 0]
        ax.plot(
            censored["time"],
            censored["survival"],
            ls="none",
            marker="|",
            ms=9,
            mew=1.4,
            color=colours[index],
            clip_on=False,
        )
    ax.set_xlim(0, X_MAX)
    ax.set_ylim(0, 1)
    ax.set_xticks(table["time"])
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.grid(True, color="#b0b0b0", ls="--", lw=0.7)
    ax.set_axisbelow(True)
    if not full_frame:
        ax.spines[["top", "right"]].set_visible(False)
    ax.set_xlabel("Months since randomisation")
    ax.set_ylabel("Overall survival (probability)")
    ax.set_title("Overall survival by arm", loc="left", fontweight="bold")
    ax.legend(loc=legend_loc, frameon=True)
    coded = data.assign(first_arm=(data["arm"] == ARMS[0]).astype(int))
    fit = cox(coded, duration="time", event="event", covariates=["first_arm"])
    hr, low, high = (float(v["first_arm"]) for v in (fit.hr, fit.ci_lower, fit.ci_upper))
    ax.text(0.02, 0.05, f"HR {hr:.2f} (95% CI {low:.2f}-{high:.2f})", transform=ax.transAxes,
            fontsize=10)  # fmt: skip
    if hide_axes:
        ax.axis("off")
    risk = fig.add_axes((0.13, 0.04, 0.83, 0.14), sharex=ax)
    risk.axis("off")
    risk.set_ylim(-0.5, 1.5)
    risk.text(0.0, 1.9, "Number at risk", transform=risk.get_yaxis_transform(), fontsize=10)
    for row, arm in enumerate(ARMS):
        y = 1 - row
        risk.text(-0.02, y, arm, transform=risk.get_yaxis_transform(), ha="right",
                  va="center", color=colours[row], fontsize=10)  # fmt: skip
        for t, count in zip(table["time"], table[arm], strict=True):
            risk.text(t, y, str(int(count)), ha="center", va="center", fontsize=10)
    fig.canvas.draw()  # fixes the transforms (the figure is not resized on saving)
    height = fig.bbox.height
    table.attrs["pixels"] = {
        point: (float(x), float(height - y))
        for point, (x, y) in zip(((0.0, 0.0), (X_MAX, 1.0)),
                                 ax.transData.transform([(0.0, 0.0), (X_MAX, 1.0)]), strict=True)
    }  # fmt: skip
    path = Path(path)
    if jpeg_quality is None:
        fig.savefig(path, dpi=100, facecolor="white")
    else:
        fig.savefig(path, dpi=100, facecolor="white", pil_kwargs={"quality": jpeg_quality})
    return table


def write_example(directory: Path, seed: int = EXAMPLE_SEED) -> None:
    """The README tour's inputs: the figure, its at-risk table, and the true data behind it."""
    directory.mkdir(parents=True, exist_ok=True)
    data = simulate_arms(seed)
    table = draw_journal_figure(data, directory / "km_figure.png")
    table.to_csv(directory / "at_risk.csv", index=False)
    data.round(6).to_csv(directory / "true_ipd.csv", index=False)


if __name__ == "__main__":
    write_example(Path(sys.argv[1] if len(sys.argv) > 1 else "examples/ipd"))
