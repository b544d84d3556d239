"""Checkpoints under concurrency: writers and several checkpointers at once never make a
checkpointer refuse a genuine log, and the signed sizes only grow (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from talentop.store import models as m
from talentop.store import verify_audit, writes
from talentop.store.checkpoints import CheckpointFolder
from talentop.store.log import checkpoint

pytestmark = pytest.mark.db


def test_concurrent_writers_and_checkpointers(store):
    barrier = threading.Barrier(6)

    def writer(w: int) -> None:
        barrier.wait()
        for i in range(15):
            with store.unit_of_work() as session:
                writes.insert(session, "alice", m.Site(code=f"W{w}-{i}", name="site"))

    def checkpointer() -> list[int]:
        barrier.wait()
        return [checkpoint(store).head.size for _ in range(6)]

    with ThreadPoolExecutor(6) as pool:
        writes_done = [pool.submit(writer, w) for w in range(3)]
        signed = [pool.submit(checkpointer) for _ in range(3)]
        for future in writes_done:
            future.result()
        sizes = [size for future in signed for size in future.result()]
    final = checkpoint(store).head.size
    assert final == 1 + 3 * 15 and max(sizes) <= final
    heads = [c.head for c in CheckpointFolder(store.keys.checkpoint_dir).read()]
    assert all(h is not None for h in heads)
    assert [h.size for h in heads] == sorted(h.size for h in heads)  # never goes back
    with store.unit_of_work() as session:
        report = verify_audit(session, keys=store.keys)
    assert report.ok and report.checkpoints == len(heads) and report.uncovered == 0
