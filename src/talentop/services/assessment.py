"""Lesions, tumour assessments (RECIST 1.1 + mRECIST from stored rows), end of induction.

The service builds the RECIST engine's case dict (design.md contract) from the stored
lesions and measurements, runs ``talentop.recist.evaluate`` over every visit up to the new
one and stores the result with the engine version.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from talentop.errors import InvalidInput
from talentop.services._context import Context, enter, event_date, not_before, transition, violation
from talentop.services._validate import RecordId, service
from talentop.services.induction import induction_complete
from talentop.services.states import ASSESSED, NOT_RANDOMISED, RANDOMISED
from talentop.store import models as m
from talentop.store import path_queries, queries, writes

TARGET_TOKENS = ("too_small", "absent", "not_evaluated", "resected")
NON_TARGET_STATUSES = ("absent", "present", "progression", "not_evaluated", "resected")
#: A lesion removed at surgery (``talentop.recist.resection``): only after a recorded surgery.
RESECTED = "resected"
NEW_LESION_STATUSES = ("none", "equivocal", "unequivocal")
#: Longest lesion code and organ name the ``lesions`` table holds (longer: ``InvalidInput``,
#: not a database error on PostgreSQL).
MAX_CODE, MAX_ORGAN = 16, 32


@service
def record_lesions_baseline(
    ctx: Context, patient_id: RecordId, baseline_date: dt.date | str, lesions: list[dict[str, Any]]
) -> list[int]:
    """Store baseline lesions: ``{"id", "kind": target|non_target, "organ", "nodal",
    "diameter_mm", "viable_diameter_mm"}`` (viable = arterially enhancing, for mRECIST)."""
    on = event_date(ctx, "baseline_date", baseline_date)
    problems = []
    if not isinstance(lesions, list) or not lesions:
        raise InvalidInput.field("lesions", lesions, "a non-empty list of lesion dicts")
    for i, lesion in enumerate(lesions):
        if not isinstance(lesion.get("id"), str) or not lesion["id"]:
            problems.append(
                f"lesions[{i}].id={lesion.get('id')!r}: expected a lesion code (e.g. T1)"
            )
        elif len(lesion["id"]) > MAX_CODE:
            problems.append(
                f"lesions[{i}].id={lesion['id'][:40]!r}: expected a lesion code of at most "
                f"{MAX_CODE} characters (e.g. T1)"
            )
        if lesion.get("kind") not in ("target", "non_target"):
            problems.append(
                f"lesions[{i}].kind={lesion.get('kind')!r}: expected target or non_target"
            )
        if lesion.get("kind") == "target":
            size = lesion.get("diameter_mm")
            if isinstance(size, bool) or not isinstance(size, int | float) or size <= 0:
                problems.append(f"lesions[{i}].diameter_mm={size!r}: expected a diameter in mm > 0")
        if not isinstance(lesion.get("organ"), str) or len(lesion["organ"]) > MAX_ORGAN:
            problems.append(
                f"lesions[{i}].organ={str(lesion.get('organ'))[:40]!r}: expected an organ name "
                f"of at most {MAX_ORGAN} characters"
            )
    if problems:
        raise InvalidInput(problems)
    with ctx.store.unit_of_work() as session:
        patient = enter(session, ctx, "record_lesions_baseline", patient_id, on=on)
        if queries.rows_for(session, m.AssessmentVisit, patient.id):
            raise violation(
                "baseline cannot change after a follow-up assessment",
                state=patient.state,
                rule="RECIST baseline is fixed once follow-up has started",
            )
        rows = writes.insert_all(
            session,
            ctx.actor,
            [
                m.Lesion(
                    patient_id=patient.id,
                    code=lesion["id"],
                    kind=lesion["kind"],
                    organ=lesion["organ"],
                    nodal=bool(lesion.get("nodal", False)),
                    baseline_date=on,
                    diameter_mm=lesion.get("diameter_mm"),
                    viable_diameter_mm=lesion.get("viable_diameter_mm"),
                )
                for lesion in lesions
            ],
        )
        # Validate the baseline now with the engine, so a bad one is refused here.
        from talentop.recist import evaluate

        evaluate(build_case(ctx, path_queries.lesions(session, patient.id), [], "recist1.1"))
        return [row.id for row in rows]


def _value(number: float | None, token: str | None) -> Any:
    if number is not None:
        return number
    if token in (None, "not_evaluated"):
        return None
    return token


def build_case(
    ctx: Context,
    lesions: list[m.Lesion],
    visits: list[tuple[m.AssessmentVisit, list[m.LesionMeasurement]]],
    criteria: str,
) -> dict[str, Any]:
    """The RECIST engine input (design.md contract) from stored lesions and visits."""
    mrecist = criteria == "mrecist"
    by_id = {lesion.id: lesion for lesion in lesions}
    baseline_date = min(lesion.baseline_date for lesion in lesions)
    targets = []
    for lesion in lesions:
        if lesion.kind != "target":
            continue
        size = (
            lesion.viable_diameter_mm
            if mrecist and lesion.viable_diameter_mm is not None
            else lesion.diameter_mm
        )
        targets.append(
            {"id": lesion.code, "organ": lesion.organ, "nodal": lesion.nodal, "diameter_mm": size}
        )
    case: dict[str, Any] = {
        "criteria": criteria,
        "confirmation": ctx.protocol.assessment.confirmation,
        "min_sd_days": ctx.protocol.assessment.min_sd_days,
        "baseline": {
            "date": baseline_date.isoformat(),
            "target": targets,
            "non_target": [
                {"id": lesion.code, "organ": lesion.organ}
                for lesion in lesions
                if lesion.kind == "non_target"
            ],
        },
        "followups": [],
    }
    for visit, measurements in visits:
        target: dict[str, Any] = {}
        non_target: dict[str, Any] = {}
        for meas in measurements:
            lesion = by_id[meas.lesion_id]
            if lesion.kind == "target":
                value = _value(meas.diameter_mm, meas.status)
                if mrecist and lesion.viable_diameter_mm is not None:
                    value = _value(meas.viable_diameter_mm, meas.viable_status)
                target[lesion.code] = value
            else:
                non_target[lesion.code] = meas.status or "not_evaluated"
        case["followups"].append(
            {
                "date": visit.visit_date.isoformat(),
                "target": target,
                "non_target": non_target,
                "new_lesions": visit.new_lesions_mrecist if mrecist else visit.new_lesions,
            }
        )
    return case


def _split_value(field: str, value: Any, problems: list[str]) -> tuple[float | None, str | None]:
    if value is None:
        return None, "not_evaluated"
    if isinstance(value, str):
        if value not in TARGET_TOKENS:
            problems.append(f"{field}={value!r}: expected mm, or one of {list(TARGET_TOKENS)}")
        return None, value
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        problems.append(f"{field}={value!r}: expected a diameter in mm >= 0")
        return None, None
    return float(value), None


@service
def record_assessment(
    ctx: Context,
    patient_id: RecordId,
    visit_date: dt.date | str,
    *,
    target: dict[str, Any],
    non_target: dict[str, str] | None = None,
    new_lesions: str = "none",
    viable: dict[str, Any] | None = None,
    new_lesions_mrecist: str | None = None,
) -> dict[str, Any]:
    """Store one visit's measurements; evaluate RECIST 1.1 (and mRECIST) over all visits.

    ``target`` maps lesion code to mm / "too_small" / "absent" / None; ``viable`` the same
    for mRECIST viable diameters (default: the RECIST value). After an arm-B assessment the
    dynamic reassessment rule may flag the patient for an MDT resectability review.
    """
    on = event_date(ctx, "visit_date", visit_date)
    non_target = non_target or {}
    viable = viable or {}
    new_mr = new_lesions_mrecist or new_lesions
    problems: list[str] = []
    for name, status in (("new_lesions", new_lesions), ("new_lesions_mrecist", new_mr)):
        if status not in NEW_LESION_STATUSES:
            problems.append(f"{name}={status!r}: expected one of {list(NEW_LESION_STATUSES)}")
    for code, status in non_target.items():
        if status not in NON_TARGET_STATUSES:
            problems.append(
                f"non_target[{code!r}]={status!r}: expected one of {list(NON_TARGET_STATUSES)}"
            )
    split = {code: _split_value(f"target[{code!r}]", v, problems) for code, v in target.items()}
    split_viable = {
        code: _split_value(f"viable[{code!r}]", v, problems) for code, v in viable.items()
    }
    if problems:
        raise InvalidInput(problems)
    with ctx.store.unit_of_work() as session:
        patient = enter(session, ctx, "record_assessment", patient_id, on=on, field="visit_date")
        lesions = path_queries.lesions(session, patient.id)
        if not lesions:
            raise violation(
                "no baseline lesions recorded",
                state=patient.state,
                rule="assessments need a RECIST baseline",
            )
        codes = {lesion.code: lesion for lesion in lesions}
        unknown = [c for c in [*target, *non_target, *viable] if c not in codes]
        if unknown:
            raise InvalidInput.field("lesion", unknown, f"baseline lesion codes {sorted(codes)}")
        _check_resected(session, patient, on, {**target, **non_target, **viable})
        previous = path_queries.visits(session, patient.id)
        earliest = (
            previous[-1].visit_date + dt.timedelta(days=1)
            if previous
            else min(lesion.baseline_date for lesion in lesions)
        )
        not_before(
            "visit_date", on, earliest, "the previous assessment" if previous else "baseline"
        )
        visit = writes.insert(
            session,
            ctx.actor,
            m.AssessmentVisit(
                patient_id=patient.id,
                visit_date=on,
                new_lesions=new_lesions,
                new_lesions_mrecist=new_mr,
            ),
        )
        rows = []
        for code, lesion in codes.items():
            if lesion.kind == "target":
                number, token = split.get(code, (None, "not_evaluated"))
                v_number, v_token = split_viable.get(code, (number, token))
            else:
                number, token = None, non_target.get(code, "not_evaluated")
                v_number, v_token = None, None
            rows.append(
                m.LesionMeasurement(
                    visit_id=visit.id,
                    lesion_id=lesion.id,
                    diameter_mm=number,
                    status=token,
                    viable_diameter_mm=v_number,
                    viable_status=v_token,
                )
            )
        writes.insert_all(session, ctx.actor, rows)
        # Every earlier visit's measurements in one statement, this visit's as written.
        measured = path_queries.measurements_by_visit(session, patient.id) if previous else {}
        history = [(v, measured.get(v.id, [])) for v in previous] + [(visit, rows)]
        results = _evaluate_and_store(session, ctx, patient, visit, lesions, history)
        reassessment = None
        if patient.state == RANDOMISED and patient.arm is not None:
            from talentop.services.reassessment import reassess_after_assessment

            reassessment = reassess_after_assessment(session, ctx, patient, on, results)
        return {
            "visit_id": visit.id,
            **results,
            "resectability_flag": reassessment["flag_id"] if reassessment else None,
            "reassessment": reassessment,
        }


def _check_resected(session, patient, on: dt.date, values: dict[str, Any]) -> None:
    """A lesion is "resected" only at a scan on or after a recorded surgery."""
    resected = sorted(code for code, value in values.items() if value == RESECTED)
    if not resected:
        return
    surgery = queries.latest(session, m.Surgery, patient.id, m.Surgery.surgery_date)
    if surgery is None or surgery.surgery_date > on:
        when = "no surgery on record" if surgery is None else f"surgery on {surgery.surgery_date}"
        raise InvalidInput.field(
            "resected",
            resected,
            f"lesions resected at a recorded surgery on or before {on} ({when})",
        )


def _evaluate_and_store(session, ctx, patient, visit, lesions, history) -> dict[str, Any]:
    from talentop.recist import evaluate

    # RECIST 1.1 always (the PFS endpoint and the design.md contract); mRECIST when it is the
    # protocol's criteria or recorded alongside
    criteria = ["recist1.1"]
    if ctx.protocol.assessment.criteria == "mrecist" or ctx.protocol.assessment.record_mrecist:
        criteria.append("mrecist")
    out: dict[str, Any] = {}
    rows = []
    for name in criteria:
        result = evaluate(build_case(ctx, lesions, history, name))
        timepoint = result["timepoints"][-1] if result.get("timepoints") else {}
        progression = result.get("progression_date")
        rows.append(
            m.ResponseAssessment(
                patient_id=patient.id,
                visit_id=visit.id,
                criteria=name,
                engine_version=str(result.get("engine_version", "unknown")),
                overall_response=timepoint.get("overall_response"),
                best_overall_response=result.get("best_overall_response"),
                depth_of_response_pct=result.get("depth_of_response_pct"),
                progression_date=dt.date.fromisoformat(progression) if progression else None,
                result_json=json.dumps(result, sort_keys=True, default=str),
            )
        )
        out["recist" if name == "recist1.1" else name] = result
    writes.insert_all(session, ctx.actor, rows)
    return out


@service
def complete_assessment(
    ctx: Context, patient_id: RecordId, on_date: dt.date | str
) -> dict[str, Any]:
    """Close induction: ``induction`` -> ``assessed`` (PR/SD...) or ``not_randomised`` (PD...).

    The best overall response by the protocol's criteria decides: a response not in
    ``assessment.randomisable_responses`` ends the path before randomisation (follow-up
    continues). So does progression at any assessment so far: SD at week 6 then PD at the
    end-of-induction scan has a best response of SD, yet the disease progressed and the
    patient is not a PR/SD patient at the decision. Otherwise every induction cycle must
    have been given.
    """
    on = event_date(ctx, "on_date", on_date)
    with ctx.store.unit_of_work() as session:
        patient = enter(session, ctx, "complete_assessment", patient_id)
        response = queries.latest_response(session, patient.id, ctx.protocol.assessment.criteria)
        if response is None:
            raise violation(
                "no response assessment recorded",
                state=patient.state,
                rule="induction ends with a response assessment",
            )
        bor = response.best_overall_response
        allowed = ctx.protocol.assessment.randomisable_responses
        reason = None
        if bor not in allowed:
            reason = f"best overall response {bor} is not randomisable ({', '.join(allowed)})"
        elif response.progression_date is not None:
            reason = (
                f"progressed on {response.progression_date.isoformat()} (best overall "
                f"response {bor}): only {', '.join(allowed)} without progression is randomisable"
            )
        if reason is not None:
            transition(session, ctx, patient, NOT_RANDOMISED, on_date=on, reason=reason)
            return {"state": NOT_RANDOMISED, "best_overall_response": bor, "reason": reason}
        missing = induction_complete(
            ctx.protocol, queries.rows_for(session, m.DrugAdministration, patient.id)
        )
        if missing:
            raise violation(
                f"induction cycles {missing} not recorded",
                state=patient.state,
                rule="all induction cycles are given before the randomisation assessment",
            )
        transition(
            session, ctx, patient, ASSESSED, on_date=on, reason=f"best overall response {bor}"
        )
        return {
            "state": ASSESSED,
            "best_overall_response": bor,
            "depth_of_response_pct": response.depth_of_response_pct,
            "reason": None,
        }


@service
def decline_randomisation(
    ctx: Context, patient_id: RecordId, on_date: dt.date | str, reason: str
) -> None:
    """An assessed patient leaves before randomisation (withdrew...): -> ``not_randomised``."""
    on = event_date(ctx, "on_date", on_date)
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput.field("reason", reason, "a reason (e.g. 'patient withdrew consent')")
    with ctx.store.unit_of_work() as session:
        patient = enter(session, ctx, "decline_randomisation", patient_id)
        transition(session, ctx, patient, NOT_RANDOMISED, on_date=on, reason=reason)
