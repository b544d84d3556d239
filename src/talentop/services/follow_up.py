"""Safety and follow-up: adverse events, discontinuation, death, contacts, new therapy
(deviations: ``talentop.services.deviations``). Discontinuation reasons come from the protocol vocabulary; those in
``ttf.failure_reasons`` end the path in ``treatment_failed``, the others in ``off_study``.
"""

from __future__ import annotations

import datetime as dt

from talentop.errors import InvalidInput
from talentop.services._context import (
    Context,
    enter,
    enter_any,
    event_date,
    not_before,
    transition,
)
from talentop.services._validate import RecordId, service
from talentop.services.states import DIED, OFF_STUDY, TREATMENT_FAILED
from talentop.store import models as m
from talentop.store import queries, writes

ATTRIBUTIONS = ("unrelated", "unlikely", "possible", "probable", "definite")
CONTACT_STATUSES = ("alive", "lost_to_follow_up")


@service
def record_adverse_event(
    ctx: Context,
    patient_id: RecordId,
    onset_date: dt.date | str,
    *,
    term: str,
    grade: int,
    attribution: str,
    serious: bool = False,
) -> int:
    """An adverse event: CTCAE term, grade 1-5 (CTCAE v5.0), attribution to study drugs."""
    on = event_date(ctx, "onset_date", onset_date)
    problems = []
    if not isinstance(term, str) or not term.strip():
        problems.append(f"term={term!r}: expected a CTCAE term (e.g. 'Hypertension')")
    if isinstance(grade, bool) or grade not in (1, 2, 3, 4, 5):
        problems.append(f"grade={grade!r}: expected a CTCAE grade 1-5")
    if attribution not in ATTRIBUTIONS:
        problems.append(f"attribution={attribution!r}: expected one of {list(ATTRIBUTIONS)}")
    if problems:
        raise InvalidInput(problems)
    with ctx.store.unit_of_work() as session:
        patient = enter_any(
            session, ctx, patient_id, "record_adverse_event", on=on, field="onset_date"
        )
        not_before("onset_date", on, patient.registered_on, "registration")
        row = m.AdverseEvent(
            patient_id=patient.id,
            onset_date=on,
            term=term,
            grade=grade,
            attribution=attribution,
            serious=serious,
        )
        return writes.insert(session, ctx.actor, row).id


@service
def record_discontinuation(
    ctx: Context,
    patient_id: RecordId,
    stop_date: dt.date | str,
    reason: str,
    *,
    note: str | None = None,
) -> str:
    """Stop randomised treatment: -> ``treatment_failed`` (TTF failure reason) or ``off_study``."""
    on = event_date(ctx, "stop_date", stop_date)
    vocabulary = ctx.protocol.discontinuation_reasons
    if reason not in vocabulary:
        raise InvalidInput.field(
            "reason", reason, f"one of the protocol's reasons {list(vocabulary)}"
        )
    failure = reason in ctx.protocol.ttf.failure_reasons
    with ctx.store.unit_of_work() as session:
        patient = enter(session, ctx, "record_discontinuation", patient_id)
        allocation = queries.latest(
            session, m.Randomisation, patient.id, m.Randomisation.randomised_on
        )
        not_before(
            "stop_date", on, allocation.randomised_on if allocation else None, "randomisation"
        )
        writes.insert(
            session,
            ctx.actor,
            m.Discontinuation(
                patient_id=patient.id, stop_date=on, reason=reason, is_failure=failure, note=note
            ),
        )
        to_state = TREATMENT_FAILED if failure else OFF_STUDY
        transition(session, ctx, patient, to_state, on_date=on, reason=reason)
        return to_state


@service
def record_death(
    ctx: Context, patient_id: RecordId, death_date: dt.date | str, *, cause: str | None = None
) -> None:
    """A death: any state -> ``died`` (a patient dies once)."""
    on = event_date(ctx, "death_date", death_date)
    with ctx.store.unit_of_work() as session:
        patient = enter(session, ctx, "record_death", patient_id)
        not_before("death_date", on, patient.registered_on, "registration")
        # A death dated before a record that shows the patient alive would make OS and PFS
        # end before data that exist (FDA 2018: OS is death from any cause, dated exactly).
        known_alive = [
            (c.contact_date, "a follow-up contact (alive)")
            for c in queries.rows_for(session, m.FollowUpContact, patient.id)
            if c.status == "alive"
        ]
        known_alive += [
            (v.visit_date, "a tumour assessment")
            for v in queries.rows_for(session, m.AssessmentVisit, patient.id)
        ]
        known_alive += [
            (d.given_on, "a drug administration")
            for d in queries.rows_for(session, m.DrugAdministration, patient.id)
        ]
        if known_alive:
            last_day, what = max(known_alive)
            not_before("death_date", on, last_day, f"the last record of the patient alive, {what}")
        writes.insert(
            session, ctx.actor, m.Death(patient_id=patient.id, death_date=on, cause=cause)
        )
        transition(session, ctx, patient, DIED, on_date=on, reason=cause)


@service
def record_follow_up(
    ctx: Context,
    patient_id: RecordId,
    contact_date: dt.date | str,
    *,
    status: str = "alive",
    method: str | None = None,
) -> int:
    """A follow-up contact: the patient known alive on that date, or lost to follow-up."""
    on = event_date(ctx, "contact_date", contact_date)
    if status not in CONTACT_STATUSES:
        raise InvalidInput.field("status", status, f"one of {list(CONTACT_STATUSES)}")
    with ctx.store.unit_of_work() as session:
        patient = enter(session, ctx, "record_follow_up", patient_id, on=on, field="contact_date")
        not_before("contact_date", on, patient.registered_on, "registration")
        row = m.FollowUpContact(
            patient_id=patient.id, contact_date=on, status=status, method=method
        )
        return writes.insert(session, ctx.actor, row).id


@service
def record_new_therapy(
    ctx: Context, patient_id: RecordId, start_date: dt.date | str, *, description: str
) -> int:
    """Start of a new anticancer therapy (censors PFS; counted by the TTF definition)."""
    on = event_date(ctx, "start_date", start_date)
    if not isinstance(description, str) or not description.strip():
        raise InvalidInput.field("description", description, "the therapy (e.g. 'lenvatinib')")
    with ctx.store.unit_of_work() as session:
        patient = enter_any(
            session, ctx, patient_id, "record_new_therapy", on=on, field="start_date"
        )
        not_before("start_date", on, patient.registered_on, "registration")
        row = m.NewTherapy(patient_id=patient.id, start_date=on, description=description)
        return writes.insert(session, ctx.actor, row).id
