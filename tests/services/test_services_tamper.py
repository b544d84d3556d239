"""`verify` after tampering behind the services' back (QA finding 3): the newest audit rows
cut off, randomisations.arm flipped in its table, an entity row deleted. Each is named
by table and id, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from flow_helpers import context, day, to_randomised
from talentop import services as sv

pytestmark = pytest.mark.db


def raw(store, sql: str, **params) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.text(sql), params)


def test_tail_truncation_is_detected(store):
    ctx = context(store)
    pid, _ = to_randomised(ctx)
    sv.record_follow_up(ctx, pid, day(120), status="alive")
    report = sv.verify(store)
    assert report.ok
    # the newest rows: the follow-up contact (one audit row, nothing else changes)
    raw(store, "DELETE FROM audit_trail WHERE seq = :s", s=report.head_seq)
    after = sv.verify(store)
    assert after.head_seq == report.head_seq - 1
    assert [(p.kind, p.entity, p.seq) for p in after.problems] == [
        ("unaudited_row", "follow_up_contacts", 0)
    ]


def test_arm_flip_in_the_table_is_detected(store):
    ctx = context(store)
    _, arm = to_randomised(ctx)
    other = "B" if arm == "A" else "A"
    raw(store, "UPDATE randomisations SET arm = :arm", arm=other)
    problems = sv.verify(store).problems
    assert [(p.kind, p.entity, p.entity_id) for p in problems] == [
        ("row_differs", "randomisations", "1")
    ]
    assert f'arm is "{other}" in the table but "{arm}" in the trail' in problems[0].detail


def test_deleted_entity_row_is_detected(store):
    ctx = context(store)
    pid, _ = to_randomised(ctx)
    sv.record_follow_up(ctx, pid, day(120), status="alive")
    raw(store, "DELETE FROM follow_up_contacts")
    problems = sv.verify(store).problems
    assert [(p.kind, p.entity) for p in problems] == [("row_missing", "follow_up_contacts")]
