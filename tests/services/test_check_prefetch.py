"""Edit checks that read their records before the writes (issue 17/10: nothing read after a
randomisation has locked its stratum counter): the records ``checks.prefetch`` read once
the patient was locked, plus the rows the transaction inserted, are exactly what reading
after the writes gives, and so are the findings."""

from __future__ import annotations

import pytest

from flow_helpers import VOTES_YES, context, day, mdt, to_assessed
from talentop import services as sv
from talentop.api.routes.steps import RANDOMISE_WRITES
from talentop.protocol.edit_checks import EditCheck
from talentop.services.data import checks
from talentop.store import models as m
from talentop.store import queries, read_queries
from talentop.store.writes import WRITTEN_PATIENTS

pytestmark = pytest.mark.db


def _keys(records) -> set[tuple[str, int]]:
    return {(table, row.id) for table, row in records}


def test_prefetched_records_equal_a_read_after_the_writes(store):
    ctx = context(store)
    pid = to_assessed(ctx)
    sv.record_mdt_review(mdt(ctx), pid, day(72), VOTES_YES)
    with store.transaction(savepoints=False) as session:
        checks.prefetch_when_locked(ctx, pid, RANDOMISE_WRITES)
        sv.randomise(ctx, pid, day(73))
        tables, _, _ = session.info[checks.CHECK_ROWS][pid]  # read when the patient locked
        written = session.info[WRITTEN_PATIENTS][pid]
        assert {"randomisations", "patient_state_history", "state:randomised"} <= written
        applicable = checks.applicable(ctx.protocol.edit_checks, written)
        needed = checks._tables(applicable)
        assert applicable and needed <= tables
        patient = queries.get(session, m.Patient, pid)
        cached = checks._records(session, patient, needed)
        fresh = read_queries.patient_records(session, pid, needed)
        assert _keys(cached) == _keys(fresh)
        assert (
            "patient_state_history",
            max(r.id for t, r in fresh if t == "patient_state_history"),
        ) in _keys(cached)  # noqa: E501  the randomisation's own step
        with_cache = checks.evaluate(ctx, session, patient, applicable)
        session.info.pop(checks.CHECK_ROWS)
        assert with_cache == checks.evaluate(ctx, session, patient, applicable)


def test_findings_are_the_same_with_and_without_prefetch(store):
    """The same randomisation, once with the records read when the patient locked and once
    read after the writes (rolled back in between): the same findings."""
    ctx = context(store)
    pid = to_assessed(ctx)
    sv.record_mdt_review(mdt(ctx), pid, day(72), VOTES_YES)

    class Undo(Exception):
        pass

    with pytest.raises(Undo), store.transaction(savepoints=False) as session:
        checks.prefetch_when_locked(ctx, pid, RANDOMISE_WRITES)
        sv.randomise(ctx, pid, day(73))
        assert pid in session.info[checks.CHECK_ROWS]
        found = checks.check_patient(ctx, pid, written=session.info[WRITTEN_PATIENTS][pid])
        raise Undo
    with store.transaction(savepoints=False) as session:
        sv.randomise(ctx, pid, day(73))
        assert checks.CHECK_ROWS not in session.info
        again = checks.check_patient(ctx, pid, written=session.info[WRITTEN_PATIENTS][pid])
    assert found == again


def test_no_prefetch_when_a_checked_form_does_not_name_its_patient(store):
    """A check on a form whose rows do not name their patient (a lesion's measurements):
    its new rows are not noted per patient, so nothing is prefetched and the checks read
    after the writes as before."""
    ctx = context(store)
    pid = to_assessed(ctx)
    extra = EditCheck(id="diameter_positive", kind="range", form="lesion_measurements",
                      field="diameter_mm", min=0)  # fmt: skip
    protocol = ctx.protocol.model_copy(update={"edit_checks": [*ctx.protocol.edit_checks, extra]})
    with_lesions = sv.Context(store, protocol, ctx.actor)
    with store.transaction(savepoints=False) as session:
        patient = queries.get(session, m.Patient, pid)
        checks.prefetch(with_lesions, session, patient, RANDOMISE_WRITES)
        assert checks.CHECK_ROWS not in session.info
        checks.prefetch(ctx, session, patient, RANDOMISE_WRITES)
        assert pid in session.info[checks.CHECK_ROWS]
