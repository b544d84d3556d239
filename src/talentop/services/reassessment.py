"""Dynamic resectability reassessment in the non-surgical arm (the experts' proposal).

After each arm-B assessment, a patient whose tumour response is randomisable (e.g. PR/SD,
or CR) and whose latest liver function allows resection (ALBI grade 1-2 when bilirubin and
albumin are on record; Child-Pugh A was required at entry) is flagged for an MDT review.
A positive review allows ``switch_to_surgery``, recorded as its own event.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from talentop.errors import InvalidInput
from talentop.services._context import Context, enter_any, event_date, violation
from talentop.services._validate import RecordId, service
from talentop.services.states import RANDOMISED
from talentop.store import models as m
from talentop.store import queries, writes

#: ALBI grades compatible with major hepatectomy (grade 3 is decompensation-range).
RESECTABLE_ALBI_GRADES = (1, 2)


def _latest_lab(labs: list[m.LabResult], test: str, unit: str) -> float | None:
    values = [lab.value for lab in labs if lab.test == test and lab.unit == unit]
    return values[-1] if values else None


def liver_allows_resection(session: Any, patient_id: int) -> tuple[bool, str]:
    """(ok, why) from the latest bilirubin (umol/L) and albumin (g/L), via ALBI."""
    from talentop.clinical import albi

    labs = queries.rows_for(session, m.LabResult, patient_id, m.LabResult.sampled_on)
    bilirubin = _latest_lab(labs, "bilirubin", "umol/L")
    albumin = _latest_lab(labs, "albumin", "g/L")
    if bilirubin is None or albumin is None:
        return True, "liver function not on record since entry (Child-Pugh A at screening)"
    grade = albi(bilirubin_umol_l=bilirubin, albumin_g_l=albumin).grade
    return grade in RESECTABLE_ALBI_GRADES, f"ALBI grade {grade}"


def reassess_after_assessment(
    session: Any, ctx: Context, patient: m.Patient, on: dt.date, results: dict[str, Any]
) -> int | None:
    """Flag an arm-B patient for MDT review when response and liver suggest resectability."""
    arm = ctx.protocol.arm(patient.arm or "")
    if arm.includes_surgery or queries.latest(
        session, m.SurgerySwitch, patient.id, m.SurgerySwitch.switch_date
    ):
        return None
    timepoints = results.get("recist", {}).get("timepoints") or []
    response = timepoints[-1]["overall_response"] if timepoints else None
    if response not in (*ctx.protocol.assessment.randomisable_responses, "CR"):
        return None
    ok, why = liver_allows_resection(session, patient.id)
    if not ok:
        return None
    open_flags = [
        f for f in queries.rows_for(session, m.ResectabilityFlag, patient.id) if not f.resolved
    ]
    if open_flags:
        return open_flags[-1].id
    flag = m.ResectabilityFlag(
        patient_id=patient.id, flagged_on=on, reason=f"response {response}; {why}", resolved=False
    )
    return writes.insert(session, ctx.actor, flag).id


@service
def flag_for_resectability_review(
    ctx: Context, patient_id: RecordId, flagged_on: dt.date | str, reason: str
) -> int:
    """Flag an arm-B patient for an MDT resectability review by hand (investigator's call)."""
    on = event_date(ctx, "flagged_on", flagged_on)
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput.field("reason", reason, "why the patient may now be resectable")
    with ctx.store.unit_of_work() as session:
        patient = enter_any(session, ctx, patient_id, "flag_for_resectability_review")
        if patient.state != RANDOMISED or ctx.protocol.arm(patient.arm or "").includes_surgery:
            raise violation(
                f"patient {patient_id} is not on continued non-surgical treatment",
                state=patient.state,
                rule="resectability reassessment is for randomised patients in the non-surgical arm",
            )
        flag = m.ResectabilityFlag(
            patient_id=patient.id, flagged_on=on, reason=reason, resolved=False
        )
        return writes.insert(session, ctx.actor, flag).id
