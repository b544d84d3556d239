"""The locks the allocation relies on are really taken (not just the happy path)."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa

from talentop.store import queries

pytestmark = pytest.mark.db


def test_stratum_counter_row_is_locked_until_commit(store):
    """PostgreSQL: a second transaction cannot lock the counter row (SELECT ... FOR UPDATE).
    SQLite: a second connection cannot even begin a write (BEGIN IMMEDIATE holds the lock)."""
    with store.unit_of_work() as session:
        counter, created = queries.lock_stratum_counter(session, "ecog=ecog0")
        assert created and counter.next_slot == 0
    with store.unit_of_work() as session:
        counter, created = queries.lock_stratum_counter(session, "ecog=ecog0")
        assert not created
        if store.is_postgresql:
            other = sa.create_engine(store.url, connect_args={"options": _search_path(store)})
            with other.connect() as conn, pytest.raises(sa.exc.OperationalError, match="lock"):
                conn.execute(sa.text("SET lock_timeout = '200ms'"))
                conn.execute(
                    sa.text(
                        "SELECT next_slot FROM stratum_counters WHERE stratum_key = 'ecog=ecog0' FOR UPDATE"
                    )
                )
            other.dispose()
        else:
            path = store.engine.url.database
            raw = sqlite3.connect(path, timeout=0.2, isolation_level=None)
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                raw.execute("BEGIN IMMEDIATE")
            raw.close()
    # After commit the row is free again.
    with store.unit_of_work() as session:
        counter, _ = queries.lock_stratum_counter(session, "ecog=ecog0")
        assert counter.next_slot == 0


def _search_path(store) -> str:
    with store.engine.connect() as conn:
        return f"-csearch_path={conn.execute(sa.text('SHOW search_path')).scalar_one()}"


def test_nested_transaction_in_one_thread_is_refused_on_sqlite(tmp_path):
    """SQLite only (the in-process writer queue does not exist for PostgreSQL): a second
    transaction opened by the thread holding the write lock would wait for itself."""
    from talentop.store import Store

    store = Store(f"sqlite:///{tmp_path / 'nested.db'}")
    try:
        with store.unit_of_work():
            with pytest.raises(RuntimeError, match="nested unit_of_work on SQLite"):
                with store.unit_of_work():
                    pass
        # The outer transaction released the queue: the next one starts normally.
        with store.unit_of_work() as session:
            assert session.execute(sa.text("SELECT 1")).scalar_one() == 1
    finally:
        store.dispose()
