"""What a correction re-derives, in the correction's transaction, and says it changed:

- ``responses``: RECIST 1.1 and mRECIST of every visit from the corrected lesions and
  measurements (the stored ``response_assessments`` rows are updated, audited);
- ``eligibility``: every criterion of the corrected screening record and the verdict; a
  patient already past screening who no longer meets a criterion gets an eligibility
  deviation (the path is not undone: ICH E6(R3) says to record and assess deviations);
- ``lab_scores``: ALBI from the patient's latest bilirubin and albumin before and after;
- ``stratification``: the patient's stratum levels from the corrected data against the
  levels randomised with (a difference is a stratification error; the allocation stands).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from talentop.errors import InvalidInput
from talentop.services._context import Context
from talentop.store import models as m
from talentop.store import queries, writes


def responses(session: Any, ctx: Context, patient: m.Patient) -> list[dict[str, Any]]:
    """Re-evaluate every visit; the visits whose response changed, before and after."""
    from talentop.recist import evaluate
    from talentop.services.assessment import build_case

    lesions = queries.rows_for(session, m.Lesion, patient.id)
    visits = queries.rows_for(session, m.AssessmentVisit, patient.id, m.AssessmentVisit.visit_date)
    criteria = [ctx.protocol.assessment.criteria]
    if ctx.protocol.assessment.record_mrecist and "mrecist" not in criteria:
        criteria.append("mrecist")
    changes = []
    for index, visit in enumerate(visits):
        history = [(v, queries.measurements_for_visit(session, v.id)) for v in visits[: index + 1]]
        for name in criteria:
            stored = queries.response_for_visit(session, visit.id, name)
            if stored is None:
                continue
            result = evaluate(build_case(ctx, lesions, history, name))
            timepoint = result["timepoints"][-1] if result.get("timepoints") else {}
            progression = result.get("progression_date")
            new = {
                "overall_response": timepoint.get("overall_response"),
                "best_overall_response": result.get("best_overall_response"),
                "depth_of_response_pct": result.get("depth_of_response_pct"),
                "progression_date": dt.date.fromisoformat(progression) if progression else None,
            }
            old = {key: getattr(stored, key) for key in new}
            if old != new:
                changes.append(
                    {
                        "visit_date": visit.visit_date.isoformat(),
                        "criteria": name,
                        "before": {k: _plain(v) for k, v in old.items()},
                        "after": {k: _plain(v) for k, v in new.items()},
                    }
                )
            writes.update(
                session,
                ctx.actor,
                stored,
                **new,
                engine_version=str(result.get("engine_version", "unknown")),
                result_json=json.dumps(result, sort_keys=True, default=str),
            )
    return changes


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def eligibility(
    session: Any, ctx: Context, patient: m.Patient, screening: m.Screening
) -> dict[str, Any]:
    """Re-run the protocol's criteria on the corrected record; what changed."""
    from talentop.clinical import evaluate_eligibility
    from talentop.services.states import REGISTERED, SCREEN_FAILED

    record = json.loads(screening.record_json)
    result = evaluate_eligibility(record, ctx.protocol)
    stored = {c.criterion_id: c for c in queries.screening_criteria(session, screening.id)}
    changed = []
    for criterion in result.criteria:
        row = stored.get(criterion.id)
        status = str(criterion.status)
        if row is None or row.status != status or row.reason != criterion.reason:
            changed.append(
                {
                    "criterion": criterion.id,
                    "before": None if row is None else row.status,
                    "after": status,
                    "values": {k: _plain(v) for k, v in dict(criterion.values).items()},
                    "reason": criterion.reason,
                }
            )
        if row is not None:
            writes.update(
                session,
                ctx.actor,
                row,
                status=status,
                value_json=json.dumps(dict(criterion.values), default=str),
                reason=criterion.reason,
            )
    verdict_before = screening.verdict
    if result.status != verdict_before:
        writes.update(session, ctx.actor, screening, verdict=result.status)
    deviation = None
    if result.status != "eligible" and patient.state not in (REGISTERED, SCREEN_FAILED):
        failed = [c["criterion"] for c in changed if c["after"] != "met"]
        deviation = writes.insert(
            session,
            ctx.actor,
            m.ProtocolDeviation(
                patient_id=patient.id,
                deviation_date=ctx.today(),
                category="eligibility",
                description=(
                    f"after a correction of screening {screening.id} the patient no longer "
                    f"meets {failed or 'the eligibility criteria'} (verdict {result.status}); "
                    f"enrolled in state {patient.state}"
                ),
            ),
        ).id
    return {
        "verdict_before": verdict_before,
        "verdict_after": result.status,
        "criteria_changed": changed,
        "eligibility_deviation_id": deviation,
    }


def _latest_lab(labs: list[m.LabResult], test: str) -> m.LabResult | None:
    rows = [lab for lab in labs if lab.test == test]
    return max(rows, key=lambda lab: (lab.sampled_on, lab.id)) if rows else None


def _albi(labs: list[m.LabResult]) -> dict[str, Any] | None:
    from talentop.clinical import albi

    bili, alb = _latest_lab(labs, "bilirubin"), _latest_lab(labs, "albumin")
    if bili is None or alb is None:
        return None
    if (
        bili.unit.replace(" ", "").lower() not in ("umol/l", "µmol/l")
        or alb.unit.replace(" ", "").lower() != "g/l"
    ):
        return None
    try:
        result = albi(bilirubin_umol_l=bili.value, albumin_g_l=alb.value)
    except InvalidInput:
        return None
    return {"score": round(result.score, 3), "grade": result.grade, "subgrade": result.subgrade}


def lab_scores(session: Any, patient: m.Patient, changed: dict, row: m.LabResult) -> dict[str, Any]:
    """ALBI from the latest bilirubin (umol/L) and albumin (g/L) labs, before and after."""
    labs = queries.rows_for(session, m.LabResult, patient.id)
    after = _albi(labs)
    # The lab as it was: the old values of the changed fields.
    original = {field: old for field, (old, _new) in changed.items()}
    current = {field: getattr(row, field) for field in original}
    for field, value in original.items():
        setattr(row, field, value)
    before = _albi(labs)
    for field, value in current.items():
        setattr(row, field, value)
    return {"albi_before": before, "albi_after": after, "changed": before != after}


def stratification(session: Any, ctx: Context, patient: m.Patient) -> list[dict[str, str]]:
    """Strata whose level from today's data differs from the level randomised with."""
    from talentop.services.randomise import stratum_levels

    allocation = queries.latest(session, m.Randomisation, patient.id, m.Randomisation.randomised_on)
    if allocation is None:
        return []
    randomised = json.loads(allocation.levels_json)
    try:
        current = stratum_levels(session, ctx, patient)
    except InvalidInput:
        return []  # a value is now missing: nothing to compare
    return [
        {"stratum": name, "as_randomised": level, "corrected": current[name]}
        for name, level in randomised.items()
        if name in current and current[name] != level
    ]


def record_stratification_errors(
    session: Any, ctx: Context, patient: m.Patient, errors: list[dict[str, str]], correction_id: int
) -> list[dict[str, Any]]:
    """Store the strata that now differ (once per stratum and corrected level)."""
    if not errors:
        return []
    allocation = queries.latest(session, m.Randomisation, patient.id, m.Randomisation.randomised_on)
    known = {
        (e.stratum, e.level_corrected)
        for e in queries.rows_for(session, m.StratificationError, patient.id)
    }
    out = []
    for error in errors:
        if (error["stratum"], error["corrected"]) in known:
            continue
        row = writes.insert(
            session,
            ctx.actor,
            m.StratificationError(
                patient_id=patient.id,
                randomisation_id=allocation.id,
                stratum=error["stratum"],
                level_as_randomised=error["as_randomised"],
                level_corrected=error["corrected"],
                correction_id=correction_id,
                recorded_at=ctx.now(),
            ),
        )
        out.append(
            {**error, "stratification_error_id": row.id, "allocation_unchanged": allocation.arm}
        )
    return out
