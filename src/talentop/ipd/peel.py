"""Two or more curves drawn in one colour: peel them apart, or say that it cannot be done.

The first curve is the best monotone path through the ink (``trace.best_path``, preferring
the lower of two equally inked paths so it never hops between curves); its band is then
moved from "own" to "hidden" ink and the next curve is traced through what is left, and so
on. Each curve's line style is its share of inked columns where it runs apart from the others
(solid about 1, dashed clearly less). Curves that never cross are named upper/lower (or by
style); curves that cross keep their identity only if their styles differ and each path keeps
one style from start to end; otherwise which is which after a crossing cannot be read from
the image, and the error says so.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from talentop.errors import InvalidInput
from talentop.ipd.trace import Trace, best_path

#: A path whose inked share of its apart columns is below this is dashed (or dotted).
SOLID_SHARE = 0.92
#: Columns needed on each side of a crossing before it counts as one.
MIN_SIDE_COLUMNS = 5


def _band(trace: Trace, shape: tuple[int, int]) -> np.ndarray:
    half = int(np.ceil(trace.thickness / 2)) + 1
    rows = np.arange(shape[0])[:, None]
    band = np.abs(rows - trace.rows[None, :]) <= half
    band[:, : trace.first] = False
    band[:, trace.last + 1 :] = False
    return band


def _inked(trace: Trace, ink: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Whether each of ``columns`` has ink on the path, judged on flat stretches only (on a
    steep staircase a dash pattern runs mostly down the drops and the share means nothing)."""
    reach = int(np.ceil(2 * trace.thickness))
    rows = trace.rows
    ahead = rows[np.minimum(columns + reach, rows.size - 1)]
    behind = rows[np.maximum(columns - reach, 0)]
    flat = columns[(ahead == behind) & (columns - reach >= trace.first)
                   & (columns + reach <= trace.last)]  # fmt: skip
    if flat.size >= 4 * MIN_SIDE_COLUMNS:
        columns = flat
    half = int(np.ceil(trace.thickness / 2))
    rows = trace.rows[columns]
    total = np.zeros(columns.size)
    for offset in range(-half, half + 1):
        total += ink[np.clip(rows + offset, 0, ink.shape[0] - 1), columns]
    return total >= 0.3 * trace.thickness


def _apart(traces: list[Trace], index: int, thickness: float) -> np.ndarray:
    """Columns where curve ``index`` runs clear of every other curve."""
    trace = traces[index]
    columns = np.arange(trace.first, trace.last + 1)
    clear = np.ones(columns.size, bool)
    for j, other in enumerate(traces):
        if j == index:
            continue
        inside = (columns >= other.first) & (columns <= other.last)
        near = np.abs(trace.rows[columns] - other.rows[columns]) <= 2 * thickness + 2
        clear &= ~(inside & near)
    return columns[clear]


def _near(a: Trace, b: Trace, columns: np.ndarray, thickness: float) -> np.ndarray:
    return np.abs(a.rows[columns] - b.rows[columns]) <= 2 * thickness + 2


def _meetings(a: Trace, b: Trace, thickness: float) -> tuple[list[int], list[int]]:
    """Where two curves meet again after parting: (flips of their order and ends of one on
    the other, after which which curve is which is ambiguous; all meeting columns)."""
    lo, hi = max(a.first, b.first), min(a.last, b.last)
    if hi <= lo:
        return [], []
    columns = np.arange(lo, hi + 1)
    near = _near(a, b, columns, thickness)
    parted = np.flatnonzero(~near)
    if parted.size < MIN_SIDE_COLUMNS:
        return [], []  # one curve lies on the other all along
    starts = np.flatnonzero(near[1:] & ~near[:-1]) + 1  # each time they come together
    meets = [int(columns[k]) for k in starts if k > parted[0]]
    runs: list[list[int]] = []  # [sign, first column, length] of each stretch apart
    for k in parted:
        sign = int(np.sign(a.rows[columns[k]] - b.rows[columns[k]]))
        if runs and runs[-1][0] == sign:  # apart in the same order, touching or not
            runs[-1][2] += 1
        else:
            runs.append([sign, int(k), 1])
    runs = [run for run in runs if run[2] >= MIN_SIDE_COLUMNS]
    ambiguous = [int(columns[y[1]]) for x, y in zip(runs, runs[1:], strict=False) if x[0] != y[0]]
    for ending, going in ((a, b), (b, a)):  # one curve ends on the other, which goes on
        if ending.last < going.last and _near(ending, going, np.array([ending.last]), thickness)[0]:
            ambiguous.append(int(ending.last))
            meets.append(int(ending.last))
    return sorted(set(ambiguous)), sorted(set(meets + ambiguous))


def _swap_tails(a: Trace, b: Trace, column: int) -> tuple[Trace, Trace]:
    """Exchange what two paths do from ``column`` on (they meet there)."""
    rows_a = np.concatenate([a.rows[:column], b.rows[column:]])
    rows_b = np.concatenate([b.rows[:column], a.rows[column:]])
    cover_a = np.concatenate([a.coverage[:column], b.coverage[column:]])
    cover_b = np.concatenate([b.coverage[:column], a.coverage[column:]])
    last_a = b.last if b.last >= column else min(a.last, column - 1)
    last_b = a.last if a.last >= column else min(b.last, column - 1)
    return (
        Trace(np.maximum.accumulate(rows_a), cover_a, a.first, last_a, a.thickness),
        Trace(np.maximum.accumulate(rows_b), cover_b, b.first, last_b, b.thickness),
    )


def _segment_solid(trace: Trace, other: Trace, ink: np.ndarray, lo: int, hi: int,
                   thickness: float, cut: float) -> bool | None:  # fmt: skip
    """Whether a path looks solid (inked share >= ``cut``) on [lo, hi) clear of ``other``."""
    columns = np.arange(max(lo, trace.first), min(hi, trace.last + 1))
    inside = (columns >= other.first) & (columns <= other.last)
    columns = columns[~(inside & _near(trace, other, columns, 1.5 * thickness))]
    if columns.size < 8 * MIN_SIDE_COLUMNS:
        return None
    return bool(_inked(trace, ink, columns).mean() >= cut)


def _untangle(traces: list[Trace], styles: list[str], ink: np.ndarray, thickness: float,
              cut: float):  # fmt: skip
    """Curves of different styles: where they meet, give each tail to the curve of its style."""
    for i in range(len(traces)):
        for j in range(i + 1, len(traces)):
            _, meets = _meetings(traces[i], traces[j], thickness)
            # the stretch before the first meeting counts too (a swap at 0 swaps all)
            bounds = [0, *meets, max(traces[i].last, traces[j].last) + 1]
            for column, following in zip(bounds, bounds[1:], strict=False):
                a, b = traces[i], traces[j]
                solid_a = _segment_solid(a, b, ink, column, following, thickness, cut)
                solid_b = _segment_solid(b, a, ink, column, following, thickness, cut)
                wrong_a = solid_a is not None and solid_a != (styles[i] == "solid")
                wrong_b = solid_b is not None and solid_b != (styles[j] == "solid")
                if (wrong_a or wrong_b) and not (solid_a is not None and solid_a == solid_b):
                    traces[i], traces[j] = _swap_tails(a, b, column)
    return traces


def peel_curves(
    ink: np.ndarray,
    other: np.ndarray,
    count: int,
    thickness: float,
    colour: str,
    column_time: Callable[[float], float],
) -> list[tuple[str, str, Trace, np.ndarray, tuple[str, ...]]]:
    """Split ``count`` curves of one colour: (label, style, trace, own ink, notes) each.

    ``column_time`` turns a column of the ink into a time, for messages.
    """
    remaining, hidden = ink.copy(), other.copy()
    traces: list[Trace] = []
    for _ in range(count):
        trace = best_path(remaining, hidden, thickness, prefer_low=True)
        traces.append(trace)
        band = _band(trace, ink.shape)
        hidden = np.where(band, np.maximum(hidden, remaining), hidden)
        remaining = np.where(band, 0.0, remaining)
    shares, styles = [], []
    for index, trace in enumerate(traces):
        columns = _apart(traces, index, thickness)
        share = float(_inked(trace, ink, columns).mean()) if columns.size else 1.0
        shares.append(share)
        styles.append("solid" if share >= SOLID_SHARE else "dashed")
    distinct = len(set(styles)) == len(styles)
    # a segment is solid when nearer the solid curve's share than the dashed one's
    cut = (max(shares) + min(shares)) / 2 if distinct else SOLID_SHARE
    if distinct:
        traces = _untangle(traces, styles, ink, thickness, cut)
    for i in range(count):
        for j in range(i + 1, count):
            ambiguous, meets = _meetings(traces[i], traces[j], thickness)
            if ambiguous and not distinct:
                raise InvalidInput.field(
                    "FIGURE",
                    f"{count} {colour} curves of the same line style crossing (or one ending "
                    f"on the other) at t = {', '.join(f'{column_time(c):.3g}' for c in ambiguous)}",
                    "curves of different colours or line styles: which curve is which after "
                    "they cross cannot be read from this image; digitise them by hand "
                    "(WebPlotDigitizer CSV) and pass the clicks to talentop reconstruct",
                )
            if distinct:
                for a, b in ((i, j), (j, i)):
                    _check_style_kept(traces[a], traces[b], ink, meets, styles[a], colour,
                                      thickness, cut)  # fmt: skip
    if distinct:
        labels = styles
    else:
        order = np.argsort([float(np.mean(t.rows[t.first : t.last + 1])) for t in traces])
        names = ["upper", "lower"] if count == 2 else [f"{k + 1}" for k in range(count)]
        labels = [names[int(np.flatnonzero(order == k)[0])] for k in range(count)]
    notes = [
        (f"one of {count} {colour} curves, {styles[k]} ({shares[k]:.0%} of its clear columns "
         "inked); separated by peeling")
        for k in range(count)
    ]  # fmt: skip
    return [(labels[k], styles[k], traces[k], ink, (notes[k],)) for k in range(count)]


def _check_style_kept(trace: Trace, other: Trace, ink: np.ndarray, cuts: list[int], style: str,
                      colour: str, thickness: float, cut: float) -> None:  # fmt: skip
    """A path that turns from solid to dashed where curves meet has swapped curves (where
    both look alike, on a steep stretch, nothing tells either way)."""
    bounds = [trace.first, *cuts, trace.last + 1]
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        solid = _segment_solid(trace, other, ink, lo, hi, thickness, cut)
        alike = solid == _segment_solid(other, trace, ink, lo, hi, thickness, cut)
        if solid is not None and solid != (style == "solid") and not alike:
            raise InvalidInput.field(
                "FIGURE",
                f"a {colour} {style} curve that looks {'solid' if solid else 'dashed'} "
                f"between columns {lo} and {hi} of the plot area",
                "curves whose identity survives where they meet; digitise them by hand "
                "(WebPlotDigitizer CSV) and pass the clicks to talentop reconstruct",
            )
