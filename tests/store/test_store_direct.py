"""Statements on the DBAPI cursor (``talentop.store.direct``, issue 17): the same rows,
types and errors as ``Connection.execute``, and rows loaded as the ORM loads them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from flow_helpers import context, day, to_induction
from talentop import services as sv
from talentop.errors import InvalidInput
from talentop.store import direct, path_queries, queries, writes
from talentop.store import models as m
from talentop.store.errors import as_talentop_error

pytestmark = pytest.mark.db


def _committed(store, statement: str) -> int:
    """A count read on a connection of its own: only what is committed."""
    with store.engine.connect() as conn:
        return conn.execute(sa.text(statement)).scalar_one()


def test_rows_equal_what_sqlalchemy_returns(store):
    """The write path's statements (dates, booleans, floats, NULLs, a LIMIT literal) give
    the same values and types on the cursor as through ``Connection.execute``."""
    ctx = context(store)
    pid = to_induction(ctx)
    cases = [
        (path_queries._CONSENT_GATE, {"patient_id": pid, "scope": "treatment"}),
        (path_queries._STEPS, {"patient_id": pid}),
        (path_queries._RANDOMISATION_FACTS, {"patient_id": pid, "criteria": "recist1.1"}),
        (path_queries._PATIENT_FOR_WRITE, {"patient_id": pid, "actor": "inv1"}),
        (path_queries._PATIENT_FOR_WRITE, {"patient_id": pid, "actor": "nobody"}),
    ]
    with store.unit_of_work() as session:
        for stmt, params in cases:
            expected = [tuple(r) for r in session.connection().execute(stmt, params)]
            got = [tuple(r) for r in direct.execute(session, stmt, params)]
            assert got == expected, stmt
            assert [[type(v) for v in r] for r in got] == [[type(v) for v in r] for r in expected]
    assert expected and got[0][-1] is None  # no user row joined for "nobody"


def test_rows_are_named_and_have_first_one_scalar(store):
    ctx = context(store)
    pid = to_induction(ctx)
    with store.unit_of_work() as session:
        rows = direct.execute(
            session, path_queries._CONSENT_GATE, {"patient_id": pid, "scope": "x"}
        )
        assert rows.first().consented_on == rows.one()[0] == rows.scalar()
        assert rows.first().withdrawn_on is None
        with pytest.raises(sa.exc.NoResultFound):
            direct.execute(session, path_queries._STEPS, {"patient_id": -1}).one()


def test_driver_errors_are_raised_as_sqlalchemy_raises_them(store):
    """A constraint violation on the cursor is SQLAlchemy's ``IntegrityError`` (so the
    store's translation makes it the usual conflict message), and the transaction keeps
    nothing."""
    stmt = sa.insert(m.StratumCounter).values(
        stratum_key=sa.bindparam("key"), next_slot=0, key_id=None, key_start_slot=0
    )
    with pytest.raises(sa.exc.IntegrityError) as raised, store.unit_of_work() as session:
        direct.execute(session, stmt, {"key": "s"})
        direct.execute(session, stmt, {"key": "s"})
    assert isinstance(as_talentop_error(raised.value, store.url), InvalidInput)
    assert _committed(store, "SELECT count(*) FROM stratum_counters") == 0


def test_a_statement_with_python_defaults_is_refused(store):
    """Column defaults computed per execution are SQLAlchemy's work: such a statement is
    refused when first compiled, before anything runs."""
    stmt = sa.insert(m.Site).values(code=sa.bindparam("code"), name=sa.bindparam("name"))
    with pytest.raises(TypeError, match="defaulted column"), store.unit_of_work() as session:
        direct.execute(session, stmt, {"code": "SH99", "name": "new"})


def test_a_loaded_row_is_the_identity_maps_and_has_no_history(store):
    """``as_loaded`` gives the object already in the session (refreshed with the values
    just read), or a new persistent one with no pending change."""
    ctx = context(store)
    pid = to_induction(ctx)
    with store.unit_of_work() as session:
        known = session.get(m.Patient, pid)
        patient, _, user = path_queries.patient_for_write(session, pid, "inv1")
        assert patient is known
        assert user.username == "inv1" and sa.inspect(user).persistent
        assert not sa.inspect(user).modified and user not in session.dirty
    with store.unit_of_work() as session:
        patient, _, _ = path_queries.patient_for_write(session, pid, "inv1")
        assert sa.inspect(patient).persistent and not sa.inspect(patient).modified
        assert session.get(m.Patient, pid) is patient
        writes.update(session, "inv1", patient, state="assessed")
    with store.unit_of_work() as session:
        assert queries.get(session, m.Patient, pid).state == "assessed"
    assert sv.verify(store).ok


def test_an_inserted_row_is_attached_as_a_loaded_one(store):
    """``writes.insert`` attaches its row with ``direct.attach_loaded``: persistent, the
    identity map's, no change history (nothing left for a flush), and an ORM change made
    to it afterwards is flushed and kept like any loaded row's; a new row built with
    keywords (``Base.__init__``) has its values and no history, and an unknown keyword
    is a ``TypeError``."""
    ctx = context(store)
    pid = to_induction(ctx)
    with pytest.raises(TypeError, match="'dose' is an invalid keyword argument"):
        m.LabResult(patient_id=pid, dose=1)
    with store.unit_of_work() as session:
        row = m.LabResult(patient_id=pid, sampled_on=day(2), test="afp", value=4.0, unit="ng/mL")
        state = sa.inspect(row)
        assert state.transient and not state.modified and row.test == "afp"
        writes.insert(session, "inv1", row)
        assert state.persistent and not state.modified and row not in session.dirty
        assert session.get(m.LabResult, row.id) is row
        assert session.identity_key(instance=row) in session.identity_map
        row.test = "ca19_9"  # a change by the ORM: a plain attribute set, flushed
        assert row in session.dirty
        session.flush()
        again = direct.load(
            session,
            m.LabResult,
            direct.select_columns(m.LabResult).where(m.LabResult.id == sa.bindparam("id")),
            {"id": row.id},
        )
        assert again == [row]
        lab_id = row.id
    with store.unit_of_work() as session:
        assert queries.get(session, m.LabResult, lab_id).test == "ca19_9"


def test_reads_ahead_equal_reads_after_the_lock(store):
    """PostgreSQL: the consent gate and the randomisation facts sent with the patient's
    lock (one pipeline) are the rows a read after it gives; SQLite reads nothing ahead."""
    ctx = context(store)
    pid = to_induction(ctx)
    reads = path_queries.randomisation_reads(pid, "recist1.1", "treatment")
    with store.unit_of_work() as session:
        expected = [list(direct.execute(session, stmt, params)) for stmt, params in reads]
    with store.unit_of_work() as session, direct.reads_ahead(session, reads):
        path_queries.patient_for_write(session, pid, "inv1")
        ahead = session.info.get(direct.READ_AHEAD)
        assert (ahead is not None and len(ahead["rows"]) == 2) == store.is_postgresql
        got = [list(direct.execute(session, stmt, params)) for stmt, params in reads]
        if ahead is not None:
            assert ahead["rows"] == {}  # each served once
    assert got == expected
    with store.unit_of_work() as session:
        assert direct.READ_AHEAD not in session.info


def test_a_write_drops_what_was_read_ahead(store):
    """A write after the reads were sent makes them stale: they are read again."""
    ctx = context(store)
    pid = to_induction(ctx)
    steps = (path_queries._STEPS, {"patient_id": pid})
    with store.unit_of_work() as session:
        before = path_queries.state_steps(session, pid)
    with store.unit_of_work() as session, direct.reads_ahead(session, [steps]):
        path_queries.patient_for_write(session, pid, "inv1")
        writes.insert(
            session,
            "inv1",
            m.StateChange(patient_id=pid, to_state="assessed", on_date=day(5), actor="inv1"),
        )
        assert path_queries.state_steps(session, pid) == [*before, ("assessed", day(5))]


def test_a_flush_drops_what_was_read_ahead(store):
    """An ORM change flushed before a read (autoflush) is a write too: the read runs again."""
    ctx = context(store)
    pid = to_induction(ctx)
    steps = (path_queries._STEPS, {"patient_id": pid})
    with store.unit_of_work() as session, direct.reads_ahead(session, [steps]):
        path_queries.patient_for_write(session, pid, "inv1")
        session.add(m.StateChange(patient_id=pid, to_state="assessed", on_date=day(5), actor="x"))
        assert path_queries.state_steps(session, pid)[-1] == ("assessed", day(5))
        session.rollback()
