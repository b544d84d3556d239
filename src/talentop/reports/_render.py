"""Turn a matplotlib figure into the PNG and SVG a self-contained report embeds."""

from __future__ import annotations

import base64
import contextvars
import functools
import io
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import matplotlib

# The report is written by batch jobs and CI without a display: never pick a GUI backend.
matplotlib.use("Agg", force=False)

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

#: Text stays text in SVG (searchable, testable), and the fonts are the same everywhere.
RC = {
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "talentop",  # deterministic ids: the same run gives the same SVG
}

F = TypeVar("F", bound=Callable[..., Any])

#: Arm colours, colour-blind safe (Okabe-Ito blue and orange), then more for k groups.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")


def styled(func: F) -> F:
    """Run a figure-drawing function inside the house style (font sizes apply at creation)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with plt.rc_context(RC):
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def new_figure(width_in: float, height_in: float) -> Figure:
    """A figure not attached to pyplot's global state (safe in threads and tests)."""
    return Figure(figsize=(width_in, height_in), dpi=110)


class _Pending:
    """A figure a child is drawing (``talentop.reports.render_pool``); if the child fails,
    the figure is drawn here instead."""

    def __init__(self, job: Any, fig: Figure):
        self._job: Any = job
        self._fig: Figure | None = fig
        self._output: tuple[bytes, str] | None = None
        self._lock = threading.Lock()

    def result(self) -> tuple[bytes, str]:
        with self._lock:
            if self._output is None:
                try:
                    self._output = self._job.result()
                except Exception:  # the child failed: the same figure, drawn here
                    assert self._fig is not None
                    self._output = _draw(self._fig)
                self._fig = self._job = None
            return self._output


@dataclass(frozen=True)
class RenderedFigure:
    """One figure as PNG bytes and SVG text, with its name (file stem) and caption.

    ``output`` is the (PNG, SVG) pair, or a figure still being drawn by a child process:
    ``png`` and ``svg`` wait for it."""

    name: str
    caption: str
    output: tuple[bytes, str] | _Pending

    @property
    def png(self) -> bytes:
        return self._drawn()[0]

    @property
    def svg(self) -> str:
        return self._drawn()[1]

    def _drawn(self) -> tuple[bytes, str]:
        output = self.output
        return output.result() if isinstance(output, _Pending) else output

    @property
    def png_base64(self) -> str:
        return base64.b64encode(self.png).decode("ascii")

    @property
    def svg_base64(self) -> str:
        """The SVG as a data URI payload: sharp at any width, text kept as text."""
        return base64.b64encode(self.svg.encode("utf-8")).decode("ascii")

    def write(self, directory: Path) -> list[Path]:
        """Write ``<name>.png`` and ``<name>.svg`` into ``directory``; return both paths."""
        directory.mkdir(parents=True, exist_ok=True)
        png_path = directory / f"{self.name}.png"
        svg_path = directory / f"{self.name}.svg"
        png_path.write_bytes(self.png)
        svg_path.write_text(self.svg, encoding="utf-8")
        return [png_path, svg_path]


#: The pool whose children ``render`` hands figures to, while ``rendering_in(pool)`` is active.
_POOL: contextvars.ContextVar[Any] = contextvars.ContextVar("talentop_render_pool", default=None)


@contextmanager
def rendering_in(pool: Any) -> Iterator[None]:
    """While active, ``render`` hands each figure to a child of ``pool`` (another process)
    and returns at once; the caller goes on drawing the next figure."""
    token = _POOL.set(pool)
    try:
        yield
    finally:
        _POOL.reset(token)


def _draw(fig: Figure) -> tuple[bytes, str]:
    """The figure as PNG (150 dpi) and SVG (text kept as text)."""
    with plt.rc_context(RC):
        png_buffer = io.BytesIO()
        fig.savefig(png_buffer, format="png", dpi=150, bbox_inches="tight", facecolor="white")
        svg_buffer = io.StringIO()
        fig.savefig(svg_buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    return png_buffer.getvalue(), svg_buffer.getvalue()


def render(fig: Figure, name: str, caption: str = "") -> RenderedFigure:
    """Render ``fig`` to PNG (150 dpi) and SVG (text kept as text): here, or in a forked
    child when ``rendering_in(pool)`` is active and a worker is free (the same bytes)."""
    pool = _POOL.get()
    job = pool.start(fig) if pool is not None else None
    if job is not None:
        return RenderedFigure(name, caption, _Pending(job, fig))
    return RenderedFigure(name, caption, _draw(fig))
