"""A patient's records (``read_queries.patient_records``): the rows the ORM loads, on the
cursor, sent in one pipeline on PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from flow_helpers import context, to_randomised
from talentop.store import direct, path_queries, read_queries

pytestmark = pytest.mark.db


def orm_records(session, patient_id, tables=None):
    """The reference: one ORM ``select(model)`` per table, children through the ids of
    their parents (what ``patient_records`` ran before issue 17's patient-page round)."""
    out = []
    for model in read_queries._patient_models():
        if tables is None or model.__tablename__ in tables:
            found = session.execute(sa.select(model).where(model.patient_id == patient_id))
            out.extend((model.__tablename__, row) for row in found.scalars())
    for child, column, parent in read_queries._child_models():
        if tables is not None and child.__tablename__ not in tables:
            continue
        ids = session.execute(sa.select(parent.id).where(parent.patient_id == patient_id))
        ids = list(ids.scalars())
        if ids:
            found = session.execute(sa.select(child).where(getattr(child, column).in_(ids)))
            out.extend((child.__tablename__, row) for row in found.scalars())
    return out


def _values(row) -> dict:
    return {c.key: getattr(row, c.key) for c in sa.inspect(type(row)).column_attrs}


def _two_randomised(store) -> list[int]:
    ctx = context(store)
    return [to_randomised(ctx, "P001")[0], to_randomised(ctx, "P002")[0]]


def _as_sorted(records):
    return sorted(((t, row.id, _values(row)) for t, row in records), key=lambda r: r[:2])


def test_records_are_the_rows_the_orm_loads(store):
    """Every table's rows of the patient, and the children (screening criteria, lesion
    measurements) through their parents: the same rows and values as the ORM reference,
    none of the other patient's, and each row the session's own object."""
    first, second = _two_randomised(store)
    with store.read_only() as session:
        got = read_queries.patient_records(session, first)
        expected = orm_records(session, first)
        assert _as_sorted(got) == _as_sorted(expected)
        kinds = {t for t, _ in got}
        assert {"screening_criteria", "lesion_measurements", "randomisations"} <= kinds
        for _, row in got:
            assert session.get(type(row), row.id) is row
            if "patient_id" in _values(row):
                assert row.patient_id == first
        assert _as_sorted(read_queries.patient_records(session, second)) == _as_sorted(
            orm_records(session, second)
        )


def test_only_the_tables_asked_for_children_without_their_parents(store):
    """``tables`` naming a child table alone (its parent not among them) still finds the
    child rows through the parent's ids; a table with no rows gives none."""
    first, _ = _two_randomised(store)
    tables = {"lesion_measurements", "surgeries"}
    with store.read_only() as session:
        got = read_queries.patient_records(session, first, tables)
        assert {t for t, _ in got} == {"lesion_measurements"}
        assert _as_sorted(got) == _as_sorted(orm_records(session, first, tables))


def test_one_pipeline_on_postgresql_none_on_sqlite(store, monkeypatch):
    """On PostgreSQL every statement after the first is sent with it in one pipeline; SQLite
    sends them one by one (a function call each)."""
    first, _ = _two_randomised(store)
    pipelines = []
    real = direct._with_reads_ahead

    def counted(connection, compiled, params, ahead):
        pipelines.append(len(ahead["pending"]) + 1)
        return real(connection, compiled, params, ahead)

    monkeypatch.setattr(direct, "_with_reads_ahead", counted)
    with store.read_only() as session:
        read_queries.patient_records(session, first)
    statements = len(read_queries._records_plan(None))
    assert pipelines == ([statements] if store.is_postgresql else [])


def test_inside_another_reads_ahead_block_its_reads_are_kept(store):
    """Records read inside a ``reads_ahead`` block (an edit check's, when ``randomise``
    locks the patient) read nothing ahead of their own and leave the block's reads to it."""
    first, _ = _two_randomised(store)
    steps = (path_queries._STEPS, {"patient_id": first})
    with store.unit_of_work() as session:
        expected = list(direct.execute(session, *steps))
    with store.unit_of_work() as session, direct.reads_ahead(session, [steps]):
        path_queries.patient_for_write(session, first, "inv1")
        outer = session.info.get(direct.READ_AHEAD)
        read_queries.patient_records(session, first)
        assert session.info.get(direct.READ_AHEAD) is outer
        if store.is_postgresql:
            assert direct._key(*steps) in outer["rows"]
        assert list(direct.execute(session, *steps)) == expected
