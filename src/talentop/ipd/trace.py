"""Follow one step curve through a layer of ink, and read its steps to the sub-pixel.

A KM curve is a non-increasing step function, so in image rows (which grow downwards) its
path is non-decreasing from left to right. The path is the one that collects the most ink of
the curve's colour under a band as thick as the line, among all non-decreasing paths, with a
small price for every jump (dynamic programming over columns, O(width x height)). Such a
path cannot climb back, so it ignores what sits off the curve: censoring ticks (they stick
out on both sides and the curve goes on at the same level), dotted median lines, legend line
samples and text. Ink of the other curves counts half, so a curve hidden under another one
where they overlap is followed through the overlap.

The steps are then measured, not just taken from the path: each level is the centroid row of
the ink along its flat run (excluding the ends and tick columns), and each drop sits where the
ink's centroid crosses from the upper to the lower level (the centre of the vertical stroke),
so the time of an event and the size of its drop are exact to a fraction of a pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: A run of ink counts as a gridline when it covers this share of the plot width and
#: reaches both sides of it; a KM curve never does.
GRIDLINE_COVER = 0.35
#: Two levels closer than this (pixels) are one level: the difference is anti-aliasing.
SAME_LEVEL_PX = 0.3


@dataclass(frozen=True)
class Trace:
    """The best path of one curve: its row per column and the own ink along it."""

    rows: np.ndarray
    coverage: np.ndarray
    first: int
    last: int
    thickness: float


@dataclass(frozen=True)
class PixelSteps:
    """A traced curve in pixels: ``levels[k]`` (sub-pixel rows) holds from ``edges[k]`` to
    ``edges[k + 1]``; ``edges`` start at the first column and end at the curve's end."""

    edges: np.ndarray
    levels: np.ndarray
    repairs: int
    occluded_fraction: float
    thickness: float


def remove_gridlines(weights: np.ndarray) -> tuple[np.ndarray, int]:
    """Blank rows and columns of ink that span the plot like gridlines; return how many."""
    cleaned = weights.copy()
    removed = 0
    for axis in (0, 1):
        ink = cleaned >= 0.5
        along = ink.shape[1 - axis]
        cover = ink.sum(axis=1 - axis)
        margin = max(3, int(0.03 * along))
        lines = np.flatnonzero(cover >= GRIDLINE_COVER * along)
        for index in lines:
            hits = np.flatnonzero(ink[index] if axis == 0 else ink[:, index])
            if hits[0] <= margin and hits[-1] >= along - 1 - margin:
                if axis == 0:
                    cleaned[index] = 0
                else:
                    cleaned[:, index] = 0
                removed += 1
    return cleaned, removed


def line_thickness(own: np.ndarray) -> float:
    """The curve's line width in pixels: the median vertical run of ink, with its
    anti-aliased fringe (flat stretches outnumber drops, ticks and text)."""
    solid = (own >= 0.5).T  # one row per image column: runs go down the image
    padded = np.zeros((solid.shape[0], solid.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = solid
    step = np.diff(padded, axis=1)
    column, start = np.nonzero(step == 1)
    _, end = np.nonzero(step == -1)
    if start.size == 0:
        return 1.0
    flipped = own.T
    above = np.where(start > 0, flipped[column, np.maximum(start - 1, 0)], 0.0)
    below = np.where(
        end < flipped.shape[1], flipped[column, np.minimum(end, flipped.shape[1] - 1)], 0.0
    )
    widths = (end - start) + above + below
    return float(np.clip(np.median(widths), 1.0, 15.0))


def _band_sums(layer: np.ndarray, half: int) -> np.ndarray:
    """Sum of ``layer`` over rows r - half .. r + half, for every row r and column."""
    padded = np.zeros((layer.shape[0] + 2 * half + 1, layer.shape[1]))
    padded[half + 1 : half + 1 + layer.shape[0]] = layer
    cumulative = np.cumsum(padded, axis=0)
    return cumulative[2 * half + 1 :] - cumulative[: -2 * half - 1]


def best_path(
    own: np.ndarray, other: np.ndarray, thickness: float, *, prefer_low: bool = False
) -> Trace:
    """The non-decreasing row path collecting the most ink (own 1, other curves' 1/2).

    ``prefer_low``: between paths with the same ink take the lower one (when two curves of
    one colour are peeled, a path then never hops from the upper curve to the lower one).
    """
    half = max(1, int(round(thickness / 2)))
    score = _band_sums(np.clip(own + 0.5 * other, 0, 1), half)
    height, width = score.shape
    if prefer_low:
        score += 1e-3 * np.arange(height)[:, None] / height
    penalty = 0.25 * thickness
    rows = np.arange(height)
    pointer = np.empty((width, height), dtype=np.int32)
    value = score[:, 0].copy()
    pointer[0] = rows
    for column in range(1, width):
        best_above = np.maximum.accumulate(value)
        record = np.where(value == best_above, rows, 0)
        best_at = np.maximum.accumulate(record)
        jump = np.empty(height)
        jump[0] = -np.inf
        jump[1:] = best_above[:-1] - penalty
        stay = value >= jump
        pointer[column] = np.where(stay, rows, np.concatenate([[0], best_at[:-1]]))
        value = score[:, column] + np.where(stay, value, jump)
    path = np.empty(width, dtype=np.int32)
    path[-1] = int(np.argmax(value))
    for column in range(width - 1, 0, -1):
        path[column - 1] = pointer[column, path[column]]
    coverage = _band_sums(own, half)[path, np.arange(width)]
    inked = np.flatnonzero(coverage >= 0.3 * thickness)
    first, last = (int(inked[0]), int(inked[-1])) if inked.size else (0, -1)
    return Trace(path, coverage, first, last, thickness)


def _centroid(weights: np.ndarray, top: float) -> float:
    rows = np.arange(weights.shape[0]) + top
    mass = weights.sum()
    return float((weights.sum(axis=1) * rows).sum() / mass) if mass > 0 else np.nan


def _level(own: np.ndarray, other: np.ndarray, row: int, a: int, b: int, thickness: float):
    """Centroid row of the ink of a flat run [a, b], away from its ends and tick columns."""
    half = max(1, int(round(thickness / 2)))
    lo, hi = max(row - half - 2, 0), min(row + half + 3, own.shape[0])
    inset = int(np.ceil(thickness / 2)) + 1
    cols = np.arange(a + inset, b - inset + 1) if b - a + 1 > 2 * inset + 1 else np.arange(a, b + 1)
    # a column with ink beyond the band is a tick or a stroke: leave it out of the level
    out_lo, out_hi = max(row - 3 * half - 3, 0), min(row + 3 * half + 4, own.shape[0])
    stray = own[out_lo:lo, cols].sum(axis=0) + own[hi:out_hi, cols].sum(axis=0)
    keep = cols[stray < 0.5] if (stray < 0.5).any() else cols
    level = _centroid(own[lo:hi, keep], lo)
    visible = own[lo:hi, keep].sum()
    if not np.isfinite(level) or visible < 0.5 * thickness:  # hidden under another curve
        level = _centroid(np.clip(own + other, 0, 1)[lo:hi, keep], lo)
    return (level if np.isfinite(level) else float(row)), visible


def _drop_column(own: np.ndarray, y1: float, y2: float, x0: int, x1: int, split: int,
                 thickness: float) -> float:  # fmt: skip
    """Where the ink's centroid crosses from level y1 to y2 within columns [x0, x1]."""
    half = thickness / 2 + 1
    lo, hi = max(int(np.floor(y1 - half)), 0), min(int(np.ceil(y2 + half)) + 1, own.shape[0])
    block = own[lo:hi, x0 : x1 + 1]
    mass = block.sum(axis=0)
    rows = np.arange(lo, hi)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = (block * rows).sum(axis=0) / mass
    fraction = np.clip((centre - y1) / (y2 - y1), 0, 1)
    columns = np.arange(x0, x1 + 1)
    # no own ink (hidden by the other curve): the side of the traced jump decides
    fraction = np.where(mass > 0.2, fraction, (columns > split).astype(float))
    return float(x0 - 0.5 + (1 - fraction).sum())


def _final_drop(
    own: np.ndarray, level: float, stop: int, thickness: float, floor_row: float | None
) -> float | None:
    """The bottom of a vertical stroke hanging from the curve's last level, if there is one.

    A censoring tick also hangs below the level but reaches as far above it; a final drop
    reaches well below (more than four line widths) and not above. A stroke that ends on
    the x axis (``floor_row``, often drawn over it) ends at the axis's value.
    """
    columns = np.arange(max(stop - int(np.ceil(2 * thickness)), 0), stop + 1)
    row = int(round(level))
    inked = own[:, columns] >= 0.3
    below = above = 0
    for column in range(columns.size):
        down = inked[row:, column]
        up = inked[: row + 1, column][::-1]
        below = max(below, int(np.argmin(down)) if not down.all() else down.size)
        above = max(above, int(np.argmin(up)) if not up.all() else up.size)
    if below <= 4 * thickness or below - above <= 2 * thickness:
        return None
    # the stroke's end cap projects half a line width below the last point
    bottom = row + below - 0.5 - thickness / 2
    if floor_row is not None and abs(bottom - floor_row) <= 1.5 * thickness + 1:
        return float(floor_row)
    return float(min(bottom, own.shape[0] - 1))


def read_steps(
    trace: Trace, own: np.ndarray, other: np.ndarray, floor_row: float | None = None
) -> PixelSteps:
    """The steps of a traced curve: sub-pixel levels and drop columns, monotone by repair.

    ``floor_row``: the row of the y axis's lowest value (a final drop onto it ends there).
    """
    start, stop = trace.first, trace.last
    path = trace.rows[start : stop + 1]
    cut = np.flatnonzero(np.diff(path)) + 1
    run_starts = np.concatenate([[0], cut]) + start
    run_ends = np.concatenate([cut - 1, [len(path) - 1]]) + start
    levels, visible = [], []
    for a, b in zip(run_starts, run_ends, strict=True):
        level, seen = _level(own, other, int(trace.rows[a]), int(a), int(b), trace.thickness)
        levels.append(level)
        visible.append(seen)
    levels = np.array(levels)
    # levels closer than anti-aliasing are one level; a level above its predecessor is noise
    repairs = 0
    keep = [0]
    for k in range(1, len(levels)):
        if levels[k] < levels[keep[-1]] - SAME_LEVEL_PX:
            repairs += 1
        if levels[k] - levels[keep[-1]] < SAME_LEVEL_PX:
            continue
        keep.append(k)
    margin = int(np.ceil(4 * trace.thickness))
    edges = [float(start)]
    for index, k in enumerate(keep[1:], start=1):
        previous = keep[index - 1]
        x0 = max(int(run_starts[previous]), int(run_starts[k]) - margin)
        following = keep[index + 1] if index + 1 < len(keep) else len(levels)
        x1 = min(int(run_ends[following - 1]), int(run_starts[k]) + margin)
        edges.append(_drop_column(own, levels[previous], levels[k], x0, x1,
                                  int(run_starts[k]) - 1, trace.thickness))  # fmt: skip
    # the line's end cap projects half a line width beyond the last point
    end = max(stop + 0.5 - trace.thickness / 2, edges[-1])
    edges.append(end)
    level_values = [levels[k] for k in keep]
    final = _final_drop(own, level_values[-1], stop, trace.thickness, floor_row)
    if final is not None:  # the last patient had the event: the curve ends with a drop
        edges.append(end)
        level_values.append(final)
    level_values = np.array(level_values)
    edges = np.maximum.accumulate(np.array(edges))
    hidden = trace.coverage[start : stop + 1] < 0.3 * trace.thickness
    return PixelSteps(edges, level_values, repairs, float(hidden.mean()), trace.thickness)
