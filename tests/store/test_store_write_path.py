"""The write path (docs/concurrency.md): audit entries queued per transaction and inserted
together, savepoints that drop their own entries and nothing else, Core inserts that leave
the session as the ORM would, transactions without savepoints, and SQLite writers in
several processes."""

from __future__ import annotations

import multiprocessing
import stat

import pytest
import sqlalchemy as sa

from talentop.store import Store, verify_audit, writes
from talentop.store import models as m

pytestmark = pytest.mark.db


def audited(store) -> list[tuple[str, str, str]]:
    """The audit entries of sites (the fresh database already logs its key registration)."""
    with store.read_only() as session:
        rows = session.execute(
            sa.select(m.AuditEntry.entity, m.AuditEntry.entity_id, m.AuditEntry.action)
            .where(m.AuditEntry.entity == "sites")
            .order_by(m.AuditEntry.id)
        ).all()
    return [tuple(r) for r in rows]


def site_codes(store) -> list[str]:
    with store.read_only() as session:
        return list(session.execute(sa.select(m.Site.code).order_by(m.Site.id)).scalars())


def ok(store) -> None:
    with store.unit_of_work() as session:
        report = verify_audit(session)
    assert report.ok, report.problems[:3]


def test_entries_are_inserted_together_at_commit(store):
    """Nothing reaches the audit table before the transaction commits (one executemany);
    all of the transaction's entries do, in the order they were appended."""
    statements: list[str] = []

    def watch(conn, cursor, statement, params, context, executemany):
        if "audit_trail" in statement:
            statements.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", watch)
    try:
        with store.unit_of_work() as session:
            site = writes.insert(session, "alice", m.Site(code="A", name="A"))
            writes.update(session, "bob", site, name="A renamed")
            writes.insert(session, "alice", m.Site(code="B", name="B"))
            assert statements == []
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", watch)
    assert len(statements) == 1 and statements[0].startswith("INSERT INTO audit_trail")
    assert audited(store) == [
        ("sites", "1", "create"),
        ("sites", "1", "update"),
        ("sites", "2", "create"),
    ]
    ok(store)


def test_a_read_of_the_log_sees_the_transactions_own_entries(store):
    with store.unit_of_work() as session:
        writes.insert(session, "alice", m.Site(code="A", name="A"))
        count = session.execute(
            sa.select(sa.func.count()).where(m.AuditEntry.entity == "sites")
        ).scalar_one()
        assert count == 1


def test_a_savepoint_that_fails_drops_its_entries_only(store):
    with store.transaction():
        with store.unit_of_work() as session:
            writes.insert(session, "alice", m.Site(code="KEPT", name="kept"))
        with pytest.raises(RuntimeError), store.unit_of_work() as session:
            writes.insert(session, "alice", m.Site(code="GONE", name="gone"))
            raise RuntimeError("this call fails alone")
        with store.unit_of_work() as session:
            writes.insert(session, "alice", m.Site(code="AFTER", name="after"))
    assert site_codes(store) == ["KEPT", "AFTER"]
    assert [e[0] for e in audited(store)] == ["sites", "sites"]
    ok(store)


def test_entries_flushed_inside_a_failed_savepoint_are_queued_again(store):
    """A read of the log inside a savepoint inserts the queue there; the savepoint's
    rollback undoes those rows, so the enclosing transaction's entries go back in the queue
    and are written at commit; the savepoint's own are gone."""
    with store.transaction() as outer:
        writes.insert(outer, "alice", m.Site(code="BEFORE", name="before"))
        with pytest.raises(RuntimeError), store.unit_of_work() as session:
            writes.insert(session, "alice", m.Site(code="INSIDE", name="inside"))
            session.execute(sa.select(sa.func.count()).select_from(m.AuditEntry)).scalar_one()
            with store.unit_of_work() as inner:  # a nested savepoint that commits
                writes.insert(inner, "alice", m.Site(code="NESTED", name="nested"))
            raise RuntimeError("the savepoint rolls back")
        writes.insert(outer, "alice", m.Site(code="AFTER", name="after"))
    assert site_codes(store) == ["BEFORE", "AFTER"]
    with store.read_only() as session:
        ids = session.execute(sa.select(m.Site.id).order_by(m.Site.id)).scalars().all()
    assert [e[1] for e in audited(store)] == [str(i) for i in ids]
    ok(store)


def test_a_rolled_back_transaction_leaves_no_entry_and_no_queue(store):
    session = store._sessions()
    with session.begin():
        writes.insert(session, "alice", m.Site(code="X", name="x"))
        session.rollback()
    with session.begin():
        writes.insert(session, "alice", m.Site(code="Y", name="y"))
    session.close()
    assert site_codes(store) == ["Y"] and len(audited(store)) == 1
    ok(store)


def test_without_savepoints_a_failed_call_forces_the_rollback(store):
    """``transaction(savepoints=False)``: calls join without a savepoint; once one failed,
    leaving the block normally raises and nothing is kept, even if the caller swallowed
    the error."""
    with pytest.raises(RuntimeError, match="without savepoints"):
        with store.transaction(savepoints=False):
            with store.unit_of_work() as session:
                writes.insert(session, "alice", m.Site(code="A", name="a"))
            try:
                with store.unit_of_work() as session:
                    writes.insert(session, "alice", m.Site(code="B", name="b"))
                    raise ValueError("a call fails")
            except ValueError:
                pass
    assert site_codes(store) == [] and audited(store) == []
    with store.transaction(savepoints=False):
        for code in ("C", "D"):
            with store.unit_of_work() as session:
                writes.insert(session, "alice", m.Site(code=code, name=code))
    assert site_codes(store) == ["C", "D"]
    ok(store)


def test_inserted_rows_are_attached_as_loaded(store):
    """A Core insert leaves the object as the ORM's flush did: in the identity map, every
    column set (Python defaults applied), nothing pending; ``writes.update`` on it writes
    and audits the change."""
    with store.unit_of_work() as session:
        site = writes.insert(session, "alice", m.Site(code="S", name="S"))
        assert site.id is not None and site.created_at is not None and site.country is None
        assert session.get(m.Site, site.id) is site
        assert not session.new and not session.dirty
        loaded = session.execute(sa.select(m.Site).where(m.Site.code == "S")).scalar_one()
        assert loaded is site
        writes.update(session, "bob", site, name="S renamed")
        assert not session.dirty
    with store.read_only() as session:
        assert session.execute(sa.select(m.Site.name)).scalar_one() == "S renamed"
    ok(store)


def test_insert_all_keeps_the_order_of_ids_and_entries(store):
    with store.unit_of_work() as session:
        rows = writes.insert_all(
            session, "alice", [m.Site(code=f"S{i}", name=f"site {i}") for i in range(5)]
        )
        assert [r.id for r in rows] == sorted(r.id for r in rows)
        assert [r.code for r in rows] == [f"S{i}" for i in range(5)]
    assert [e[1] for e in audited(store)] == [str(r.id) for r in rows]
    ok(store)


def _write_sites(url: str, key_dir: str, checkpoint_dir: str, prefix: str, n: int) -> None:
    from pathlib import Path

    from talentop.store import KeyRing

    store = Store(url, keys=KeyRing(Path(key_dir), Path(checkpoint_dir)))
    for i in range(n):
        with store.unit_of_work() as session:
            writes.insert(session, "alice", m.Site(code=f"{prefix}{i}", name="concurrent"))
    store.dispose()


def test_sqlite_writers_in_several_processes_all_commit(store):
    """Processes queue on the writer lock file (0600, beside the database) and every write
    commits with its audit entry."""
    if not store.is_sqlite:
        pytest.skip("the writer queue is SQLite's")
    with store.unit_of_work() as session:  # the first write creates the lock file
        writes.insert(session, "alice", m.Site(code="FIRST", name="first"))
    lock_file = store._process_writer.path
    assert lock_file.exists() and stat.S_IMODE(lock_file.stat().st_mode) == 0o600
    store.dispose()
    mp = multiprocessing.get_context("fork")
    args = (store.url, str(store.keys.key_dir), str(store.keys.checkpoint_dir))
    procs = [mp.Process(target=_write_sites, args=(*args, f"P{p}-", 15)) for p in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
        assert proc.exitcode == 0
    assert len(site_codes(store)) == 61 and len(audited(store)) == 61
    ok(store)


def test_the_acting_user_is_read_once_per_transaction(store):
    """``queries.user_by_name`` keeps the row for the rest of its transaction (every
    service call of a request checks the acting user); the next transaction reads again
    and sees a change committed in between."""
    from talentop.store import queries

    with store.unit_of_work() as session:
        writes.insert(session, "system", m.User(username="ann", role="investigator"))
    statements: list[str] = []

    def watch(conn, cursor, statement, params, context, executemany):
        if "FROM users" in statement:
            statements.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", watch)
    try:
        with store.unit_of_work() as session:
            first = queries.user_by_name(session, "ann")
            assert queries.user_by_name(session, "ann") is first
            assert queries.user_by_name(session, "nobody") is None
            assert queries.user_by_name(session, "nobody") is None  # not found: read again
        assert len(statements) == 3
        with store.unit_of_work() as session:
            session.execute(sa.update(m.User).where(m.User.username == "ann").values(active=False))
        with store.unit_of_work() as session:
            assert queries.user_by_name(session, "ann").active is False
        assert len(statements) == 4
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", watch)
