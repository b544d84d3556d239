"""Where the data are in a figure image: read it, find the axes, map pixels to data values.

A KM figure cut from a PDF or a journal page is a raster of pixels. The plot area is found
from its dark axis lines (a frame, an L of two axis lines, or R-style axes drawn apart from
each other): the x axis is the long horizontal dark line whose left end meets the bottom of a
long vertical dark line (the y axis), or comes close to it. The user gives the data values
at the axes' ends (``x_range``, ``y_range``); without drawn axes, two calibration points per
axis (pixel -> value, as in WebPlotDigitizer) give the same linear map.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from talentop.errors import InvalidInput

#: Dark, unsaturated pixels: axis lines and text (luminance below this, on a 0-1 scale).
DARK_LUMINANCE = 0.5
#: A line must run at least this fraction of the image's width (height) to be an axis.
MIN_AXIS_FRACTION = 0.25
#: Images smaller than this cannot hold a readable KM figure.
MIN_SIZE_PX = 100


def read_image(path: str | Path) -> np.ndarray:
    """The image as an (height, width, 3) float array in [0, 1], transparency on white."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if path.is_dir() or not path.is_file():
        raise InvalidInput.field("FIGURE", str(path), "an existing PNG or JPEG file")
    try:
        with Image.open(path) as image:
            image.load()
            if image.mode in ("RGBA", "LA", "P"):
                rgba = image.convert("RGBA")
                white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                image = Image.alpha_composite(white, rgba)
            rgb = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    except (UnidentifiedImageError, OSError) as exc:
        raise InvalidInput.field(
            "FIGURE", str(path), f"a PNG or JPEG image that can be read ({exc})"
        ) from None
    height, width = rgb.shape[:2]
    if min(height, width) < MIN_SIZE_PX:
        raise InvalidInput.field(
            "FIGURE", f"{width} x {height} px", f"at least {MIN_SIZE_PX} x {MIN_SIZE_PX} px"
        )
    return rgb


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Rec. 601 luma, 0 (black) to 1 (white)."""
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def dark_mask(rgb: np.ndarray) -> np.ndarray:
    """Black or dark grey pixels (axis lines, text, black curves), not coloured ones."""
    saturation = rgb.max(axis=-1) - rgb.min(axis=-1)
    return (luminance(rgb) < DARK_LUMINANCE) & (saturation < 0.25)


@dataclass(frozen=True)
class Line:
    """A straight dark line: its centre (row of a horizontal line, column of a vertical one),
    first and last pixel along it, and its thickness in pixels."""

    position: float
    start: int
    end: int
    thickness: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1


@dataclass(frozen=True)
class Calibration:
    """The linear map between pixels and data: x = x_offset + x_scale * column,
    y = y_offset + y_scale * row (y_scale < 0: rows run downwards)."""

    x_offset: float
    x_scale: float
    y_offset: float
    y_scale: float

    def to_data(self, column: np.ndarray | float, row: np.ndarray | float):
        return self.x_offset + self.x_scale * column, self.y_offset + self.y_scale * row

    def column(self, x: float) -> float:
        return (x - self.x_offset) / self.x_scale

    def row(self, y: float) -> float:
        return (y - self.y_offset) / self.y_scale

    @property
    def pixels_per_unit(self) -> tuple[float, float]:
        return 1 / abs(self.x_scale), 1 / abs(self.y_scale)


@dataclass(frozen=True)
class PlotArea:
    """The data window in pixels (x_range[0] at ``left`` ... y_range[1] at ``top``) and how it
    was found; ``lines`` are the axis lines (blanked when tracing black curves)."""

    left: float
    right: float
    top: float
    bottom: float
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    calibration: Calibration
    method: str
    lines: tuple[tuple[str, Line], ...] = ()


def _longest_runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of a boolean array: the length and first column of its longest run of True."""
    rows, cols = mask.shape
    padded = np.zeros((rows, cols + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    step = np.diff(padded, axis=1)
    start_r, start_c = np.nonzero(step == 1)
    _, end_c = np.nonzero(step == -1)  # row-major order pairs each start with its end
    lengths = end_c - start_c
    best = np.zeros(rows, dtype=int)
    first = np.zeros(rows, dtype=int)
    order = np.lexsort((lengths, start_r))  # by row, then length: the last per row is longest
    best[start_r[order]] = lengths[order]
    first[start_r[order]] = start_c[order]
    return best, first


def _lines(dark: np.ndarray, weight: np.ndarray, min_length: float) -> list[Line]:
    """Horizontal dark lines at least ``min_length`` long (apply to ``.T`` for vertical ones)."""
    # close 1-2 px breaks (JPEG noise, a tick mark's junction) before measuring runs
    closed = ndimage.binary_closing(dark, structure=np.ones((1, 3), bool))
    length, first = _longest_runs(closed)
    candidate = np.flatnonzero(length >= min_length)
    lines = []
    for group in np.split(candidate, np.flatnonzero(np.diff(candidate) > 1) + 1):
        if group.size == 0:
            continue
        start = int(np.median(first[group]))
        end = int(np.median(first[group] + length[group])) - 1
        rows = np.arange(max(group[0] - 1, 0), min(group[-1] + 2, dark.shape[0]))
        mass = weight[rows, start : end + 1].sum(axis=1)  # anti-aliased rows count partly
        position = float((rows * mass).sum() / mass.sum())
        lines.append(Line(position, start, end, int(group.size)))
    return lines


def _pair_axes(horizontal: list[Line], vertical: list[Line], shape: tuple[int, int]):
    """The x axis and y axis: an L corner (the y axis ends where the x axis begins), or R-style
    axes drawn apart with a small gap; the longest such pair."""
    height, width = shape
    best, best_score = None, -math.inf
    for h in horizontal:
        for v in vertical:
            tol = _corner_tolerance(h, v, shape)
            gap_x = h.start - v.position  # > 0 when the axes are drawn apart
            gap_y = h.position - v.end
            if not (-tol <= gap_x <= 0.08 * width and -tol <= gap_y <= 0.08 * height):
                continue
            score = h.length + v.length - 2 * (max(gap_x, 0) + max(gap_y, 0))
            if score > best_score:
                best, best_score = (h, v), score
    return best


def _corner_tolerance(h: Line, v: Line, shape: tuple[int, int]) -> float:
    """How far the two axes may overshoot each other at the corner (tick marks in line with
    the other axis lengthen it by their length, about 1 % of the image)."""
    return max(4.0, 2.0 * (h.thickness + v.thickness), 0.015 * max(shape))


def _closing_line(lines: list[Line], position: float, span: tuple[int, int], tol: float):
    """The frame's far side: a line at ``position`` (within ``tol``) covering ``span``."""
    for line in lines:
        overlap = min(line.end, span[1]) - max(line.start, span[0])
        if abs(line.position - position) <= tol and overlap >= 0.8 * (span[1] - span[0]):
            return line
    return None


def find_plot_area(
    rgb: np.ndarray, x_range: tuple[float, float], y_range: tuple[float, float]
) -> PlotArea:
    """Find the axes in the image and map their ends to ``x_range`` and ``y_range``."""
    dark = dark_mask(rgb)
    weight = np.clip((DARK_LUMINANCE + 0.3 - luminance(rgb)) / 0.3, 0, 1)
    height, width = dark.shape
    horizontal = _lines(dark, weight, MIN_AXIS_FRACTION * width)
    vertical = _lines(dark.T, weight.T, MIN_AXIS_FRACTION * height)
    pair = _pair_axes(horizontal, vertical, (height, width))
    if pair is None:
        raise InvalidInput.field(
            "FIGURE",
            f"{width} x {height} px image with {len(horizontal)} long horizontal and "
            f"{len(vertical)} long vertical dark line(s)",
            "a KM figure with its axes drawn (a frame, or an x and a y axis line meeting at "
            "the lower left); without drawn axes give --calibrate twice per axis",
        )
    h, v = pair
    tol = _corner_tolerance(h, v, (height, width))
    if h.start - v.position <= tol:
        # joined axes: the lines' centres are the data origin; the far ends are the frame's
        # other sides when drawn, else the lines' ends less half a line width (matplotlib
        # spines project half their width beyond the end)
        left, bottom = v.position, h.position
        right_side = _closing_line(vertical, h.end, (v.start, v.end), tol)
        top_side = _closing_line(horizontal, v.start, (h.start, h.end), tol)
        right = right_side.position if right_side else h.end + 0.5 - v.thickness / 2
        top = top_side.position if top_side else v.start - 0.5 + h.thickness / 2
        method = "frame" if right_side and top_side else "axes (joined at the origin)"
    else:
        left, right = float(h.start), float(h.end)
        top, bottom = float(v.start), float(v.end)
        method = "axes (drawn apart: each axis line's ends are its range)"
    _check_span(right - left, bottom - top, width, height)
    calibration = _linear_map(((left, x_range[0]), (right, x_range[1])),
                              ((bottom, y_range[0]), (top, y_range[1])))  # fmt: skip
    return PlotArea(left, right, top, bottom, tuple(x_range), tuple(y_range), calibration,
                    method, (("h", h), ("v", v)))  # fmt: skip


def _check_span(columns: float, rows: float, width: int, height: int) -> None:
    if columns < 0.2 * width or rows < 0.15 * height:
        raise InvalidInput.field(
            "FIGURE",
            f"a plot area of {columns:.0f} x {rows:.0f} px in a {width} x {height} px image",
            "a plot area covering a fair part of the image; give --calibrate points",
        )


def _fit_axis(points: Sequence[tuple[float, float]], axis: str) -> tuple[float, float]:
    """Least-squares value = offset + scale * pixel through at least two distinct points."""
    pixels = np.array([p for p, _ in points], float)
    values = np.array([v for _, v in points], float)
    if len(points) < 2 or np.ptp(pixels) < 1 or np.ptp(values) == 0:
        raise InvalidInput.field(
            f"--calibrate ({axis} axis)",
            [f"{p:g} px = {v:g}" for p, v in points],
            f"at least two points on the {axis} axis with different pixels and values",
        )
    scale, offset = np.polyfit(pixels, values, 1)
    return float(offset), float(scale)


def _linear_map(x_points, y_points) -> Calibration:
    x_offset, x_scale = _fit_axis(x_points, "x")
    y_offset, y_scale = _fit_axis(y_points, "y")
    return Calibration(x_offset, x_scale, y_offset, y_scale)


_POINT = re.compile(
    r"^\s*(?P<px>[-+.\d eE]+),(?P<py>[-+.\d eE]+)=(?P<x>[-+.\d eE]*),(?P<y>[-+.\d eE]*)\s*$"
)


def parse_calibration_point(text: str) -> tuple[float, float, float | None, float | None]:
    """'px,py=x,y' (either value may be left empty: '120,640=0,' is an x-axis point)."""
    match = _POINT.match(text)
    try:
        if match is None:
            raise ValueError
        px, py = float(match["px"]), float(match["py"])
        x = float(match["x"]) if match["x"].strip() else None
        y = float(match["y"]) if match["y"].strip() else None
    except ValueError:
        raise InvalidInput.field(
            "--calibrate", text, "'px,py=x,y' (pixel column, row = data x, y), e.g. 118,612=0,0"
        ) from None
    if x is None and y is None:
        raise InvalidInput.field("--calibrate", text, "a data x, a data y, or both after '='")
    return px, py, x, y


def plot_area_from_points(
    points: Sequence[tuple[float, float, float | None, float | None]],
    shape: tuple[int, int],
    x_range: tuple[float, float] | None,
    y_range: tuple[float, float] | None,
) -> PlotArea:
    """The plot area from calibration points; the window is the ranges (or the points' span)."""
    x_points = [(px, x) for px, _, x, _ in points if x is not None]
    y_points = [(py, y) for _, py, _, y in points if y is not None]
    calibration = _linear_map(x_points, y_points)
    if x_range is None:
        x_range = (min(v for _, v in x_points), max(v for _, v in x_points))
    if y_range is None:
        y_range = (min(v for _, v in y_points), max(v for _, v in y_points))
    left, right = calibration.column(x_range[0]), calibration.column(x_range[1])
    bottom, top = calibration.row(y_range[0]), calibration.row(y_range[1])
    height, width = shape
    outside = [
        f"{name}={value:.0f} px"
        for name, value, limit in (("left", left, width), ("right", right, width),
                                   ("top", top, height), ("bottom", bottom, height))
        if not -2 <= value <= limit + 2
    ]  # fmt: skip
    if outside or right <= left or bottom <= top:
        raise InvalidInput.field(
            "--calibrate",
            f"a data window at {', '.join(outside) or 'inverted pixels'}",
            f"x and y ranges that map inside the {width} x {height} px image, x increasing to "
            "the right and y upwards",
        )
    _check_span(right - left, bottom - top, width, height)
    return PlotArea(left, right, top, bottom, tuple(x_range), tuple(y_range), calibration,
                    "calibration points")  # fmt: skip
