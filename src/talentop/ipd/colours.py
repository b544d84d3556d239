"""Which colours the curves are drawn in, and how strongly each pixel belongs to one.

Pixels are classed by hue when they are saturated (a coloured curve and its anti-aliased
edges, blended towards white, keep their hue); black and dark grey form one more class for
figures drawn in black. Light grey (gridlines, confidence bands, table rules) belongs to no
class. Hue peaks are found in a circular histogram of the saturated pixels of the plot area.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.colors import rgb_to_hsv, to_hex

from talentop.ipd.axes import luminance

#: Saturation (max - min of R, G, B over max) from which a pixel has a hue.
MIN_SATURATION = 0.3
#: Hue distance (0-1 circle) within which a pixel belongs to a hue peak.
HUE_TOLERANCE = 0.05
#: Black / dark-grey class: luminance below this and almost no colour.
DARK_MAX_LUMINANCE = 0.45

#: Names for the hues a reader sees in a legend (hue in degrees where each name starts).
_HUE_NAMES = (
    (0, "red"), (18, "orange"), (45, "yellow"), (70, "green"), (160, "teal"),
    (190, "blue"), (250, "purple"), (290, "magenta"), (335, "red"),
)  # fmt: skip


@dataclass(frozen=True)
class ColourClass:
    """One ink: a hue peak (``hue`` in [0, 1)) or the dark class (``hue`` None)."""

    name: str
    hex: str
    hue: float | None
    pixels: int


def hue_name(rgb: np.ndarray) -> str:
    """A plain colour name for a legend reader ('blue', 'red', 'brown' for dark orange...)."""
    hue, saturation, value = rgb_to_hsv(np.asarray(rgb, float).reshape(1, 3))[0]
    if saturation < MIN_SATURATION:
        return "black" if value < 0.5 else "grey"
    degrees = hue * 360
    name = [n for start, n in _HUE_NAMES if degrees >= start][-1]
    if name in ("orange", "red") and value < 0.6:
        return "brown" if name == "orange" else "dark red"
    return name


def _hue_distance(hue: np.ndarray, centre: float) -> np.ndarray:
    distance = np.abs(hue - centre)
    return np.minimum(distance, 1 - distance)


def hue_weights(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hue of every pixel and a 0-1 weight of how coloured it is (0 for grey and white)."""
    hsv = rgb_to_hsv(np.clip(rgb, 0, 1))
    weight = np.clip((hsv[..., 1] - 0.15) / (MIN_SATURATION - 0.15), 0, 1)
    weight = weight * (hsv[..., 2] > 0.2)  # almost black pixels have no reliable hue
    return hsv[..., 0], weight


def find_colours(rgb: np.ndarray, min_pixels: int) -> list[ColourClass]:
    """Hue peaks holding at least ``min_pixels`` saturated pixels, most pixels first."""
    hue, weight = hue_weights(rgb)
    coloured = weight >= 1
    values = hue[coloured]
    if values.size < min_pixels:
        return []
    bins = 120
    counts = np.bincount(np.minimum((values * bins).astype(int), bins - 1), minlength=bins)
    smooth = sum(np.roll(counts, shift) for shift in (-2, -1, 0, 1, 2))  # circular
    classes: list[ColourClass] = []
    taken = np.zeros(values.size, bool)
    for peak in np.argsort(smooth)[::-1]:
        if smooth[peak] < min_pixels:
            break
        centre = (peak + 0.5) / bins
        near = (_hue_distance(values, centre) <= HUE_TOLERANCE) & ~taken
        if near.sum() < min_pixels:
            continue
        # refine the centre on the circle: mean of the member hues' angles
        angles = values[near] * 2 * np.pi
        centre = float(np.arctan2(np.sin(angles).mean(), np.cos(angles).mean()) / (2 * np.pi)) % 1
        near = (_hue_distance(values, centre) <= HUE_TOLERANCE) & ~taken
        taken |= near
        typical = np.median(rgb[coloured][near], axis=0)
        classes.append(ColourClass(hue_name(typical), to_hex(typical), centre, int(near.sum())))
    return classes


def dark_class(rgb: np.ndarray) -> ColourClass:
    """The black / dark-grey ink."""
    weight = dark_weights(rgb)
    return ColourClass("black", "#000000", None, int((weight >= 1).sum()))


def dark_weights(rgb: np.ndarray) -> np.ndarray:
    """0-1 membership of the dark class: dark and unsaturated."""
    saturation = rgb.max(axis=-1) - rgb.min(axis=-1)
    dark = np.clip((DARK_MAX_LUMINANCE + 0.25 - luminance(rgb)) / 0.25, 0, 1)
    return dark * (saturation < 0.2)


def class_weights(rgb: np.ndarray, colour: ColourClass) -> np.ndarray:
    """0-1 membership of every pixel in ``colour`` (soft at anti-aliased edges)."""
    if colour.hue is None:
        return dark_weights(rgb)
    hue, weight = hue_weights(rgb)
    return weight * (_hue_distance(hue, colour.hue) <= HUE_TOLERANCE)


def unique_names(classes: list[ColourClass]) -> list[str]:
    """Names for files and tables: 'blue', 'red'; repeated names get a number ('blue_2')."""
    names: list[str] = []
    for colour in classes:
        name = colour.name.replace(" ", "_")
        if name in names:
            name = f"{name}_{sum(n.startswith(name) for n in names) + 1}"
        names.append(name)
    return names
