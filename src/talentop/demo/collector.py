"""Fewer cyclic-garbage collections while a demo runs its cohort through the services.

The demo allocates millions of short-lived objects (ORM rows, audit snapshots, RECIST
fractions), and Python's default thresholds (700, 10, 10) then run about 1,300
collections that also scan every module, compiled statement and mapper loaded at start.
Frozen (``gc.freeze``: what exists at the start is never scanned again) and with larger
thresholds, the 627-patient demo spends 0.27 s instead of 0.7 s collecting
(docs/benchmarks.md, "Write path, round 8"); its results are the same. The API server does
the same for its whole life (``talentop.api.app``).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: (generation 0 allocations, generation 0 runs per generation 1, generation 1 runs per 2).
BULK_THRESHOLDS = (50_000, 50, 100)


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Freeze what exists and raise the thresholds for the block; restored after it. The
    objects frozen here go back to the oldest generation, unless some were frozen before
    (a server's: ``gc.unfreeze`` cannot tell them apart, so all stay frozen)."""
    before = gc.get_threshold()
    frozen_before = gc.get_freeze_count()
    gc.freeze()
    gc.set_threshold(*BULK_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        if not frozen_before:
            gc.unfreeze()
