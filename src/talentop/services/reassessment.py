"""Dynamic resectability reassessment in the non-surgical arm (the experts' proposal).

After each arm-B scan the protocol's ``reassessment`` rule decides: a response in
``reassessment.responses`` (e.g. CR or PR: "a significant response", Chiang, seed article)
flags the patient for an MDT review only when every structured resectability criterion the
data can show (remnant liver, thrombus extent, liver function; ``clinical.resectability``) is
met on data no older than ``reassessment.max_data_age_days``. Missing or stale data BLOCK the
flag (they never pass it); the result names what is missing. R0 feasibility is the MDT's call.
A positive MDT review allows ``switch_to_surgery``, recorded as its own event.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from talentop.clinical.resectability import assess
from talentop.errors import InvalidInput
from talentop.services._context import Context, enter_any, event_date, violation
from talentop.services._validate import RecordId, service
from talentop.services.resectability import current_findings
from talentop.services.states import RANDOMISED
from talentop.store import models as m
from talentop.store import queries, writes

#: The criteria a scan can decide without the MDT (R0 feasibility is the MDT's judgement).
TRIGGER_CRITERIA = ("remnant_liver", "thrombus_extent", "liver_function")


def reassess_after_assessment(
    session: Any, ctx: Context, patient: m.Patient, on: dt.date, results: dict[str, Any]
) -> dict[str, Any]:
    """The protocol's trigger after an arm-B scan: ``{"status", "flag_id", "reason", ...}``.

    ``status``: "not_applicable" (no rule, surgical arm, already switched), "no_response"
    (the response does not trigger), "blocked" (criteria missing: ``missing``), "not_met"
    (a criterion failed: ``failed``) or "flagged" (``flag_id``, an open flag reused).
    """
    rules = ctx.protocol.reassessment
    arm = ctx.protocol.arm(patient.arm or "")
    if (
        rules is None
        or ctx.protocol.resectability is None
        or arm.includes_surgery
        or queries.latest(session, m.SurgerySwitch, patient.id, m.SurgerySwitch.switch_date)
    ):
        return {"status": "not_applicable", "flag_id": None, "reason": None}
    timepoints = results.get("recist", {}).get("timepoints") or []
    response = timepoints[-1]["overall_response"] if timepoints else None
    if response not in rules.responses.value:
        return {
            "status": "no_response",
            "flag_id": None,
            "reason": f"response {response} not in {rules.responses.value}",
        }
    findings, sources = current_findings(session, patient.id, on, rules.max_data_age_days.value)
    verdict = assess(findings, ctx.protocol.resectability)
    criteria = {k: verdict.criteria[k] for k in TRIGGER_CRITERIA}
    missing = [k for k, met in criteria.items() if met is None]
    failed = [k for k, met in criteria.items() if met is False]
    why = "; ".join(f"{k}: {verdict.reasons[k]}" for k in TRIGGER_CRITERIA)
    if failed:
        return {"status": "not_met", "flag_id": None, "failed": failed, "reason": why}
    if missing:
        return {
            "status": "blocked",
            "flag_id": None,
            "missing": missing,
            "reason": f"response {response}; missing or older than "
            f"{rules.max_data_age_days.value} days: {', '.join(missing)} ({why})",
        }
    open_flags = [
        f for f in queries.rows_for(session, m.ResectabilityFlag, patient.id) if not f.resolved
    ]
    if open_flags:
        return {"status": "flagged", "flag_id": open_flags[-1].id, "reason": why}
    flag = m.ResectabilityFlag(
        patient_id=patient.id,
        flagged_on=on,
        reason=f"response {response}; {why} (from {', '.join(sorted(set(sources.values())))})",
        resolved=False,
    )
    return {
        "status": "flagged",
        "flag_id": writes.insert(session, ctx.actor, flag).id,
        "reason": why,
    }


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
