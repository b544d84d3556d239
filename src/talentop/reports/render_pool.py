"""Figures rendered to PNG and SVG in worker processes while the caller draws the next ones.

Rendering (two ``savefig`` calls, each with a tight-bounding-box pass) is about 70 % of
writing a report, and it runs in one Python thread. A ``RenderPool`` keeps ``workers``
processes (``python -m talentop.reports._render_worker``, started ahead, so their
matplotlib import is paid while the caller does something else); inside
``talentop.reports.rendering_in(pool)``, ``render`` pickles each figure, hands it to the
next free worker and returns at once, and the figure's PNG and SVG are awaited only where
they are read. A pickled figure renders to the same bytes (tests/reports). Written here
(about 100 lines) rather than with ``concurrent.futures.ProcessPoolExecutor`` because
its "spawn" workers re-run the caller's ``__main__`` and "fork" copies the caller's
threads and open database connections.
"""

from __future__ import annotations

import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
from concurrent.futures import Future
from typing import Any

_LENGTH = struct.Struct("<Q")


def send(stream: Any, payload: bytes) -> None:
    """One length-prefixed message."""
    stream.write(_LENGTH.pack(len(payload)) + payload)
    stream.flush()


def receive(stream: Any) -> bytes | None:
    """The next message, or None at the end of the stream."""
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    (size,) = _LENGTH.unpack(head)
    payload = stream.read(size)
    if len(payload) < size:
        return None
    return payload


class RenderPool:
    """``workers`` render processes fed from one queue (the next free worker takes the
    next figure). A worker that fails fails its figure's future, and the figure is drawn
    in the caller's process instead (``_render._Pending``)."""

    def __init__(self, workers: int = 2):
        self._jobs: queue.Queue[tuple[bytes, Future] | None] = queue.Queue()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self._processes = [
            subprocess.Popen(
                [sys.executable, "-m", "talentop.reports._render_worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=env,
            )
            for _ in range(workers)
        ]
        self._threads = [
            threading.Thread(target=self._feed, args=(p,), name="render-pool", daemon=True)
            for p in self._processes
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, payload: bytes) -> Future:
        """A pickled figure -> the future of its (PNG, SVG)."""
        future: Future = Future()
        self._jobs.put((payload, future))
        return future

    def _feed(self, process: subprocess.Popen) -> None:
        alive = True
        while (job := self._jobs.get()) is not None:
            payload, future = job
            if not alive:
                future.set_exception(RuntimeError("render worker ended"))
                continue
            try:
                send(process.stdin, payload)
                answer = receive(process.stdout)
                if answer is None:
                    raise RuntimeError(f"render worker ended ({process.poll()})")
                kind, value = pickle.loads(answer)
                if kind != "ok":
                    raise RuntimeError(value)
                future.set_result(value)
            except Exception as error:  # the caller draws this figure itself
                alive = alive and process.poll() is None
                future.set_exception(error)
        try:
            process.stdin.close()
        except OSError:
            pass
        process.wait()
        process.stdout.close()

    def close(self) -> None:
        """Let the workers finish what they were given, then end them."""
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join()

    def __enter__(self) -> RenderPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
