"""Source-data verification (SDV) and a patient's data status.

A monitor marks a form as verified against the source; the mark is bound to the content
hash of the form as verified. A correction clears it (and says so); a form changed any
other way no longer matches its hash and shows as "changed since verification".
"""

from __future__ import annotations

from typing import Any

from talentop.errors import InvalidInput
from talentop.services._context import Context
from talentop.services._validate import RecordId, service
from talentop.services.access import require_patient
from talentop.services.data.records import FORMS, content, content_hash, load
from talentop.store import dm_queries, read_queries, writes
from talentop.store import models as m


@service
def verify_form(ctx: Context, entity: str, entity_id: RecordId) -> dict[str, Any]:
    """Mark one form as source-verified by the acting monitor."""
    with ctx.store.unit_of_work() as session:
        row, patient = load(session, entity, entity_id)
        require_patient(session, ctx, "verify_form", patient.id)
        if dm_queries.active_verifications(session, entity, str(entity_id)):
            raise InvalidInput.field("entity_id", entity_id, "a form not yet verified (it is)")
        mark = writes.insert(
            session,
            ctx.actor,
            m.Verification(
                patient_id=patient.id,
                entity=entity,
                entity_id=str(entity_id),
                content_hash=content_hash(content(row)),
                verified_by=ctx.actor,
                verified_at=ctx.now(),
            ),
        )
        return {
            "verification_id": mark.id,
            "entity": entity,
            "entity_id": entity_id,
            "verified_by": mark.verified_by,
            "verified_at": mark.verified_at.isoformat() + "Z",
        }


@service
def patient_data_status(ctx: Context, patient_id: RecordId) -> dict[str, Any]:
    """Every form of one patient with its SDV mark (verified, cleared by a correction,
    changed since verification, or not verified), locks and open queries."""
    with ctx.store.read_only() as session:
        patient, _ = require_patient(session, ctx, "patient_data_status", patient_id)
        marks: dict[tuple[str, str], list[m.Verification]] = {}
        for mark in dm_queries.verifications_of(session, patient.id):
            marks.setdefault((mark.entity, mark.entity_id), []).append(mark)
        forms = []
        rows = [("patients", patient), *read_queries.patient_records(session, patient.id)]
        locks = dm_queries.active_locks(session, patient.id)  # the database's, the patient's
        locked_records = {
            (lk.entity, lk.entity_id) for lk in dm_queries.active_record_locks(session, patient.id)
        }
        for table, row in rows:
            if table not in FORMS:
                continue
            key = (table, str(row.id))
            history = marks.get(key, [])
            active = [mk for mk in history if mk.cleared_at is None]
            if active:
                status = (
                    "verified"
                    if active[-1].content_hash == content_hash(content(row))
                    else "changed_since_verification"
                )
            elif history:
                status = "verification_cleared"
            else:
                status = "not_verified"
            last = (active or history or [None])[-1]
            forms.append(
                {
                    "entity": table,
                    "entity_id": row.id,
                    "sdv": status,
                    "verified_by": last.verified_by if last else None,
                    "verified_at": last.verified_at.isoformat() + "Z" if last else None,
                    "cleared_reason": last.cleared_reason if last else None,
                    "locked": bool(locks) or key in locked_records,
                }
            )
        from talentop.services._context import describe_lock

        return {
            "patient_id": patient.id,
            "forms": forms,
            "locks": [describe_lock(lk, session) for lk in locks],
            "corrections": [
                {
                    "correction_id": c.id,
                    "entity": c.entity,
                    "entity_id": c.entity_id,
                    "field": c.field,
                    "old": c.old_json,
                    "new": c.new_json,
                    "category": c.category,
                    "reason": c.reason,
                    "by": c.corrected_by,
                    "at": c.corrected_at.isoformat() + "Z",
                }
                for c in dm_queries.corrections_of(session, patient.id)
            ],
        }
