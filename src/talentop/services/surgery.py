"""Surgery (arm A, or arm B after a recorded switch), complications, specimens, maintenance.

Washout: surgery sooner than ``surgery.min_days_after_bevacizumab`` after the last
bevacizumab dose is refused (bevacizumab label: wound-healing and bleeding risk), unless an
``override_reason`` is given, which is recorded as a protocol deviation.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from talentop.errors import InvalidInput
from talentop.services._context import Context, enter, event_date, not_before, transition, violation
from talentop.services._validate import RecordId, service
from talentop.services.states import MAINTENANCE, OPERATED
from talentop.store import models as m
from talentop.store import queries, writes

MARGINS = ("R0", "R1", "R2")
#: Clavien-Dindo grades (Dindo et al., Ann Surg 2004;240:205-213, Table 1).
CLAVIEN_DINDO = ("I", "II", "IIIa", "IIIb", "IVa", "IVb", "V")
#: The drug whose washout before surgery the protocol sets.
WASHOUT_DRUG = "bevacizumab"


@service
def switch_to_surgery(
    ctx: Context,
    patient_id: RecordId,
    switch_date: dt.date | str,
    mdt_review_id: RecordId,
    reason: str,
) -> int:
    """Arm-B switch to surgery after a resectable MDT reassessment; its own recorded event.

    The patient keeps arm B (intention to treat); the switch and its MDT review are stored
    so analyses can count conversions without mixing them into arm A.
    """
    on = event_date(ctx, "switch_date", switch_date)
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput.field("reason", reason, "why the patient switches to surgery")
    with ctx.store.unit_of_work() as session:
        patient = enter(session, ctx, "switch_to_surgery", patient_id)
        if ctx.protocol.arm(patient.arm or "").includes_surgery:
            raise violation(
                f"patient is in surgical arm {patient.arm}",
                state=patient.state,
                rule="only patients of the non-surgical arm switch to surgery",
            )
        review = queries.get(session, m.MdtReview, mdt_review_id, what="mdt_review")
        if review.patient_id != patient.id or review.purpose != "switch" or not review.resectable:
            raise violation(
                f"MDT review {mdt_review_id} is not a resectable reassessment of this patient",
                state=patient.state,
                rule="a switch to surgery needs a resectable MDT reassessment after randomisation",
            )
        not_before("switch_date", on, review.review_date, "the MDT review")
        if queries.latest(session, m.SurgerySwitch, patient.id, m.SurgerySwitch.switch_date):
            raise violation(
                "switch already recorded", state=patient.state, rule="one switch per patient"
            )
        switch = writes.insert(
            session,
            ctx.actor,
            m.SurgerySwitch(
                patient_id=patient.id, switch_date=on, mdt_review_id=review.id, reason=reason
            ),
        )
        for flag in queries.rows_for(session, m.ResectabilityFlag, patient.id):
            if not flag.resolved:
                writes.update(session, ctx.actor, flag, resolved=True)
        return switch.id


@service
def record_surgery(
    ctx: Context,
    patient_id: RecordId,
    surgery_date: dt.date | str,
    *,
    procedure: str,
    margin: str,
    blood_loss_ml: float,
    override_reason: str | None = None,
) -> dict[str, Any]:
    """Record the resection: ``randomised`` -> ``operated``; washout checked (see module)."""
    on = event_date(ctx, "surgery_date", surgery_date)
    problems = []
    if margin not in MARGINS:
        problems.append(f"margin={margin!r}: expected one of {list(MARGINS)}")
    if (
        isinstance(blood_loss_ml, bool)
        or not isinstance(blood_loss_ml, int | float)
        or not 0 <= blood_loss_ml <= 30000
    ):
        problems.append(f"blood_loss_ml={blood_loss_ml!r}: expected mL between 0 and 30000")
    if not isinstance(procedure, str) or not procedure.strip():
        problems.append(
            f"procedure={procedure!r}: expected the procedure (e.g. 'right hepatectomy')"
        )
    if problems:
        raise InvalidInput(problems)
    with ctx.store.unit_of_work() as session:
        patient = enter(session, ctx, "record_surgery", patient_id)
        switch = queries.latest(session, m.SurgerySwitch, patient.id, m.SurgerySwitch.switch_date)
        if not ctx.protocol.arm(patient.arm or "").includes_surgery and switch is None:
            raise violation(
                f"arm {patient.arm} has no surgery and no switch is recorded",
                state=patient.state,
                rule="surgery in the non-surgical arm needs switch_to_surgery first",
            )
        allocation = queries.latest(
            session, m.Randomisation, patient.id, m.Randomisation.randomised_on
        )
        not_before("surgery_date", on, allocation.randomised_on, "randomisation")
        last_bev = queries.last_drug_date(session, patient.id, WASHOUT_DRUG)
        minimum = ctx.protocol.surgery.min_days_after_bevacizumab
        days = None if last_bev is None else (on - last_bev).days
        if days is not None and days < minimum:
            rule = f"surgery >= {minimum} days after the last {WASHOUT_DRUG} (protocol surgery.min_days_after_bevacizumab)"
            if not override_reason:
                raise violation(
                    f"surgery on {on} is {days} days after the last {WASHOUT_DRUG} ({last_bev}); "
                    "give override_reason to proceed",
                    state=patient.state,
                    rule=rule,
                )
            writes.insert(
                session,
                ctx.actor,
                m.ProtocolDeviation(
                    patient_id=patient.id,
                    deviation_date=on,
                    category="surgery_washout",
                    description=f"surgery {days} days after {WASHOUT_DRUG} (< {minimum}); override: {override_reason}",
                ),
            )
        surgery = writes.insert(
            session,
            ctx.actor,
            m.Surgery(
                patient_id=patient.id,
                surgery_date=on,
                procedure=procedure,
                margin=margin,
                blood_loss_ml=float(blood_loss_ml),
                days_after_bevacizumab=days,
                after_switch=switch is not None,
                override_reason=override_reason if days is not None and days < minimum else None,
            ),
        )
        transition(session, ctx, patient, OPERATED, on_date=on, reason=procedure)
        return {
            "surgery_id": surgery.id,
            "days_after_bevacizumab": days,
            "after_switch": switch is not None,
        }


@service
def record_complication(
    ctx: Context,
    patient_id: RecordId,
    onset_date: dt.date | str,
    *,
    description: str,
    clavien_dindo: str,
) -> int:
    """A surgical complication graded by Clavien-Dindo (I, II, IIIa, IIIb, IVa, IVb, V)."""
    on = event_date(ctx, "onset_date", onset_date)
    if clavien_dindo not in CLAVIEN_DINDO:
        raise InvalidInput.field("clavien_dindo", clavien_dindo, f"one of {list(CLAVIEN_DINDO)}")
    with ctx.store.unit_of_work() as session:
        patient = enter(session, ctx, "record_complication", patient_id, on=on, field="onset_date")
        surgery = queries.latest(session, m.Surgery, patient.id, m.Surgery.surgery_date)
        if surgery is None:
            raise violation(
                "no surgery recorded", state=patient.state, rule="complications follow a surgery"
            )
        not_before("onset_date", on, surgery.surgery_date, "the surgery")
        row = m.Complication(
            surgery_id=surgery.id,
            onset_date=on,
            description=description,
            clavien_dindo=clavien_dindo,
        )
        return writes.insert(session, ctx.actor, row).id


@service
def record_biospecimen(
    ctx: Context,
    patient_id: RecordId,
    collected_on: dt.date | str,
    *,
    specimen_type: str,
    storage_code: str | None = None,
    pathological_necrosis_pct: float | None = None,
    pd_l1_cps: float | None = None,
    biomarkers: dict[str, Any] | None = None,
) -> int:
    """Tissue from surgery (or blood) with biomarker fields, linked to the latest surgery."""
    on = event_date(ctx, "collected_on", collected_on)
    if pathological_necrosis_pct is not None and not 0 <= pathological_necrosis_pct <= 100:
        raise InvalidInput.field("pathological_necrosis_pct", pathological_necrosis_pct, "0-100")
    with ctx.store.unit_of_work() as session:
        from talentop.services._context import enter_any

        patient = enter_any(
            session, ctx, patient_id, "record_biospecimen", on=on, field="collected_on"
        )
        surgery = queries.latest(session, m.Surgery, patient.id, m.Surgery.surgery_date)
        if specimen_type.startswith("tissue") and surgery is None:
            raise violation(
                "no surgery recorded",
                state=patient.state,
                rule="tissue specimens come from surgery",
            )
        row = m.Biospecimen(
            patient_id=patient.id,
            surgery_id=surgery.id if surgery else None,
            specimen_type=specimen_type,
            collected_on=on,
            storage_code=storage_code,
            pathological_necrosis_pct=pathological_necrosis_pct,
            pd_l1_cps=pd_l1_cps,
            biomarkers_json=json.dumps(biomarkers, sort_keys=True) if biomarkers else None,
        )
        return writes.insert(session, ctx.actor, row).id


@service
def start_maintenance(ctx: Context, patient_id: RecordId, start_date: dt.date | str) -> None:
    """After surgery, atezo/bev maintenance starts: ``operated`` -> ``maintenance``."""
    on = event_date(ctx, "start_date", start_date)
    with ctx.store.unit_of_work() as session:
        patient = enter(session, ctx, "start_maintenance", patient_id)
        surgery = queries.latest(session, m.Surgery, patient.id, m.Surgery.surgery_date)
        not_before("start_date", on, surgery.surgery_date if surgery else None, "the surgery")
        arm = ctx.protocol.arm(patient.arm or "")
        cap = f"; cap {arm.maintenance_cap_months} months" if arm.maintenance_cap_months else ""
        transition(session, ctx, patient, MAINTENANCE, on_date=on, reason=f"maintenance{cap}")
