"""What every benchmark shares: repeat the measurement, report each run and the median.

A single timing on the shared 2-core machine swings with other people's jobs; the median
of at least 3 runs (each timing ours and the peer back to back, on the same data) is the
figure quoted in docs/benchmarks.md.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
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


@contextmanager
def postgres_schema(url: str) -> Iterator[tuple[str, str]]:
    """A throw-away schema on the server at ``url``, dropped with everything in it at the
    end: (its name, ``url`` with the schema as its ``search_path``)."""
    import sqlalchemy as sa

    schema = f"talentop_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema, f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def postgres_url(databases: Iterable[str]) -> str | None:
    """``TALENTOP_TEST_POSTGRES_URL`` when "postgresql" is among ``databases`` and the
    variable is set (else None, having said why when it is asked for but not set)."""
    if "postgresql" not in databases:
        return None
    url = os.environ.get("TALENTOP_TEST_POSTGRES_URL")
    if not url:
        print("PostgreSQL: skipped (set TALENTOP_TEST_POSTGRES_URL)")
    return url or None
