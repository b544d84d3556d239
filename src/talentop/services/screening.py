"""Screening (registered -> screened | screen_failed), labs and imaging with units."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from talentop.errors import InvalidInput
from talentop.services._context import Context, enter, enter_any, event_date, not_before, transition
from talentop.services._validate import RecordId, service
from talentop.services.consent_rules import screening_facts
from talentop.services.states import SCREEN_FAILED, SCREENED
from talentop.store import models as m
from talentop.store import writes


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except TypeError:
        return str(value)


@service
def screen_patient(
    ctx: Context, patient_id: RecordId, record: dict[str, Any], screened_on: dt.date | str
) -> dict[str, Any]:
    """Run the protocol's eligibility criteria on ``record``; store every criterion's verdict.

    Eligible -> ``screened``; any criterion failed -> ``screen_failed``. An incomplete
    record (a criterion cannot be decided) raises ``InvalidInput`` naming the criteria
    and stores nothing, so the site can complete it and screen again.
    """
    from talentop.clinical import evaluate_eligibility

    on = event_date(ctx, "screened_on", screened_on)
    if not isinstance(record, dict):
        raise InvalidInput.field("record", type(record).__name__, "a dict of screening fields")
    with ctx.store.unit_of_work() as session:
        patient = enter(session, ctx, "screen_patient", patient_id, on=on)
        # Consent comes from the consent records, never from the form (consent_rules).
        record = screening_facts(session, ctx.protocol, patient, record, on)
        result = evaluate_eligibility(record, ctx.protocol)
        if result.status == "incomplete":
            raise InvalidInput(
                [
                    f"criterion {c.id}: missing {list(c.missing_fields)}"
                    for c in result.criteria
                    if c.status == "missing"
                ]
                or ["record: eligibility incomplete"]
            )
        not_before("screened_on", on, patient.registered_on, "registration")
        screening = writes.insert(
            session,
            ctx.actor,
            m.Screening(
                patient_id=patient.id,
                screened_on=on,
                protocol_id=ctx.protocol.id,
                protocol_version=str(ctx.protocol.version),
                record_json=json.dumps(record, sort_keys=True, default=str),
                verdict=result.status,
            ),
        )
        writes.insert_all(
            session,
            ctx.actor,
            [
                m.ScreeningCriterion(
                    screening_id=screening.id,
                    criterion_id=criterion.id,
                    status=str(criterion.status),
                    value_json=json.dumps(_jsonable(dict(criterion.values))),
                    reason=criterion.reason,
                )
                for criterion in result.criteria
            ],
        )
        criteria = [
            {"id": criterion.id, "status": str(criterion.status), "reason": criterion.reason}
            for criterion in result.criteria
        ]
        eligible = result.status == "eligible"
        failed = result.failed
        transition(
            session,
            ctx,
            patient,
            SCREENED if eligible else SCREEN_FAILED,
            on_date=on,
            reason=None if eligible else f"failed criteria: {', '.join(failed)}",
        )
        return {
            "screening_id": screening.id,
            "verdict": result.status,
            "state": patient.state,
            "criteria": criteria,
        }


@service
def record_lab(
    ctx: Context,
    patient_id: RecordId,
    *,
    sampled_on: dt.date | str,
    test: str,
    value: float,
    unit: str,
    upper_limit_normal: float | None = None,
) -> int:
    """Store one laboratory value with its unit (no state change)."""
    on = event_date(ctx, "sampled_on", sampled_on)
    problems = []
    if not isinstance(test, str) or not test.strip():
        problems.append(f"test={test!r}: expected a test name (e.g. 'bilirubin')")
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        problems.append(f"value={value!r}: expected a number >= 0")
    if not isinstance(unit, str) or not unit.strip():
        problems.append(f"unit={unit!r}: expected a unit (e.g. 'umol/L')")
    if problems:
        raise InvalidInput(problems)
    with ctx.store.unit_of_work() as session:
        patient = enter_any(session, ctx, patient_id, "record_lab", on=on, field="sampled_on")
        lab = m.LabResult(
            patient_id=patient.id,
            sampled_on=on,
            test=test,
            value=float(value),
            unit=unit,
            upper_limit_normal=upper_limit_normal,
        )
        return writes.insert(session, ctx.actor, lab).id


@service
def record_imaging(
    ctx: Context,
    patient_id: RecordId,
    *,
    study_date: dt.date | str,
    modality: str,
    vp_grade: str | None = None,
    vv_grade: str | None = None,
    future_liver_remnant_ml: float | None = None,
    total_functional_liver_volume_ml: float | None = None,
    findings: str | None = None,
) -> int:
    """Store one imaging study (CT or MRI; vascular invasion, liver volumes in mL)."""
    on = event_date(ctx, "study_date", study_date)
    if modality not in ("CT", "MRI", "US", "PET-CT"):
        raise InvalidInput.field("modality", modality, "CT, MRI, US or PET-CT")
    for name, volume in (
        ("future_liver_remnant_ml", future_liver_remnant_ml),
        ("total_functional_liver_volume_ml", total_functional_liver_volume_ml),
    ):
        if volume is not None and not (0 < volume <= 5000):
            raise InvalidInput.field(name, volume, "a volume in mL between 0 and 5000")
    with ctx.store.unit_of_work() as session:
        patient = enter_any(session, ctx, patient_id, "record_imaging", on=on, field="study_date")
        study = m.ImagingStudy(
            patient_id=patient.id,
            study_date=on,
            modality=modality,
            vp_grade=vp_grade,
            vv_grade=vv_grade,
            future_liver_remnant_ml=future_liver_remnant_ml,
            total_functional_liver_volume_ml=total_functional_liver_volume_ml,
            findings=findings,
        )
        return writes.insert(session, ctx.actor, study).id
