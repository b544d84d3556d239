"""The write path's combined writes (issue 17): ``writes.write_together`` (one statement of
data-modifying CTEs on PostgreSQL, one statement per row elsewhere) and
``queries.take_stratum_slot`` (the slot taken by one ``UPDATE ... RETURNING``) leave the
same rows and the same audit entries as ``writes.insert``/``writes.update`` did, one
transaction each, and ``audit verify`` reconciles them."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from flow_helpers import context, day, to_induction
from talentop import services as sv
from talentop.errors import NotFound
from talentop.store import models as m
from talentop.store import queries, writes

pytestmark = pytest.mark.db


def _entries(store, entity: str, entity_id: str) -> list[tuple[str, dict | None, dict]]:
    with store.unit_of_work() as session:
        rows = session.execute(
            sa.select(m.AuditEntry)
            .where(m.AuditEntry.entity == entity, m.AuditEntry.entity_id == entity_id)
            .order_by(m.AuditEntry.id)
        ).scalars()
        return [
            (
                r.action,
                json.loads(r.before_json) if r.before_json else None,
                json.loads(r.after_json),
            )
            for r in rows
        ]


def _step(pid: int, to_state: str) -> m.StateChange:
    return m.StateChange(
        patient_id=pid, from_state="induction", to_state=to_state, on_date=day(5), actor="inv1"
    )


def test_write_together_matches_insert_and_update(store):
    """Two patients moved the same way, one with ``write_together`` (one statement on
    PostgreSQL), one with ``insert`` + ``update``: same rows, same audit entries (but ids and
    times), in the same order."""
    ctx = context(store)
    one, two = to_induction(ctx, "P001"), to_induction(ctx, "P002")
    with store.unit_of_work() as session:
        first = queries.get(session, m.Patient, one)
        step_one = _step(one, "assessed")
        writes.write_together(
            session, "inv1", [("insert", step_one), ("update", first, {"state": "assessed"})]
        )
        assert step_one.id is not None and first.state == "assessed"
        second = queries.get(session, m.Patient, two)
        step_two = _step(two, "assessed")
        writes.insert(session, "inv1", step_two)
        writes.update(session, "inv1", second, state="assessed")
    with store.unit_of_work() as session:
        assert queries.get(session, m.Patient, one).state == "assessed"
        assert session.get(m.StateChange, step_one.id).to_state == "assessed"

    def normal(entries, pid, step_id):
        out = []
        for action, before, after in entries:
            for image in (before, after):
                if image is not None:
                    image.pop("at", None)
                    image.pop("created_at", None)
                    image["id"] = "pid" if image["id"] in (pid, step_id) else image["id"]
                    image.pop("patient_id", None)
                    image.pop("pseudo_id", None)
            out.append((action, before, after))
        return out

    assert normal(_entries(store, "patients", str(one))[-1:], one, one) == normal(
        _entries(store, "patients", str(two))[-1:], two, two
    )
    assert normal(_entries(store, "patient_state_history", str(step_one.id)), one, step_one.id) == (
        normal(_entries(store, "patient_state_history", str(step_two.id)), two, step_two.id)
    )
    assert sv.verify(store).ok


def test_write_together_skips_an_update_that_changes_nothing(store):
    ctx = context(store)
    pid = to_induction(ctx)
    before = len(_entries(store, "patients", str(pid)))
    with store.unit_of_work() as session:
        patient = queries.get(session, m.Patient, pid)
        step = _step(pid, "induction")
        writes.write_together(
            session, "inv1", [("insert", step), ("update", patient, {"state": "induction"})]
        )
    assert len(_entries(store, "patients", str(pid))) == before
    assert _entries(store, "patient_state_history", str(step.id))[0][0] == "create"
    assert sv.verify(store).ok


def test_write_together_on_a_vanished_row_writes_nothing(store):
    """PostgreSQL (one statement): an update whose row is gone fails the whole statement
    with NotFound, the insert beside it included; the transaction keeps nothing."""
    if not store.is_postgresql:
        pytest.skip("SQLite writes one statement per row (writes.update)")
    ctx = context(store)
    pid = to_induction(ctx)
    counts = sv.verify(store).rows
    with pytest.raises(NotFound, match="no row to update"), store.unit_of_work() as session:
        patient = queries.get(session, m.Patient, pid)
        values = {c.key: getattr(patient, c.key) for c in sa.inspect(m.Patient).column_attrs}
        ghost = m.Patient(**{**values, "id": 10**6, "pseudo_id": "ghost"})
        sa.orm.make_transient_to_detached(ghost)
        session.add(ghost)
        writes.write_together(
            session,
            "inv1",
            [("insert", _step(pid, "assessed")), ("update", ghost, {"state": "assessed"})],
        )
    assert sv.verify(store).rows == counts
    with store.unit_of_work() as session:
        assert queries.get(session, m.Patient, pid).state == "induction"


def test_take_stratum_slot_creates_then_counts(store):
    """The first slot of a stratum creates its counter (slot 0, on the given key); each call
    takes the next slot; a rollback gives the slot back."""
    with store.unit_of_work() as session:
        taken = queries.take_stratum_slot(session, "ecog=ecog0", "k1")
        assert (taken.slot, taken.key_id, taken.key_start_slot, taken.created) == (
            0,
            "k1",
            0,
            True,
        )
    with store.unit_of_work() as session:
        assert queries.take_stratum_slot(session, "ecog=ecog0", "k1").slot == 1
    with pytest.raises(RuntimeError), store.unit_of_work() as session:
        assert queries.take_stratum_slot(session, "ecog=ecog0", "k1").slot == 2
        raise RuntimeError("rolled back")
    with store.unit_of_work() as session:
        again = queries.take_stratum_slot(session, "ecog=ecog0", "k1")
        assert (again.slot, again.created) == (2, False)
        assert session.get(m.StratumCounter, "ecog=ecog0").next_slot == 3


def test_take_stratum_slot_locks_the_counter_until_commit(store):
    """PostgreSQL: while one transaction holds a slot, another cannot update the counter."""
    if not store.is_postgresql:
        pytest.skip("SQLite: BEGIN IMMEDIATE holds the whole database's write lock")
    with store.unit_of_work() as session:
        queries.take_stratum_slot(session, "ecog=ecog1", "k1")
    with store.engine.connect() as conn:
        path = conn.execute(sa.text("SHOW search_path")).scalar_one()
    with store.unit_of_work() as session:
        queries.take_stratum_slot(session, "ecog=ecog1", "k1")
        other = sa.create_engine(store.url, connect_args={"options": f"-csearch_path={path}"})
        with other.connect() as conn, pytest.raises(sa.exc.OperationalError, match="lock"):
            conn.execute(sa.text("SET lock_timeout = '200ms'"))
            conn.execute(
                sa.text(
                    "UPDATE stratum_counters SET next_slot = next_slot + 1 "
                    "WHERE stratum_key = 'ecog=ecog1'"
                )
            )
        other.dispose()


def test_write_together_with_one_real_change_writes_it_alone(store):
    """Of two updates one changes nothing: the other is written alone, as ``update``."""
    ctx = context(store)
    one, two = to_induction(ctx, "P001"), to_induction(ctx, "P002")
    with store.unit_of_work() as session:
        first, second = queries.get(session, m.Patient, one), queries.get(session, m.Patient, two)
        writes.write_together(
            session,
            "inv1",
            [("update", first, {"state": "induction"}), ("update", second, {"state": "assessed"})],
        )
    with store.unit_of_work() as session:
        assert queries.get(session, m.Patient, one).state == "induction"
        assert queries.get(session, m.Patient, two).state == "assessed"
    assert _entries(store, "patients", str(two))[-1][2]["state"] == "assessed"
    assert sv.verify(store).ok
