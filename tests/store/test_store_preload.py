"""``store.preload.preloaded``: inside the block, ``queries.rows_for``/``latest`` of the listed
patients come from one statement per table and equal what the per-patient statements give
(the same session objects, in the same order: ties of the order column by id, NULL dates
where the database puts them); outside it, or for another patient, nothing changes."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from flow_helpers import context, to_induction, to_randomised
from talentop import services as sv
from talentop.store import models as m
from talentop.store import queries

pytestmark = pytest.mark.db

#: (model, order_by) pairs the reports ask for, plain and by a date column.
ASKED = [
    (m.Consent, m.Consent.consented_on),
    (m.ConsentWithdrawal, None),
    (m.LabResult, m.LabResult.sampled_on),
    (m.DrugAdministration, None),
    (m.AssessmentVisit, None),
    (m.ResponseAssessment, None),
    (m.Lesion, None),
    (m.StateChange, None),
    (m.FollowUpContact, m.FollowUpContact.contact_date),
]
LATEST = [(m.LabResult, m.LabResult.sampled_on), (m.Consent, m.Consent.consented_on)]


def _patients(store) -> list[int]:
    """Three patients; the first two with labs on the same day (ties) and one lab without
    a date difference in id order reversed to the date order."""
    ctx = context(store)
    first, _ = to_randomised(ctx, "P001")
    second = to_induction(ctx, "P002")
    third = to_induction(ctx, "P003")
    for pid in (first, second):
        for value, day in ((5.0, 20), (7.0, 20), (9.0, 10), (11.0, 20)):
            sv.record_lab(
                ctx,
                pid,
                sampled_on=dt.date(2025, 1, day),
                test="bilirubin",
                value=value,
                unit="umol/L",
            )
    return [first, second, third]


def _snapshot(session, pids):
    rows = {
        (model.__name__, key, pid): [r.id for r in queries.rows_for(session, model, pid, key)]
        for model, key in ASKED
        for pid in pids
    }
    latest = {
        (model.__name__, pid): getattr(queries.latest(session, model, pid, key), "id", None)
        for model, key in LATEST
        for pid in pids
    }
    return rows, latest


def test_preloaded_reads_equal_the_per_patient_reads(store):
    pids = _patients(store)
    with store.read_only() as session:
        expected = _snapshot(session, pids)
    with store.read_only() as session:
        with queries.preloaded(session, pids):
            got = _snapshot(session, pids)
            same = queries.rows_for(session, m.LabResult, pids[0], m.LabResult.sampled_on)
            again = queries.rows_for(session, m.LabResult, pids[0], m.LabResult.sampled_on)
            assert same == again and same is not again  # a new list each time
            same.clear()  # a caller's change does not reach the next read
            assert queries.rows_for(session, m.LabResult, pids[0], m.LabResult.sampled_on)
    assert got == expected
    labs = expected[0][("LabResult", m.LabResult.sampled_on, pids[0])]
    assert len(labs) == 4 and labs[0] == min(labs) + 2  # the 10th first, then the 20th's by id


def test_one_statement_per_table_and_none_for_patients_and_sites(store):
    pids = _patients(store)
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_rest):
        seen.append(statement)

    with store.read_only() as session:
        with queries.preloaded(session, pids):
            sa.event.listen(store.engine, "before_cursor_execute", count)
            try:
                for pid in pids:
                    patient = queries.get(session, m.Patient, pid)
                    queries.get(session, m.Site, patient.site_id)
                    queries.rows_for(session, m.LabResult, pid, m.LabResult.sampled_on)
                    queries.rows_for(session, m.Consent, pid, m.Consent.consented_on)
                    queries.latest(session, m.LabResult, pid, m.LabResult.sampled_on)
            finally:
                sa.event.remove(store.engine, "before_cursor_execute", count)
    assert len(seen) == 3, seen  # labs, consents, latest labs: 1 each for 3 patients


def test_other_patients_and_expressions_are_read_as_before(store):
    pids = _patients(store)
    with store.read_only() as session:
        expected = [r.id for r in queries.rows_for(session, m.LabResult, pids[2])]
        by_value = [
            r.id for r in queries.rows_for(session, m.LabResult, pids[0], m.LabResult.value * -1)
        ]
        with queries.preloaded(session, pids[:2]):
            assert [r.id for r in queries.rows_for(session, m.LabResult, pids[2])] == expected
            assert [
                r.id
                for r in queries.rows_for(session, m.LabResult, pids[0], m.LabResult.value * -1)
            ] == by_value
        assert session.info.get("talentop_preload") is None  # the block is gone
