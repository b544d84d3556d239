"""Reconciliation of the audit trail with the tables: direct edits, deletions and rows
written without an audit entry are named by table and id (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from talentop.store import models as m
from talentop.store import verify_audit, writes

pytestmark = pytest.mark.db


def sites(store, n: int) -> None:
    with store.unit_of_work() as session:
        for i in range(n):
            writes.insert(session, "alice", m.Site(code=f"S{i}", name=f"Site {i}"))


def verify(store):
    with store.unit_of_work() as session:
        return verify_audit(session)


def raw(store, sql: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.text(sql))


def test_untouched_tables_reconcile(store):
    sites(store, 3)
    report = verify(store)
    # 3 sites + the randomisation secret of db init
    assert report.ok and report.table_rows == 4


def test_direct_table_edit_is_named_with_the_column(store):
    sites(store, 2)
    raw(store, "UPDATE sites SET name = 'Forged' WHERE code = 'S1'")
    report = verify(store)
    assert [(p.kind, p.entity, p.entity_id, p.seq) for p in report.problems] == [
        ("row_differs", "sites", "2", 3)
    ]
    assert report.problems[0].detail == (
        'sites 2 differs from its latest audit row 3 (create): name is "Forged" in the '
        'table but "Site 1" in the trail'
    )


def test_row_deleted_outside_the_services_is_named(store):
    sites(store, 2)
    raw(store, "DELETE FROM sites WHERE code = 'S0'")
    report = verify(store)
    assert [(p.kind, p.entity_id, p.seq) for p in report.problems] == [("row_missing", "1", 2)]
    assert "no longer in the table" in report.problems[0].detail


def test_row_inserted_without_audit_is_named(store):
    sites(store, 1)
    raw(store, "INSERT INTO sites (code, name, created_at) VALUES ('X', 'X', CURRENT_TIMESTAMP)")
    report = verify(store)
    assert [(p.kind, p.entity, p.seq) for p in report.problems] == [("unaudited_row", "sites", 0)]


def test_reconciliation_can_be_switched_off(store):
    sites(store, 1)
    raw(store, "UPDATE sites SET name = 'Forged'")
    with store.unit_of_work() as session:
        assert verify_audit(session, reconcile_tables=False).ok
