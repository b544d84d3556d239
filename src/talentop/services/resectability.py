"""Structured resectability: the baseline class at screening and later reassessment checklists.

``record_resectability`` stores the findings (``clinical.resectability.Findings``), the verdict
on each protocol criterion and, at baseline, the class (technically resectable, technically
unresectable, oncologically unresectable with its reason), refusing a class the criteria
contradict. ``current_findings`` gathers what is on record for a date (imaging, labs, the
latest checklist), each only if recent enough: what is older or absent stays missing.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from talentop.clinical.resectability import Findings, assess, check_class
from talentop.errors import InvalidInput
from talentop.services._context import Context, enter, event_date, violation
from talentop.services._validate import RecordId, service
from talentop.services.states import INDUCTION, SCREENED
from talentop.store import models as m
from talentop.store import queries, writes

CONTEXTS = ("baseline", "reassessment")


def _rules(ctx: Context) -> Any:
    if ctx.protocol.resectability is None:
        raise violation(
            f"protocol {ctx.protocol.id} has no resectability criteria",
            state="-",
            rule="structured resectability needs the protocol's resectability section",
        )
    return ctx.protocol.resectability


@service
def record_resectability(
    ctx: Context,
    patient_id: RecordId,
    assessed_on: dt.date | str,
    *,
    criteria: dict[str, Any],
    context: str = "baseline",
    resectability_class: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """Store a structured resectability assessment; at ``baseline`` the class is required.

    Baseline: once, at screening (state ``screened``, or during induction dated on or before
    its start). Returns ``{"assessment_id", "status", "criteria", "explain", "class"}``.
    """
    on = event_date(ctx, "assessed_on", assessed_on)
    problems = []
    if context not in CONTEXTS:
        problems.append(f"context={context!r}: expected one of {list(CONTEXTS)}")
    try:
        findings = Findings.from_mapping(criteria)
    except InvalidInput as error:
        problems += error.problems
        findings = None
    if context == "baseline" and resectability_class is None:
        problems.append("resectability_class=None: a baseline assessment needs its class")
    if problems:
        raise InvalidInput(problems)
    verdict = assess(findings, _rules(ctx))
    if resectability_class is not None:
        problems = check_class(resectability_class, verdict, reason)
        if problems:
            raise InvalidInput(problems)
    with ctx.store.unit_of_work() as session:
        patient = enter(
            session, ctx, "record_resectability", patient_id, on=on, field="assessed_on"
        )
        if context == "baseline":
            _check_baseline(session, patient, on)
        row = writes.insert(
            session,
            ctx.actor,
            m.ResectabilityAssessment(
                patient_id=patient.id,
                assessed_on=on,
                context=context,
                resectability_class=resectability_class,
                status=verdict.status,
                reason=reason,
                criteria_json=json.dumps(findings.to_dict(), sort_keys=True),
            ),
        )
        return {
            "assessment_id": row.id,
            "status": verdict.status,
            "criteria": verdict.criteria,
            "explain": verdict.explain(),
            "class": resectability_class,
        }


def _check_baseline(session: Any, patient: m.Patient, on: dt.date) -> None:
    earlier = [
        r
        for r in queries.rows_for(session, m.ResectabilityAssessment, patient.id)
        if r.context == "baseline"
    ]
    if earlier:
        raise violation(
            "a baseline resectability class is already recorded",
            state=patient.state,
            rule="one baseline resectability class per patient",
        )
    started = next(
        (
            s.on_date
            for s in queries.rows_for(session, m.StateChange, patient.id)
            if s.to_state == INDUCTION
        ),
        None,
    )
    if patient.state not in (SCREENED, INDUCTION) or (started is not None and on > started):
        raise violation(
            f"baseline assessment dated {on} (induction start {started})",
            state=patient.state,
            rule="the baseline resectability class is assessed at screening, before treatment",
        )


def baseline_class(session: Any, patient_id: int) -> m.ResectabilityAssessment | None:
    """The patient's baseline resectability assessment, if recorded."""
    rows = [
        r
        for r in queries.rows_for(session, m.ResectabilityAssessment, patient_id)
        if r.context == "baseline"
    ]
    return rows[0] if rows else None


def current_findings(
    session: Any, patient_id: int, on: dt.date, max_age_days: int
) -> tuple[Findings, dict[str, str]]:
    """Findings on ``on`` from data no older than ``max_age_days`` (and not after ``on``).

    Newest first: imaging (remnant % from the two volumes, Vp/Vv), labs (ALBI from bilirubin
    umol/L and albumin g/L), then the latest checklist (``record_resectability``) for what
    imaging and labs do not give (Child-Pugh grade, R0 feasibility). Returns the findings and
    where each came from; anything older or absent is None (missing).
    """
    from talentop.clinical import albi

    oldest = on - dt.timedelta(days=max_age_days)

    def fresh(day: dt.date) -> bool:
        return oldest <= day <= on

    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    checklists = [
        r
        for r in queries.rows_for(
            session, m.ResectabilityAssessment, patient_id, m.ResectabilityAssessment.assessed_on
        )
        if fresh(r.assessed_on)
    ]
    for row in checklists:  # oldest first: later checklists overwrite
        for key, value in json.loads(row.criteria_json).items():
            if value is not None:
                values[key], sources[key] = value, f"checklist {row.assessed_on}"
    studies = [
        s
        for s in queries.rows_for(session, m.ImagingStudy, patient_id, m.ImagingStudy.study_date)
        if fresh(s.study_date)
    ]
    for study in studies:
        if study.future_liver_remnant_ml and study.total_functional_liver_volume_ml:
            pct = 100 * study.future_liver_remnant_ml / study.total_functional_liver_volume_ml
            values["remnant_liver_pct"] = round(pct, 1)
            sources["remnant_liver_pct"] = f"imaging {study.study_date}"
        for key in ("vp_grade", "vv_grade"):
            if getattr(study, key):
                values[key], sources[key] = getattr(study, key), f"imaging {study.study_date}"
    labs = [
        lab
        for lab in queries.rows_for(session, m.LabResult, patient_id, m.LabResult.sampled_on)
        if fresh(lab.sampled_on)
    ]
    bilirubin = [x for x in labs if x.test == "bilirubin" and x.unit == "umol/L"]
    albumin = [x for x in labs if x.test == "albumin" and x.unit == "g/L"]
    if bilirubin and albumin:
        grade = albi(bilirubin_umol_l=bilirubin[-1].value, albumin_g_l=albumin[-1].value).grade
        values["albi_grade"] = grade
        sources["albi_grade"] = f"labs {max(bilirubin[-1].sampled_on, albumin[-1].sampled_on)}"
    return Findings(**{k: values.get(k) for k in Findings.__dataclass_fields__}), sources
