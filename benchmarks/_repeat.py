"""What every benchmark shares: repeat the measurement, report each run and the median.

A single timing on the shared 2-core machine swings with other people's jobs; the median
of at least 3 runs (each timing ours and the peer back to back, on the same data) is the
figure quoted in docs/benchmarks.md.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from typing import Any

RUNS = 3


def timed(func: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = func()
    return result, time.perf_counter() - start


def load() -> str:
    """The 1-minute load average and the core count, printed with every run."""
    return f"load {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"


def median(values: list[float]) -> float:
    return statistics.median(values)


def check_runs(runs: int) -> int:
    if runs < RUNS:
        raise SystemExit(f"--runs {runs}: expected at least {RUNS} (the median of 3 is quoted)")
    return runs
