"""Digitise a Kaplan-Meier figure image: one (time, survival) step table per curve.

The chain: read the image (``axes.read_image``), find the plot area and the pixel -> data map
(``axes.find_plot_area``, or calibration points), class the ink of the plot area by colour
(``colours``), blank gridlines, follow each curve and measure its steps (``trace``), or peel
two curves of one colour apart (``peel``). Every curve becomes a step table with both ends of
each step, the form a careful hand digitiser clicks, ready for ``guyot.reconstruct``.
Everything outside the plot area (title, legend outside, axis labels, the numbers-at-risk
table) is never looked at.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from talentop.errors import InvalidInput
from talentop.ipd.axes import PlotArea, find_plot_area, plot_area_from_points
from talentop.ipd.colours import (
    ColourClass,
    class_weights,
    dark_class,
    find_colours,
    unique_names,
)
from talentop.ipd.peel import peel_curves
from talentop.ipd.trace import PixelSteps, best_path, line_thickness, read_steps, remove_gridlines

#: Pixels around the plot area searched too: a curve at S = 1 or at t = 0 is drawn on the
#: axis line and half of it lies outside the data window.
MARGIN_PX = 6
#: A colour is a curve only if its ink spans this share of the plot width.
MIN_CURVE_SPAN = 0.10


@dataclass(frozen=True)
class DigitisedCurve:
    """One curve: its name (colour, and style when two share a colour), the step table
    (``time``, ``survival`` as a proportion) and its quality figures."""

    name: str
    colour: ColourClass
    style: str
    clicks: pd.DataFrame
    pixel_steps: PixelSteps
    #: (row, column) of the region's top-left pixel in the image
    origin: tuple[int, int]
    notes: tuple[str, ...] = ()

    def quality(self) -> dict[str, Any]:
        steps = self.pixel_steps
        return {
            "name": self.name,
            "colour": self.colour.hex,
            "style": self.style,
            "steps": int(len(steps.levels) - 1),
            "clicks": int(len(self.clicks)),
            "end_time": float(self.clicks["time"].iloc[-1]),
            "last_survival": float(self.clicks["survival"].iloc[-1]),
            "line_width_px": round(steps.thickness, 2),
            "monotonicity_repairs": int(steps.repairs),
            "hidden_share": round(steps.occluded_fraction, 4),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Digitised:
    """The curves of one figure, the plot area they were read in, and what was set aside."""

    shape: tuple[int, int]
    area: PlotArea
    curves: list[DigitisedCurve]
    ignored: list[ColourClass] = field(default_factory=list)
    gridlines_removed: int = 0
    percent: bool = False

    def summary(self) -> dict[str, Any]:
        """The quality summary: scale, resolution, and per curve its steps and repairs."""
        per_x, per_y = self.area.calibration.pixels_per_unit
        return {
            "image_px": {"width": self.shape[1], "height": self.shape[0]},
            "plot_area": {
                "method": self.area.method,
                "left_px": round(self.area.left, 2),
                "right_px": round(self.area.right, 2),
                "top_px": round(self.area.top, 2),
                "bottom_px": round(self.area.bottom, 2),
            },
            "x_range": list(self.area.x_range),
            "y_range": list(self.area.y_range),
            "y_axis_in_percent": self.percent,
            "pixels_per_unit": {"x": round(per_x, 3), "y": round(per_y, 3)},
            "time_per_pixel": round(1 / per_x, 5),
            "survival_per_pixel": round((0.01 if self.percent else 1.0) / per_y, 6),
            "gridlines_removed": self.gridlines_removed,
            "curves": [curve.quality() for curve in self.curves],
            "ignored_colours": [
                {"name": c.name, "colour": c.hex, "pixels": c.pixels} for c in self.ignored
            ],  # fmt: skip
        }


def _region_bounds(area: PlotArea, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    height, width = shape
    top = max(int(np.floor(area.top)) - MARGIN_PX, 0)
    bottom = min(int(np.ceil(area.bottom)) + MARGIN_PX + 1, height)
    left = max(int(np.floor(area.left)) - MARGIN_PX, 0)
    right = min(int(np.ceil(area.right)) + MARGIN_PX + 1, width)
    return top, bottom, left, right


def _blank_axis_lines(weights: np.ndarray, area: PlotArea, top: int, left: int) -> np.ndarray:
    """Black ink minus the axis lines themselves (they would be 'curves' for the dark class)."""
    cleaned = weights.copy()
    for orientation, line in area.lines:
        half = line.thickness / 2 + 1
        if orientation == "h":
            lo, hi = (
                int(np.floor(line.position - half)) - top,
                int(np.ceil(line.position + half)) - top,
            )
            cleaned[max(lo, 0) : max(hi + 1, 0)] = 0
        else:
            lo, hi = (
                int(np.floor(line.position - half)) - left,
                int(np.ceil(line.position + half)) - left,
            )
            cleaned[:, max(lo, 0) : max(hi + 1, 0)] = 0
    return cleaned


def _span(weights: np.ndarray) -> float:
    columns = np.flatnonzero((weights >= 0.5).any(axis=0))
    return float(columns[-1] - columns[0] + 1) / weights.shape[1] if columns.size else 0.0


def _holds_curve(weights: np.ndarray) -> bool:
    """Black ink is a curve (not just text, a legend and tick labels) when its best
    monotone path runs across a third of the plot, inked in most of its columns."""
    if _span(weights) < MIN_CURVE_SPAN:
        return False
    thickness = line_thickness(weights)
    trace = best_path(weights, np.zeros_like(weights), thickness)
    length = trace.last - trace.first + 1
    inked = trace.coverage[trace.first : trace.last + 1] >= 0.3 * thickness
    return length >= 0.3 * weights.shape[1] and float(inked.mean()) >= 0.6


def _choose_inks(
    region: np.ndarray, area: PlotArea, top: int, left: int, curves: int | None
) -> tuple[list[tuple[ColourClass, np.ndarray, int]], list[ColourClass], int]:
    """The inks that hold curves, each with its weights and how many curves it holds."""
    width = region.shape[1]
    found = find_colours(region, min_pixels=max(50, int(0.1 * width)))
    inks, ignored, removed = [], [], 0
    for colour in found:
        weights, count = remove_gridlines(class_weights(region, colour))
        removed += count
        if _span(weights) >= MIN_CURVE_SPAN:
            inks.append((colour, weights))
        else:
            ignored.append(colour)
    wanted = curves if curves is not None else max(len(inks), 1)
    if len(inks) < wanted:
        black = dark_class(region)
        weights, count = remove_gridlines(
            _blank_axis_lines(class_weights(region, black), area, top, left)
        )
        if (len(inks) + 1 == wanted or not inks) and _holds_curve(weights):
            inks.append((black, weights))
            removed += count
    names = ", ".join(c.name for c, _ in inks) or "none"
    if len(inks) > wanted:
        raise InvalidInput.field(
            "--curves",
            wanted,
            f"as many curves as the figure's curve colours: found {len(inks)} ({names}); "
            f"give --curves {len(inks)}, or crop the figure to the KM plot",
        )
    if not inks:
        raise InvalidInput.field(
            "FIGURE", "no curve found in the plot area", "coloured or black step curves"
        )
    if len(inks) < wanted and len(inks) > 1:
        raise InvalidInput.field(
            "--curves",
            wanted,
            f"at most {len(inks)}: found {len(inks)} curve colours ({names}); curves sharing "
            "a colour can be split only when all curves share it",
        )
    counts = [1] * len(inks) if len(inks) == wanted else [wanted]
    return [(c, w, n) for (c, w), n in zip(inks, counts, strict=True)], ignored, removed


def _clicks(steps: PixelSteps, area: PlotArea, origin: tuple[int, int], scale: float):
    """Step table in data units: both ends of every step, starting at the x range's start."""
    top, left = origin
    times, survival = area.calibration.to_data(steps.edges + left, np.zeros_like(steps.edges))
    _, levels = area.calibration.to_data(np.zeros_like(steps.levels), steps.levels + top)
    px_time = abs(area.calibration.x_scale)
    px_survival = abs(area.calibration.y_scale) / scale
    # nobody has an event at time 0: a drop traced at or left of the origin (under the y
    # axis or another curve) is placed half a pixel after it
    times = np.maximum(np.asarray(times, float), area.x_range[0] + 0.5 * px_time)
    if times[0] <= area.x_range[0] + 1.5 * px_time:
        times[0] = area.x_range[0]  # the curve starts at the origin
    levels = np.clip(np.asarray(levels, float) / scale, 0.0, 1.0)
    if levels[0] >= 1 - 1.5 * px_survival:
        levels[0] = 1.0  # a KM curve starts at 1: within a pixel and a half is the start
    rows_t = [times[0]]
    rows_s = [levels[0]]
    if times[0] > area.x_range[0] + px_time or levels[0] < 1 - 1.5 * px_survival:
        # the curve's start is hidden (under another curve, or by the axis): a KM curve
        # starts at 1, so the first visible level begins with a drop where it shows
        rows_t = [float(area.x_range[0]), times[0], times[0]]
        rows_s = [1.0, 1.0, levels[0]]
    for k in range(1, len(levels)):
        rows_t += [times[k], times[k]]
        rows_s += [levels[k - 1], levels[k]]
    rows_t.append(times[-1])
    rows_s.append(levels[-1])
    return pd.DataFrame({"time": rows_t, "survival": np.clip(rows_s, 0.0, 1.0)})


def digitise(
    rgb: np.ndarray,
    *,
    x_range: tuple[float, float] | None,
    y_range: tuple[float, float] | None,
    curves: int | None = None,
    calibration: Sequence[tuple[float, float, float | None, float | None]] = (),
) -> Digitised:
    """Read the KM curves of a figure image (``axes.read_image``) as step tables."""
    if curves is not None and not 1 <= curves <= 6:
        raise InvalidInput.field("--curves", curves, "between 1 and 6")
    if calibration:
        area = plot_area_from_points(calibration, rgb.shape[:2], x_range, y_range)
    else:
        if x_range is None or y_range is None:
            raise InvalidInput.field(
                "--x-range/--y-range", None, "the data values at the axes' ends, e.g. 0,36 and 0,1"
            )
        area = find_plot_area(rgb, x_range, y_range)
    top, bottom, left, right = _region_bounds(area, rgb.shape[:2])
    region = rgb[top:bottom, left:right]
    inks, ignored, removed = _choose_inks(region, area, top, left, curves)
    percent = area.y_range[1] > 1.5
    scale = 100.0 if percent else 1.0
    names = unique_names([c for c, _, _ in inks])
    results = []
    for index, (colour, weights, count) in enumerate(inks):
        others = [w for j, (_, w, _) in enumerate(inks) if j != index]
        other = np.maximum.reduce(others) if others else np.zeros_like(weights)
        thickness = line_thickness(weights)
        if count == 1:
            trace = best_path(weights, other, thickness)
            found = [(names[index], "solid", trace, weights, ())]
        else:

            def column_time(column: float) -> float:
                return float(area.calibration.to_data(column + left, 0.0)[0])

            peeled = peel_curves(weights, other, count, thickness, names[index], column_time)
            found = [(f"{names[index]}_{label}", style, trace, ink, notes)
                     for label, style, trace, ink, notes in peeled]  # fmt: skip
        for name, style, trace, ink, notes in found:
            if trace.last - trace.first < MIN_CURVE_SPAN * weights.shape[1]:
                raise InvalidInput.field(
                    "FIGURE", f"curve {name} spans {trace.last - trace.first + 1} px",
                    "curves that span a fair part of the plot width",
                )  # fmt: skip
            steps = read_steps(trace, ink, other, area.bottom - top)
            clicks = _clicks(steps, area, (top, left), scale)
            results.append(
                DigitisedCurve(name, colour, style, clicks, steps, (top, left), tuple(notes))
            )
    return Digitised(rgb.shape[:2], area, results, ignored, removed, percent)
