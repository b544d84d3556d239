"""The audit trail: one hashed row per write; edits, deletions and reordering are caught."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
import sqlalchemy as sa

from talentop.store import append_audit, verify_audit, writes
from talentop.store import models as m
from talentop.store.hashing import GENESIS_HASH, canonical_json, row_hash

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


def test_row_hash_is_sha256_of_canonical_json():
    """Independent recomputation with hashlib/json: the hash covers content + previous hash."""
    at = dt.datetime(2025, 1, 2, 3, 4, 5, 6)
    expected = hashlib.sha256(
        json.dumps(
            {
                "action": "create",
                "actor": "alice",
                "after": '{"a":1}',
                "at": "2025-01-02T03:04:05.000006",
                "before": None,
                "entity": "sites",
                "entity_id": "1",
                "prev_hash": GENESIS_HASH,
                "seq": 1,
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode()
    ).hexdigest()
    got = row_hash(
        seq=1,
        at=at,
        actor="alice",
        entity="sites",
        entity_id="1",
        action="create",
        before_json=None,
        after_json=canonical_json({"a": 1}),
        prev_hash=GENESIS_HASH,
    )
    assert got == expected


def test_every_write_is_one_chained_row_with_before_and_after(store):
    write_sites(store, 2)
    with store.unit_of_work() as session:
        rows = list(session.execute(sa.select(m.AuditEntry).order_by(m.AuditEntry.seq)).scalars())
    # row 1: secret created at init; then create + update per site.
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert [(r.entity, r.action, r.actor) for r in rows[1:3]] == [
        ("sites", "create", "alice"),
        ("sites", "update", "bob"),
    ]
    update = rows[2]
    assert json.loads(update.before_json)["name"] == "Site 0"
    assert json.loads(update.after_json)["name"] == "Site 0 (renamed)"
    assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:], strict=False))
    assert verify(store).ok and verify(store).rows == 5


def test_edited_row_is_named(store):
    write_sites(store, 3)
    raw(store, "UPDATE audit_trail SET after_json = :v WHERE seq = 4", v='{"name":"forged"}')
    report = verify(store)
    assert not report.ok
    assert [(p.seq, p.kind) for p in report.problems] == [(4, "edited")]
    assert (
        "row 4 (sites" in report.problems[0].detail
        and "does not match its hash" in report.problems[0].detail
    )


def test_deleted_row_is_named(store):
    write_sites(store, 3)
    raw(store, "DELETE FROM audit_trail WHERE seq = 3")
    report = verify(store)
    kinds = {(p.seq, p.kind) for p in report.problems}
    # Row 3 was site 1's rename: the chain breaks, and the site now differs from its
    # latest remaining entry (row 2, the create).
    assert kinds == {(4, "gap"), (4, "broken_link"), (2, "row_differs")}
    assert "row(s) 3 missing before row 4" in report.to_dict()["problems"][0]["detail"]


def test_deleted_last_rows_are_caught_by_reconciliation(store):
    """Truncating the tail leaves a valid-looking chain, but the table rows those audit
    rows described no longer match the trail; the head hash changes too."""
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


def test_reordered_rows_are_named(store):
    write_sites(store, 2)
    raw(store, "UPDATE audit_trail SET seq = 100 WHERE seq = 2")
    raw(store, "UPDATE audit_trail SET seq = 2 WHERE seq = 3")
    raw(store, "UPDATE audit_trail SET seq = 3 WHERE seq = 100")
    report = verify(store)
    assert {p.seq for p in report.problems} >= {2, 3}
    chain = {p.kind for p in report.problems if p.entity is None}
    assert chain == {"edited", "broken_link"}


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
    assert verify(store).rows == 1
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
