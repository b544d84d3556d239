"""Shared checks for the IPD tests: compare reconstructed patients with the known truth."""

from __future__ import annotations

import numpy as np
import pandas as pd

from talentop.stats import cox, kaplan_meier, rmst


def arm_rows(data: pd.DataFrame, arm: str) -> pd.DataFrame:
    return data[data["arm"] == arm]


def median_within_one_step(
    true: pd.DataFrame,
    rebuilt: pd.DataFrame,
    *,
    noise: float = 0.0,
    slack: float = 0.0,
    clicks=None,
) -> tuple[float, float, bool]:
    """The rebuilt median is "within one step" of the true one (the issue's quality bar).

    One step is one event at the median: the rebuilt median must lie where the true curve
    is within one event's drop (S / n at risk there) of 1/2, widened by ``noise``, the input's
    vertical resolution (the click noise, or a pixel of the image). A rebuilt curve can be a
    rounding of an event away from the clicks, which near 1/2 moves its median along the
    flat of the true curve; more than one event away is a wrong reconstruction. The ends
    widen by ``slack`` in time (an image's line width: steps closer than it merge) and, with
    hand ``clicks`` (their times), to the clicks around them (a drop between two clicks
    registers at the later one).
    """
    km_true = kaplan_meier(true["time"], true["event"])
    km_rebuilt = kaplan_meier(rebuilt["time"], rebuilt["event"])
    table = km_true.table
    at_median = table[table["time"] <= km_true.median].iloc[-1]
    step = float(at_median["survival"]) / float(at_median["n_risk"]) + noise
    survival = table["survival"].to_numpy()
    times = table["time"].to_numpy()
    low = times[np.flatnonzero(survival <= 0.5 + step)[0]]
    below = np.flatnonzero(survival < 0.5 - step)
    high = times[below[0]] if below.size else np.inf
    low, high = low - slack, high + slack
    if clicks is not None:
        grid = np.sort(np.asarray(clicks, float))
        low = grid[max(int(np.searchsorted(grid, low, side="right")) - 1, 0)]
        after = np.flatnonzero(grid >= high)
        high = grid[after[0]] if after.size else np.inf
    return km_true.median, km_rebuilt.median, bool(low <= km_rebuilt.median <= high)


def survival_gap(true: pd.DataFrame, rebuilt: pd.DataFrame, times, *, clicks=None) -> float:
    """Largest |S_true - S_rebuilt| at ``times`` where both curves are defined.

    With hand ``clicks`` (their times), S_true is taken anywhere between the clicks around
    each time: a drop between two clicks can have happened anywhere between them, so the
    clicks cannot tell on which side of an at-risk time it fell.
    """
    km_true = kaplan_meier(true["time"], true["event"])
    rebuilt_at = kaplan_meier(rebuilt["time"], rebuilt["event"]).survival_at(
        np.asarray(times, float)
    )
    gaps = []
    for t, value in zip(np.asarray(times, float), np.atleast_1d(rebuilt_at), strict=True):
        window = [t]
        if clicks is not None:
            grid = np.sort(np.asarray(clicks, float))
            k = int(np.searchsorted(grid, t))
            before = grid[k - 1] if k > 0 else t
            after = grid[k] if k < grid.size else t
            window = np.linspace(min(before, t), max(after, t), 200)
        candidates = km_true.survival_at(np.asarray(window, float))
        candidates = candidates[np.isfinite(candidates)]
        if np.isfinite(value) and candidates.size:
            gaps.append(float(np.min(np.abs(candidates - value))))
    return max(gaps)


def effects(data: pd.DataFrame, experimental: str, tau: float) -> tuple[float, float]:
    """Cox HR (experimental vs the other arm) and RMST difference up to tau."""
    coded = data.assign(x=(data["arm"] == experimental).astype(int))
    hr = float(cox(coded, duration="time", event="event", covariates=["x"]).hr["x"])
    difference = rmst(coded["time"], coded["event"], tau=tau, group=coded["x"], reference=0)
    return hr, float(difference.difference)
