"""The PostgreSQL writers' gate (issue 17): at most N write transactions of a process at
once, admitted in arrival order, re-entrant for the thread inside (never waits for
itself)."""

from __future__ import annotations

import threading
import time

from talentop.store.engine import _FifoGate


def test_gate_admits_at_most_its_size_at_once():
    gate = _FifoGate(3)
    inside, peak, lock = 0, 0, threading.Lock()

    def worker() -> None:
        nonlocal inside, peak
        gate.acquire()
        with lock:
            inside += 1
            peak = max(peak, inside)
        time.sleep(0.01)
        with lock:
            inside -= 1
        gate.release()

    threads = [threading.Thread(target=worker) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert peak == 3 and inside == 0


def test_gate_admits_in_arrival_order():
    gate = _FifoGate(1)
    order: list[int] = []
    gate.acquire()  # hold the only place while the others queue up one by one

    def worker(n: int) -> None:
        gate.acquire()
        order.append(n)
        gate.release()

    threads = []
    for n in range(6):
        t = threading.Thread(target=worker, args=(n,))
        t.start()
        threads.append(t)
        time.sleep(0.02)  # arrive in order 0, 1, 2, ...
    gate.release()
    for t in threads:
        t.join(10)
    assert order == list(range(6))


def test_gate_is_reentrant_for_the_thread_inside():
    gate = _FifoGate(1)
    gate.acquire()
    gate.acquire()  # a nested transaction of the same thread passes
    gate.release()
    released = threading.Event()

    def other() -> None:
        gate.acquire()
        released.set()
        gate.release()

    t = threading.Thread(target=other)
    t.start()
    assert not released.wait(0.1)  # still held by the outer level
    gate.release()
    assert released.wait(5)
    t.join(5)


def test_writers_setting_is_checked(monkeypatch):
    import pytest

    from talentop.errors import InvalidInput
    from talentop.store import engine

    monkeypatch.setenv("TALENTOP_WRITERS", "")
    assert engine._writers() == engine.WRITERS
    monkeypatch.setenv("TALENTOP_WRITERS", "0")
    assert engine._writers() == 0
    monkeypatch.setenv("TALENTOP_WRITERS", "many")
    with pytest.raises(InvalidInput, match="TALENTOP_WRITERS"):
        engine._writers()
