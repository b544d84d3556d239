"""The check picture of a digitised figure: what was extracted, drawn over the original.

The original is shown faded; the plot area found is outlined with its calibrated ends
labelled; each extracted step curve is drawn thin in a contrasting colour with a dot at each
step's ends, labelled with its name at its end. A person sees at a glance whether every
step, the end of each curve and the axes were read right.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from talentop.ipd.digitise import Digitised

#: Drawing colours for the extracted curves: dark, and apart from common curve colours.
_TRACE_COLOURS = ("#111111", "#7a1fa2", "#00796b", "#c2185b", "#5d4037", "#1a237e")


def overlay_png(rgb: np.ndarray, digitised: Digitised) -> bytes:
    """PNG bytes, the size of the original image, with the extraction drawn over it."""
    height, width = rgb.shape[:2]
    dpi = 100
    fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(0.45 * rgb + 0.55, interpolation="nearest")  # faded towards white
    area = digitised.area
    ax.plot([area.left, area.right, area.right, area.left, area.left],
            [area.bottom, area.bottom, area.top, area.top, area.bottom],
            color="#2e7d32", lw=1, ls="--")  # fmt: skip
    for (x, y), label, align in (
        ((area.left, area.bottom), f"({area.x_range[0]:g}, {area.y_range[0]:g})", "right"),
        ((area.right, area.bottom), f"x = {area.x_range[1]:g}", "left"),
        ((area.left, area.top), f"y = {area.y_range[1]:g}", "right"),
    ):
        ax.annotate(label, (x, y), xytext=(-4 if align == "right" else 4, 4),
                    textcoords="offset points", ha=align, fontsize=8, color="#2e7d32")  # fmt: skip
    calibration = area.calibration
    scale = 100.0 if digitised.percent else 1.0
    for index, curve in enumerate(digitised.curves):
        colour = _TRACE_COLOURS[index % len(_TRACE_COLOURS)]
        columns = np.array([calibration.column(t) for t in curve.clicks["time"]])
        rows = np.array([calibration.row(s * scale) for s in curve.clicks["survival"]])
        ax.plot(columns, rows, color=colour, lw=0.8)
        ax.plot(columns, rows, ls="none", marker=".", ms=2.5, color=colour)
        ax.annotate(
            curve.name,
            (columns[-1], rows[-1]),
            xytext=(3, -10 - 10 * index),
            textcoords="offset points",
            fontsize=9,
            fontweight="bold",
            color=colour,
        )
    ax.set_xlim(-0.5, width - 0.5)
    ax.set_ylim(height - 0.5, -0.5)
    ax.axis("off")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
