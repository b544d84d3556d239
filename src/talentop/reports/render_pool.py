"""Figures rendered to PNG and SVG in forked children while the caller draws the next ones.

Rendering (two ``savefig`` calls, each with a tight-bounding-box pass) is about 70 % of
writing a report, and it runs in one Python thread. Inside
``talentop.reports.rendering_in(pool)``, ``render`` forks a child for each figure (up to
``workers`` at a time): the child already holds the figure and every imported module, so
there is nothing to pickle or import; it draws the figure, writes the PNG and SVG to a
private file in the pool's temporary folder and exits, while the caller goes on. The
bytes are read where the report reads the figure (before the pool closes). When every
worker is busy, or ``os.fork`` does not exist (Windows), or a child fails, the figure is
drawn in the caller's process instead: the same bytes either way
(tests/reports/test_render_pool.py).

Fork safety: the child only draws with matplotlib and leaves with ``os._exit`` (no
``atexit``, no finaliser touches the caller's files or database connections). A caller
with other threads must not have them using matplotlib while it renders (the demo's
only other thread is its progress bar's refresh). Written here (about 80 lines) because
``concurrent.futures.ProcessPoolExecutor`` would pickle every figure and its "spawn"
workers re-run the caller's ``__main__`` and import matplotlib again (1-2 s each; that
contended with the demo's services when tried).
"""

from __future__ import annotations

import os
import pickle
import tempfile
from typing import Any

from talentop.reports._render import _draw


class _Forked:
    """One figure drawn by a child: ``result()`` waits for it and returns (PNG, SVG), or
    raises ``RuntimeError`` if the child failed (the caller then draws it itself)."""

    def __init__(self, pid: int, path: str):
        self.pid, self.path = pid, path
        self._status: int | None = None

    def done(self) -> bool:
        if self._status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid != 0:
                self._status = status
        return self._status is not None

    def wait(self) -> None:
        if self._status is None:
            self._status = os.waitpid(self.pid, 0)[1]

    def result(self) -> tuple[bytes, str]:
        try:
            self.wait()
            if os.waitstatus_to_exitcode(self._status) != 0:
                raise RuntimeError(f"figure child {self.pid} ended with status {self._status}")
            with open(self.path, "rb") as handle:
                png, svg = pickle.load(handle)
            return png, svg
        finally:
            if os.path.exists(self.path):
                os.unlink(self.path)


class RenderPool:
    """At most ``workers`` figure children at a time (see the module doc)."""

    def __init__(self, workers: int = 2):
        if workers < 1:
            raise ValueError(f"workers={workers}: expected a whole number >= 1")
        self.workers = workers
        self._running: list[_Forked] = []
        self._folder = tempfile.TemporaryDirectory(prefix="talentop-figures-")
        #: What a child draws with (a test replaces it to make children fail).
        self.draw = _draw

    def start(self, fig: Any) -> _Forked | None:
        """Fork a child drawing ``fig``; None when the caller should draw it itself (every
        worker busy, or no ``os.fork``)."""
        if not hasattr(os, "fork"):
            return None
        self._running = [job for job in self._running if not job.done()]
        if len(self._running) >= self.workers:
            return None
        fd, path = tempfile.mkstemp(suffix=".pickle", dir=self._folder.name)
        pid = os.fork()
        if pid == 0:  # the child: draw, write, leave without running anything of the caller's
            code = 1
            try:
                with os.fdopen(fd, "wb") as handle:
                    pickle.dump(self.draw(fig), handle, protocol=pickle.HIGHEST_PROTOCOL)
                code = 0
            finally:
                os._exit(code)
        os.close(fd)
        job = _Forked(pid, path)
        self._running.append(job)
        return job

    def close(self) -> None:
        """Wait for every child and remove their files: read the figures before (one read
        after is drawn in the caller's process)."""
        for job in self._running:
            job.wait()
        self._running = []
        self._folder.cleanup()

    def __enter__(self) -> RenderPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
