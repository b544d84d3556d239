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


@pytest.mark.parametrize("process", [False, True], ids=["thread", "process"])
def test_checkpoints_at_an_interval_and_on_shutdown(store, process):
    """In a thread, or in a child process (the demo) that reports every result back."""
    ctx = context(store)
    with sv.Checkpointer(store, interval_s=0.05, process=process) as running:
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


@pytest.mark.parametrize("process", [False, True], ids=["thread", "process"])
def test_a_refused_checkpoint_is_logged_and_the_thread_goes_on(store, caplog, process):
    ctx = context(store)
    to_randomised(ctx)
    sv.checkpoint(store)
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_trail SET leaf_hash = NULL WHERE seq = 2"))
    checkpointer = sv.Checkpointer(store, interval_s=3600, process=process).start()
    assert checkpointer.stop() is None
    assert len(checkpointer.errors) == 1  # the final tick, refused once (not retried here)
    assert "no longer match the checkpoint" in checkpointer.errors[0]
    assert "audit checkpoint refused" in caplog.text
    assert "checkpointer process ended" not in caplog.text


def test_ticks_between_full_ones_extend_the_last_signed_tree(store, monkeypatch):
    """With full_every=3 the first tick and every third read every stored leaf; the ticks
    between read only the new ones; the last (stop) is full again. By default every tick
    is full (a server's)."""
    import talentop.store.log as log

    calls = []
    real = log.stored_leaves
    monkeypatch.setattr(log, "stored_leaves", lambda session: calls.append(1) or real(session))
    ctx = sv.Context(store, context(store).protocol, "system")
    assert sv.Checkpointer(store, interval_s=3600).full_every == 1
    with pytest.raises(ValueError, match="full_every=0"):
        sv.Checkpointer(store, interval_s=3600, full_every=0)
    checkpointer = sv.Checkpointer(store, interval_s=3600, full_every=3)
    for n in range(4):
        sv.create_site(ctx, f"S{n}", f"Site {n}")
        assert checkpointer.tick().path is not None
    assert len(calls) == 2  # ticks 1 and 4
    final = checkpointer.stop()
    assert len(calls) == 3 and final.path is None  # nothing new: not written, but checked
    report = sv.verify(store)
    assert report.ok and report.uncovered == 0


def test_when_the_checkpointer_process_dies_the_last_checkpoint_is_signed_here(store, caplog):
    ctx = context(store)
    checkpointer = sv.Checkpointer(store, interval_s=3600, process=True).start()
    to_randomised(ctx)
    checkpointer._child.kill()
    final = checkpointer.stop()
    assert final is not None and final.path is not None
    assert "audit checkpointer process ended with exit code -9" in caplog.text
    report = sv.verify(store)
    assert report.ok and report.uncovered == 0


def test_interval_from_the_environment(monkeypatch):
    monkeypatch.setenv(CHECKPOINT_INTERVAL_ENV, "12.5")
    assert checkpoint_interval() == 12.5 and checkpoint_interval(3) == 3
    monkeypatch.delenv(CHECKPOINT_INTERVAL_ENV)
    assert checkpoint_interval() == 300


@pytest.mark.parametrize("process", [False, True], ids=["thread", "process"])
def test_request_stop_lets_the_caller_go_on_while_the_last_checkpoint_is_signed(store, process):
    """``request_stop()`` returns at once (the demo analyses meanwhile, reading the
    database); ``stop()`` then returns the final checkpoint, covering every entry written
    before the request."""
    ctx = context(store)
    checkpointer = sv.Checkpointer(store, interval_s=3600, process=process).start()
    to_randomised(ctx)
    checkpointer.request_stop()
    checkpointer.request_stop()  # twice is harmless
    sv.patient_timelines(sv.Context(store, ctx.protocol, "system"))  # a read meanwhile
    final = checkpointer.stop()
    assert final is not None and final.path is not None
    report = sv.verify(store)
    assert report.ok and report.uncovered == 0 and final.head.size == report.rows
    assert checkpointer.errors == []
