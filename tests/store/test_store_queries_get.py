"""``queries.get`` and ``queries.user_by_name``: the ORM's objects, read on the cursor when
the session does not hold them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from flow_helpers import context, to_induction
from talentop.errors import NotFound
from talentop.store import direct, queries
from talentop.store import models as m

pytestmark = pytest.mark.db


def _columns(row) -> dict:
    return {c.key: getattr(row, c.key) for c in sa.inspect(type(row)).column_attrs}


def test_a_row_not_held_is_loaded_as_the_orm_loads_it(store, monkeypatch):
    """Not in the session: one statement on the cursor, the same column values as
    ``Session.get`` in another session, and the object is then the session's own (a second
    ``get`` sends nothing and returns it)."""
    pid = to_induction(context(store))
    with store.read_only() as session:
        expected = _columns(session.get(m.Patient, pid))
    sent = []
    real = direct._run
    monkeypatch.setattr(direct, "_run", lambda *a: sent.append(a[1].sql) or real(*a))
    with store.read_only() as session:
        row = queries.get(session, m.Patient, pid)
        assert len(sent) == 1 and _columns(row) == expected
        assert session.get(m.Patient, pid) is row
        assert queries.get(session, m.Patient, pid) is row
        assert len(sent) == 1
        user = queries.user_by_name(session, "inv1")
        assert (user.username, user.role) == ("inv1", "investigator")
        assert session.get(m.User, user.id) is user


def test_a_held_row_keeps_its_changes_and_a_missing_row_is_named(store):
    """A row the session holds comes back with its unflushed change (as ``Session.get``);
    a missing id raises ``NotFound`` naming the table and the id; a user that does not
    exist is None."""
    pid = to_induction(context(store))
    with store.unit_of_work() as session:
        patient = session.get(m.Patient, pid)
        patient.pseudo_id = "CHANGED"
        assert queries.get(session, m.Patient, pid).pseudo_id == "CHANGED"
        with pytest.raises(NotFound, match="patients: no row with id 999999"):
            queries.get(session, m.Patient, 999999)
        with pytest.raises(NotFound, match="patient record: no row with id 999999"):
            queries.get(session, m.Patient, 999999, what="patient record")
        assert queries.user_by_name(session, "nobody") is None
        session.rollback()


def test_a_row_written_in_the_transaction_is_found(store):
    """A row this transaction inserted, no longer held by the session, is read from the
    transaction (the uncommitted row), as a new object of the session."""
    context(store)
    with store.unit_of_work() as session:
        site = m.Site(code="NEW1", name="New site")
        session.add(site)
        session.flush()
        site_id = site.id
        session.expunge(site)
        found = queries.get(session, m.Site, site_id)
        assert found is not site and found.code == "NEW1"
        session.rollback()
