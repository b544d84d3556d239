"""The background checkpointer a server or the demo runs: a checkpoint at an interval when
the log grew, one on shutdown, and a refused checkpoint logged (not raised) when the log no
longer extends the last one."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from flow_helpers import context, to_randomised
from talentop import services as sv
from talentop.services.audit import CHECKPOINT_INTERVAL_ENV, checkpoint_interval

pytestmark = pytest.mark.db


def test_checkpoints_at_an_interval_and_on_shutdown(store):
    ctx = context(store)
    with sv.Checkpointer(store, interval_s=0.05) as running:
        to_randomised(ctx)
        deadline = time.monotonic() + 10
        while not running.written and time.monotonic() < deadline:
            time.sleep(0.05)
        assert running.written, "no checkpoint within 10 s at a 0.05 s interval"
        sv.record_follow_up(ctx, 1, "2025-06-01", status="alive")
    final = running.written[-1]
    report = sv.verify(store)
    assert report.ok and report.uncovered == 0 and final.head.size == report.rows
    assert running.errors == []
    sizes = [r.head.size for r in running.written]
    assert sizes == sorted(set(sizes))  # only when the log grew


def test_a_refused_checkpoint_is_logged_and_the_thread_goes_on(store, caplog):
    ctx = context(store)
    to_randomised(ctx)
    sv.checkpoint(store)
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_trail SET leaf_hash = NULL WHERE seq = 2"))
    checkpointer = sv.Checkpointer(store, interval_s=3600).start()
    assert checkpointer.stop() is None
    assert "no longer match the checkpoint" in checkpointer.errors[0]
    assert "audit checkpoint refused" in caplog.text


def test_interval_from_the_environment(monkeypatch):
    monkeypatch.setenv(CHECKPOINT_INTERVAL_ENV, "12.5")
    assert checkpoint_interval() == 12.5 and checkpoint_interval(3) == 3
    monkeypatch.delenv(CHECKPOINT_INTERVAL_ENV)
    assert checkpoint_interval() == 300
