"""Local therapy (TACE, radiotherapy...) as a recorded path: procedure, targets, response.

The protocol's ``local_therapy`` section says which therapies are allowed and when:
``on_study`` (TALENTACE: on-demand TACE in the arms that list it) or ``before_surgery``
(TALENTOP: a conversion pathway before the resection or an arm-B switch, the experts'
proposal; never after the resection). What a local therapy does to TTF is the protocol's
``local_therapy.ttf_effect`` (``services.endpoints``). The response of the treated lesions
(mRECIST, read on the next scan) is recorded per procedure; consecutive insufficient
responses are TACE refractoriness (``endpoints.tace``).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from talentop.errors import InvalidInput
from talentop.services._context import Context, enter, event_date, not_before, violation
from talentop.services._validate import RecordId, service
from talentop.store import models as m
from talentop.store import queries, writes

#: mRECIST responses of the treated lesions after a procedure (Lencioni & Llovet 2010).
RESPONSES = ("CR", "PR", "SD", "PD")


@service
def record_local_therapy(
    ctx: Context,
    patient_id: RecordId,
    performed_on: dt.date | str,
    *,
    therapy: str,
    target_lesions: list[str],
    technique: str | None = None,
) -> int:
    """Record a local therapy procedure on baseline lesions (``target_lesions``: codes).

    Refused unless the protocol allows ``therapy`` now: in the patient's arm (``on_study``),
    or before any resection (``before_surgery``); after randomisation in both cases.
    """
    on = event_date(ctx, "performed_on", performed_on)
    rules = ctx.protocol.local_therapy
    problems = []
    if rules is None:
        raise violation(
            f"protocol {ctx.protocol.id} has no local therapy",
            state="-",
            rule="local therapy needs the protocol's local_therapy section",
        )
    if therapy not in rules.types:
        problems.append(f"therapy={therapy!r}: expected one of the protocol's {rules.types}")
    if therapy == "tace" and technique is not None and technique not in rules.tace_techniques:
        problems.append(f"technique={technique!r}: expected one of {rules.tace_techniques}")
    if not isinstance(target_lesions, list) or not target_lesions:
        problems.append(f"target_lesions={target_lesions!r}: expected the treated lesion codes")
    if problems:
        raise InvalidInput(problems)
    with ctx.store.unit_of_work() as session:
        patient = enter(session, ctx, "record_local_therapy", patient_id)
        arm = ctx.protocol.arm(patient.arm or "")
        codes = {lesion.code for lesion in queries.rows_for(session, m.Lesion, patient.id)}
        unknown = [c for c in target_lesions if c not in codes]
        if unknown:
            raise InvalidInput.field("target_lesions", unknown, f"baseline lesions {sorted(codes)}")
        allocation = queries.latest(
            session, m.Randomisation, patient.id, m.Randomisation.randomised_on
        )
        not_before("performed_on", on, allocation.randomised_on, "randomisation")
        if rules.when == "on_study" and therapy not in arm.local_therapy:
            raise violation(
                f"arm {arm.id} gives no {therapy}",
                state=patient.state,
                rule=f"local therapy on study in the arms that list it (arm {arm.id}: "
                f"{arm.local_therapy or 'none'})",
            )
        surgery = queries.latest(session, m.Surgery, patient.id, m.Surgery.surgery_date)
        if rules.when == "before_surgery" and surgery is not None:
            raise violation(
                f"resection recorded on {surgery.surgery_date}",
                state=patient.state,
                rule="local therapy is a pathway before surgery (protocol local_therapy.when)",
            )
        row = m.LocalTherapy(
            patient_id=patient.id,
            therapy=therapy,
            performed_on=on,
            technique=technique,
            target_lesions_json=json.dumps(sorted(target_lesions)),
        )
        return writes.insert(session, ctx.actor, row).id


@service
def record_local_therapy_response(
    ctx: Context,
    patient_id: RecordId,
    therapy_id: RecordId,
    assessed_on: dt.date | str,
    *,
    response: str,
) -> None:
    """The mRECIST response of a procedure's treated lesions (once, after the procedure)."""
    on = event_date(ctx, "assessed_on", assessed_on)
    if response not in RESPONSES:
        raise InvalidInput.field("response", response, f"one of {list(RESPONSES)} (mRECIST)")
    with ctx.store.unit_of_work() as session:
        patient = enter(
            session, ctx, "record_local_therapy_response", patient_id, on=on, field="assessed_on"
        )
        row = queries.get(session, m.LocalTherapy, therapy_id, what="local_therapy")
        if row.patient_id != patient.id:
            raise InvalidInput.field(
                "therapy_id", therapy_id, f"a procedure of patient {patient_id}"
            )
        if row.response is not None:
            raise violation(
                f"response {row.response} already recorded on {row.response_on}",
                state=patient.state,
                rule="one response per local therapy procedure",
            )
        if on <= row.performed_on:
            raise InvalidInput.field(
                "assessed_on", on.isoformat(), f"after the procedure ({row.performed_on})"
            )
        writes.update(session, ctx.actor, row, response=response, response_on=on)


def local_therapies(session: Any, patient_id: int) -> list[m.LocalTherapy]:
    """The patient's procedures, oldest first."""
    return queries.rows_for(session, m.LocalTherapy, patient_id, m.LocalTherapy.performed_on)
