"""PostgreSQL's pooled connections: one that died while idle in the pool (server restart,
idle timeout, an administrator's ``pg_terminate_backend``) is replaced before any statement
runs on it, so the caller never sees the dead connection."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from talentop.store import engine as store_engine


def _backend_pid(store) -> int:
    with store.engine.connect() as conn:
        return conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()


def test_a_connection_killed_while_idle_is_replaced(store, monkeypatch):
    if store.is_sqlite:
        pytest.skip("SQLite: no server connection to lose")
    monkeypatch.setattr(store_engine, "PING_AFTER_IDLE_S", 0.0)  # every reuse counts as idle
    pid = _backend_pid(store)  # the pooled connection's server process
    admin = sa.create_engine(str(store.engine.url.render_as_string(hide_password=False)))
    try:
        with admin.connect() as conn:
            assert conn.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
    finally:
        admin.dispose()
    assert _backend_pid(store) != pid  # the dead one was pinged, dropped and replaced


def test_a_busy_connection_is_not_pinged(store, monkeypatch):
    if store.is_sqlite:
        pytest.skip("SQLite: no pool ping")
    pings = []
    original = store.engine.dialect.do_ping
    monkeypatch.setattr(store.engine.dialect, "do_ping", lambda c: pings.append(1) or original(c))
    for _ in range(3):
        _backend_pid(store)
    assert pings == []  # reused within PING_AFTER_IDLE_S: no extra round trip
    monkeypatch.setattr(store_engine, "PING_AFTER_IDLE_S", 0.0)
    _backend_pid(store)
    assert pings == [1]
