"""The audit log: one entry per write, sequenced into position later; edits, deletions and
moved entries are named (checkpoints and rehashing insiders: tests/services/test_services_log*)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from talentop.store import append_audit, verify_audit, writes
from talentop.store import models as m
from talentop.store.hashing import canonical_json
from talentop.store.log import SEQUENCER_LOCK_KEY, entry_leaf_hash, sequence
from talentop.store.merkle import MerkleTree

pytestmark = pytest.mark.db


def write_sites(store, n: int) -> None:
    for i in range(n):
        with store.unit_of_work() as session:
            site = writes.insert(session, "alice", m.Site(code=f"S{i}", name=f"Site {i}"))
            writes.update(session, "bob", site, name=f"Site {i} (renamed)")


def verify(store):
    with store.unit_of_work() as session:
        return verify_audit(session)


def raw(store, sql: str, **params) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.text(sql), params)


def test_leaf_hash_is_rfc6962_over_the_canonical_entry():
    """Independent recomputation with hashlib/json: SHA-256(0x00 || canonical JSON of the
    entry's position and content), RFC 6962 section 2.1 leaf hashing."""
    row = SimpleNamespace(
        id=7,
        seq=3,
        at=dt.datetime(2025, 1, 2, 3, 4, 5, 6),
        actor="alice",
        entity="sites",
        entity_id="1",
        action="create",
        before_json=None,
        after_json=canonical_json({"a": 1}),
    )
    document = {
        "action": "create",
        "actor": "alice",
        "after": '{"a":1}',
        "at": "2025-01-02T03:04:05.000006",
        "before": None,
        "entity": "sites",
        "entity_id": "1",
        "id": 7,
        "seq": 3,
    }
    expected = hashlib.sha256(
        b"\x00" + json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    ).digest()
    assert entry_leaf_hash(row) == expected


def test_every_write_is_one_entry_sequenced_in_order_with_before_and_after(store):
    write_sites(store, 2)
    with store.unit_of_work() as session:
        rows = list(session.execute(sa.select(m.AuditEntry).order_by(m.AuditEntry.id)).scalars())
        # Written: an id from the sequence, no position yet (except what db init sequenced).
        assert [r.seq for r in rows[1:]] == [None] * 4
        assert sequence(session) == 4 and sequence(session) == 0
    with store.unit_of_work() as session:
        rows = list(session.execute(sa.select(m.AuditEntry).order_by(m.AuditEntry.seq)).scalars())
    # entry 1: the randomisation key registered at init; then create + update per site.
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert [r.id for r in rows] == sorted(r.id for r in rows)
    assert [(r.entity, r.action, r.actor) for r in rows[1:3]] == [
        ("sites", "create", "alice"),
        ("sites", "update", "bob"),
    ]
    update = rows[2]
    assert json.loads(update.before_json)["name"] == "Site 0"
    assert json.loads(update.after_json)["name"] == "Site 0 (renamed)"
    assert all(r.leaf_hash == entry_leaf_hash(r).hex() for r in rows)
    report = verify(store)
    assert report.ok and report.rows == 5
    assert report.head_hash == MerkleTree([entry_leaf_hash(r) for r in rows]).root().hex()


def test_edited_entry_is_named(store):
    write_sites(store, 3)
    verify(store)  # sequences
    raw(store, "UPDATE audit_trail SET after_json = :v WHERE seq = 4", v='{"name":"forged"}')
    report = verify(store)
    assert not report.ok
    assert [(p.seq, p.kind) for p in report.problems if p.entity is None] == [(4, "edited")]
    assert "entry #4 (sites" in report.problems[0].detail
    assert "does not match its leaf hash" in report.problems[0].detail


def test_deleted_entry_leaves_a_named_gap(store):
    write_sites(store, 3)
    verify(store)
    raw(store, "DELETE FROM audit_trail WHERE seq = 3")
    report = verify(store)
    kinds = {(p.seq, p.kind) for p in report.problems}
    # Entry 3 was site 1's rename: the positions jump, and the site now differs from its
    # latest remaining entry (2, the create).
    assert kinds == {(4, "gap"), (2, "row_differs")}
    assert "entry/entries #3 missing before #4" in report.to_dict()["problems"][0]["detail"]


def test_deleted_last_entries_are_caught_by_reconciliation(store):
    """Without a checkpoint, cutting off the tail leaves gap-free positions, but the table
    rows those entries described no longer match the log (checkpoints: test_services_log)."""
    write_sites(store, 2)
    head = verify(store).head_hash
    raw(store, "DELETE FROM audit_trail WHERE seq = 5")  # site 2's rename
    after = verify(store)
    assert after.head_hash != head and after.head_seq == 4
    assert [(p.seq, p.kind, p.entity, p.entity_id) for p in after.problems] == [
        (4, "row_differs", "sites", "2")
    ]
    assert 'name is "Site 1 (renamed)" in the table but "Site 1" in the trail' in (
        after.problems[0].detail
    )
    raw(store, "DELETE FROM audit_trail WHERE seq >= 4")  # and its creation
    gone = verify(store)
    assert [(p.seq, p.kind, p.entity_id) for p in gone.problems] == [(0, "unaudited_row", "2")]
    assert "sites 2: the row has no audit entry" in gone.problems[0].detail


def test_swapped_positions_are_named(store):
    """A leaf commits to its position: swapping two entries' positions without rehashing
    breaks both (a rehashing insider is caught by a checkpoint instead)."""
    write_sites(store, 2)
    verify(store)
    raw(store, "UPDATE audit_trail SET seq = 100 WHERE seq = 2")
    raw(store, "UPDATE audit_trail SET seq = 2 WHERE seq = 3")
    raw(store, "UPDATE audit_trail SET seq = 3 WHERE seq = 100")
    report = verify(store)
    assert {(p.seq, p.kind) for p in report.problems if p.entity is None} == {
        (2, "edited"),
        (3, "edited"),
    }


def test_positions_follow_commit_visibility_not_write_order(store):
    """Sequencing is decoupled from writing: an entry written first but committed last is
    placed after the entries that committed before it, with no gap and no duplicate.
    PostgreSQL only: SQLite has one writer at a time, so ids always commit in order."""
    if store.is_sqlite:
        pytest.skip("SQLite writers never interleave (BEGIN IMMEDIATE)")
    slow = store._sessions()
    slow.begin()
    first = writes.insert(slow, "alice", m.Site(code="SLOW", name="written first"))
    first_entry_id = slow.execute(sa.select(sa.func.max(m.AuditEntry.id))).scalar_one()
    with store.unit_of_work() as session:
        writes.insert(session, "bob", m.Site(code="FAST", name="written second"))
    with store.unit_of_work() as session:
        assert sequence(session) == 1  # only the committed one is visible
    slow.commit()
    slow.close()
    with store.unit_of_work() as session:
        assert sequence(session) == 1
        rows = session.execute(
            sa.select(m.AuditEntry.id, m.AuditEntry.seq, m.AuditEntry.entity_id)
            .where(m.AuditEntry.entity == "sites")
            .order_by(m.AuditEntry.seq)
        ).all()
    assert [r.entity_id for r in rows] == ["2", str(first.id)]
    assert rows[-1].id == first_entry_id and rows[0].id > first_entry_id
    assert verify(store).ok


def test_writers_do_not_wait_for_the_sequencer(store):
    """PostgreSQL: a writer appends and commits while another session holds the
    sequencer's lock (writers take no log lock at all)."""
    if store.is_sqlite:
        pytest.skip("SQLite: the single write lock is the database's, not the log's")
    holder = store._sessions()
    holder.begin()
    holder.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": SEQUENCER_LOCK_KEY})
    try:
        with store.unit_of_work() as session:
            session.execute(sa.text("SET LOCAL lock_timeout = '500ms'"))
            writes.insert(session, "alice", m.Site(code="W", name="not blocked"))
    finally:
        holder.rollback()
        holder.close()
    assert verify(store).ok


def test_update_without_change_writes_no_row(store):
    with store.unit_of_work() as session:
        site = writes.insert(session, "alice", m.Site(code="S", name="S"))
        writes.update(session, "alice", site, name="S")
    with store.unit_of_work() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(m.AuditEntry)) == 2


def test_audit_append_rolls_back_with_the_change(store):
    with pytest.raises(RuntimeError):
        with store.unit_of_work() as session:
            writes.insert(session, "alice", m.Site(code="X", name="X"))
            raise RuntimeError("crash")
    assert verify(store).rows == 1 and verify(store).pending == 0
    with store.unit_of_work() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(m.Site)) == 0


def test_bytes_are_never_written_to_the_trail(store):
    with store.unit_of_work() as session:
        entry = append_audit(
            session,
            actor="x",
            entity="t",
            entity_id=1,
            action="create",
            before=None,
            after={"id": 1, "secret": b"\x01\x02"},
        )
        assert "redacted" in entry.after_json and "\\u0001" not in entry.after_json
