"""Corrections: any saved clinical value changed with a reason, never silently.

A correction names the record (table and id), the fields and their new values, a reason
(free text) and its category. It needs the permission of the service that enters that kind
of record, at the record's site. In the same transaction it:

- writes the new values (the audit trail keeps who, when in UTC, old and new value; a
  ``corrections`` row per field keeps them readable and the reason);
- re-derives what depends on them and says what changed: RECIST 1.1 / mRECIST responses of
  every visit (a lesion size), eligibility and the liver scores (a screening field), ALBI
  from the latest labs (a lab), the patient's ADTTE times (any date);
- clears a source-data verification of the record (and says so);
- never changes an allocation: a corrected stratification value that gives another level
  than the one randomised is recorded as a stratification error for the statistician (the
  analysis keeps the level as randomised: ITT, ICH E9 5.2).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from talentop.errors import InvalidInput
from talentop.services._context import Context, check_actor
from talentop.services._validate import RecordId, service
from talentop.services.data.locks import ensure_unlocked
from talentop.services.data.records import CATEGORIES, FORMS, coerce, content, form, load
from talentop.store import models as m
from talentop.store import queries, writes
from talentop.store.audit import snapshot

MAX_REASON = 2000


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _dates_of(row: Any) -> dict[str, Any]:
    return {k: v for k, v in snapshot(row).items() if k.endswith(("_on", "_date"))}


@service
def correct_record(
    ctx: Context,
    entity: str,
    entity_id: RecordId,
    changes: dict[str, Any],
    *,
    reason: str,
    category: str,
    query_id: RecordId | None = None,
) -> dict[str, Any]:
    """Correct fields of one record (see the module docstring); returns what changed and
    what was re-derived. Screening fields are named ``record.<field>`` (e.g. ``record.ecog``)."""
    problems = []
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON:
        problems.append(
            f"reason={reason!r}: expected why the value is corrected (1-{MAX_REASON} characters)"
        )
    if category not in CATEGORIES:
        problems.append(f"category={category!r}: expected one of {list(CATEGORIES)}")
    if not isinstance(changes, dict) or not changes:
        problems.append(f"changes={changes!r}: expected at least one field and its new value")
    if entity not in FORMS:
        problems.append(f"entity={entity!r}: expected one of the forms {sorted(FORMS)}")
    if problems:
        raise InvalidInput(problems)
    spec = form(entity)
    with ctx.store.unit_of_work() as session:
        row, patient = load(session, entity, entity_id)
        patient = queries.lock_patient(session, patient.id)
        check_actor(session, ctx, spec.service, site_id=patient.site_id)
        ensure_unlocked(session, patient.id, entity, str(entity_id))
        before_adtte = _adtte(session, ctx, patient)
        dates_before = _dates_of(row)
        changed = _apply(session, ctx, spec, row, changes)
        if not changed:
            raise InvalidInput.field("changes", changes, "a value different from the one stored")
        rederived: dict[str, Any] = {}
        from talentop.services.data import rederive

        if entity in ("lesions", "lesion_measurements", "assessment_visits"):
            rederived["responses"] = rederive.responses(session, ctx, patient)
        if entity == "screenings":
            rederived["eligibility"] = rederive.eligibility(session, ctx, patient, row)
        if entity == "labs":
            rederived["liver_scores"] = rederive.lab_scores(session, patient, changed, row)
        after_adtte = _adtte(session, ctx, patient)
        if before_adtte != after_adtte or _dates_of(row) != dates_before:
            rederived["adtte"] = _adtte_changes(before_adtte, after_adtte)
        errors = rederive.stratification(session, ctx, patient)
        cleared = _clear_verification(session, ctx, entity, str(entity_id), changed)
        ids = []
        for field, (old, new) in changed.items():
            correction = writes.insert(
                session,
                ctx.actor,
                m.Correction(
                    patient_id=patient.id,
                    entity=entity,
                    entity_id=str(entity_id),
                    field=field,
                    old_json=json.dumps(_jsonable(old)),
                    new_json=json.dumps(_jsonable(new)),
                    category=category,
                    reason=reason.strip(),
                    corrected_by=ctx.actor,
                    corrected_at=ctx.now(),
                    rederived_json=json.dumps(rederived, default=str),
                    query_id=query_id,
                ),
            )
            ids.append(correction.id)
        new_errors = rederive.record_stratification_errors(session, ctx, patient, errors, ids[0])
        return {
            "entity": entity,
            "entity_id": entity_id,
            "patient_id": patient.id,
            "correction_ids": ids,
            "changed": {
                f: {"old": _jsonable(o), "new": _jsonable(n)} for f, (o, n) in changed.items()
            },
            "rederived": rederived,
            "sdv_cleared": cleared,
            "stratification_errors": new_errors,
        }


def _apply(session: Any, ctx: Context, spec: Any, row: Any, changes: dict[str, Any]) -> dict:
    """Write the new values; (old, new) per field actually changed."""
    changed: dict[str, tuple[Any, Any]] = {}
    updates: dict[str, Any] = {}
    record = None
    for field, value in changes.items():
        if spec.table == "screenings" and field.startswith("record."):
            name = field.removeprefix("record.")
            if record is None:
                record = json.loads(row.record_json)
            old = record.get(name)
            if old != value:
                changed[field] = (old, value)
                record[name] = value
            continue
        new = coerce(spec, field, value)
        old = getattr(row, field)
        if old != new:
            changed[field] = (old, new)
            updates[field] = new
    if record is not None:
        updates["record_json"] = json.dumps(record, sort_keys=True, default=str)
    if updates:
        writes.update(session, ctx.actor, row, **updates)
    return changed


def _clear_verification(
    session: Any, ctx: Context, entity: str, entity_id: str, changed: dict
) -> bool:
    rows = queries_for_verification(session, entity, entity_id)
    for verification in rows:
        writes.update(
            session,
            ctx.actor,
            verification,
            cleared_at=ctx.now(),
            cleared_reason=f"corrected {sorted(changed)} after verification",
        )
    return bool(rows)


def queries_for_verification(session: Any, entity: str, entity_id: str) -> list[m.Verification]:
    from talentop.store import dm_queries

    return dm_queries.active_verifications(session, entity, entity_id)


def _adtte(session: Any, ctx: Context, patient: m.Patient) -> list[dict[str, Any]]:
    """The patient's ADTTE rows today (empty before randomisation)."""
    from talentop.services.endpoints import _timeline, adtte_for_protocol

    allocation = queries.latest(session, m.Randomisation, patient.id, m.Randomisation.randomised_on)
    if allocation is None:
        return []
    site = queries.get(session, m.Site, patient.site_id)
    timeline = _timeline(session, ctx, patient, allocation, site)
    cutoff = max(ctx.today(), allocation.randomised_on)
    frame = adtte_for_protocol([timeline], ctx.protocol, cutoff)
    columns = [c for c in ("PARAMCD", "AVAL", "CNSR", "ADT", "EVNTDESC") if c in frame.columns]
    return json.loads(frame[columns].to_json(orient="records", date_format="iso"))


def _adtte_changes(before: list[dict], after: list[dict]) -> list[dict[str, Any]]:
    old = {r["PARAMCD"]: r for r in before}
    out = []
    for row in after:
        previous = old.get(row["PARAMCD"], {})
        if previous != row:
            out.append({"param": row["PARAMCD"], "before": previous or None, "after": row})
    return out


__all__ = ["CATEGORIES", "content", "correct_record"]
