"""The demo's interim analysis and report on any trial database: a live trial's, not only a
simulated one.

``talentop demo`` keeps, while it simulates, a ``TrialRun`` (who was screened out and why,
who started induction, each induction patient's response, arm and surgery) and builds its
``Interim`` and report from it plus the database (ADTTE and safety read back). Here the same
``TrialRun`` is rebuilt from the stored records alone (screenings and their criteria, state
history, responses, MDT decisions, allocations, surgeries), then the very same
``interim_analysis`` and ``build_report`` run on it, so the statistician's page and the demo
report cannot drift apart.

Patients still on their way (registered but not screened, eligible but not started,
in induction, assessed and awaiting the MDT or randomisation) are counted in the CONSORT
boxes with that reason, so the diagram adds up at any moment of a live trial.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import Counter
from typing import Any

from talentop.demo.analysis import Interim, interim_analysis
from talentop.demo.run import END_OF_INDUCTION_PD, TrialRun, adtte_both, exclusion_label
from talentop.errors import InvalidInput

#: CONSORT reasons of patients still on their way (live trials only).
WAITING_SCREENING = "Registered, screening not recorded yet"
WAITING_INDUCTION = "Eligible, induction not started yet"
IN_INDUCTION = "Induction or its assessment ongoing"
AWAITING_DECISION = "Assessed, awaiting MDT decision or randomisation"


def _sex(code: str | None) -> str | None:
    return {"M": "male", "F": "female"}.get(code or "", code)


def _patient_row(session: Any, ctx: Any, patient: Any, code: str) -> dict[str, Any]:
    """One induction patient as ``run_patient`` records it."""
    from talentop.clinical.fields import coerce_patient
    from talentop.services.mdt import latest_review
    from talentop.services.resectability import baseline_class
    from talentop.store import models as m
    from talentop.store import queries

    protocol = ctx.protocol
    screening = queries.latest(session, m.Screening, patient.id, m.Screening.screened_on)
    try:
        record = coerce_patient(json.loads(screening.record_json)) if screening else {}
    except InvalidInput:
        record = {}
    history = queries.rows_for(session, m.StateChange, patient.id, m.StateChange.id)
    left = next((h for h in history if h.from_state == "induction"), None)
    responses = [
        r
        for r in queries.rows_for(session, m.ResponseAssessment, patient.id)
        if r.criteria == protocol.assessment.criteria
    ]
    visits = {v.id: v.visit_date for v in queries.rows_for(session, m.AssessmentVisit, patient.id)}
    until = left.on_date if left is not None and left.on_date else dt.date.max
    before = [r for r in responses if visits.get(r.visit_id, dt.date.max) <= until]
    response = (before or responses or [None])[-1]
    doses = queries.rows_for(session, m.DrugAdministration, patient.id)
    weights = [d.weight_kg for d in doses if d.weight_kg is not None]
    allocation = queries.latest(session, m.Randomisation, patient.id, m.Randomisation.randomised_on)
    baseline = baseline_class(session, patient.id)
    review = latest_review(session, patient.id, "randomisation")
    row: dict[str, Any] = {
        "patient_id": patient.id,
        "usubjid": f"{protocol.id.upper()}-{code}-{patient.pseudo_id}",
        "bor": response.best_overall_response if response else None,
        "depth_of_response_pct": response.depth_of_response_pct if response else None,
        "ecog": record.get("ecog"),
        "vp_grade": record.get("vp_grade"),
        "age_years": patient.registered_on.year - patient.birth_year
        if patient.birth_year
        else None,
        "sex": _sex(patient.sex),
        "weight_kg": weights[-1] if weights else None,
        "largest_tumour_diameter_cm": record.get("largest_tumour_diameter_cm"),
        "arm": allocation.arm if allocation else None,
        "operated": bool(queries.rows_for(session, m.Surgery, patient.id)),
        "switched": bool(queries.rows_for(session, m.SurgerySwitch, patient.id)),
        "not_randomised_reason": None,
        "not_operated_reason": None,
        "baseline_class": baseline.resectability_class if baseline is not None else None,
        "mdt_resectable": None if review is None else review.resectable,
    }
    if allocation is not None:
        row.update(stratum=allocation.stratum_key, randomised_on=allocation.randomised_on)
        arm = protocol.arm(allocation.arm)
        if arm.includes_surgery and not row["operated"]:
            row["not_operated_reason"] = _not_operated(session, patient)
    return row


def _not_operated(session: Any, patient: Any) -> str:
    from talentop.store import models as m
    from talentop.store import queries

    stops = queries.rows_for(session, m.Discontinuation, patient.id, m.Discontinuation.stop_date)
    if stops:
        return f"treatment stopped before surgery ({stops[0].reason.replace('_', ' ')})"
    if patient.state == "died":
        return "died before surgery"
    return "surgery not yet recorded"


def _not_randomised_reason(session: Any, patient: Any, row: dict[str, Any]) -> str:
    """Why an induction patient was not randomised, in the demo's words."""
    from talentop.store import models as m
    from talentop.store import queries

    history = queries.rows_for(session, m.StateChange, patient.id, m.StateChange.id)
    step = next((h for h in history if h.to_state == "not_randomised"), None)
    if step is None:
        return AWAITING_DECISION if row["bor"] is not None else IN_INDUCTION
    if step.from_state == "induction":
        if row["bor"] in ("PR", "SD", "CR"):
            return END_OF_INDUCTION_PD
        return f"{row['bor']} after induction (RECIST)"
    if (step.reason or "").startswith("MDT:"):
        return "Not resectable (MDT review)"
    return "Declined randomisation"


def trial_run(ctx: Any, cutoff_date: dt.date) -> TrialRun:
    """The ``TrialRun`` of the trial in ``ctx.store``, from its stored records."""
    from talentop.services.states import STATES
    from talentop.store import models as m
    from talentop.store import queries, read_queries

    run = TrialRun(cutoff_date=cutoff_date, model=None)
    with ctx.store.read_only() as session:
        everyone = read_queries.patients_in_states(
            session, read_queries.PatientFilter(site_ids=None), STATES
        )
        for patient, code in everyone:
            run.screened += 1
            reached = {h.to_state for h in queries.rows_for(session, m.StateChange, patient.id)}
            if "screen_failed" in reached:
                screening = queries.latest(
                    session, m.Screening, patient.id, m.Screening.screened_on
                )
                failed = [
                    c.criterion_id
                    for c in session.query(m.ScreeningCriterion).filter_by(
                        screening_id=screening.id
                    )
                    if c.status == "not_met"
                ]
                label = exclusion_label(ctx.protocol, failed[0]) if failed else "Not eligible"
                run.screen_failures[label if len(failed) <= 1 else "Several criteria not met"] += 1
                continue
            if "induction" not in reached:
                waiting = WAITING_INDUCTION if "screened" in reached else WAITING_SCREENING
                run.screen_failures[waiting] += 1
                continue
            run.induction += 1
            row = _patient_row(session, ctx, patient, code)
            if row["arm"] is None:
                row["not_randomised_reason"] = _not_randomised_reason(session, patient, row)
                run.not_randomised[row["not_randomised_reason"]] += 1
            if row["bor"] is not None:
                run.patients.append(row)
    return run


def live_interim(ctx: Any, cutoff_date: dt.date | None = None) -> tuple[Interim, TrialRun]:
    """The interim analysis of the trial in ``ctx.store`` at ``cutoff_date`` (default today).

    Needs the ``analysis`` permission (the ADTTE is derived through the services, which
    check it). ``InvalidInput`` when there is nothing to analyse yet (no randomised patient
    in an arm)."""
    from talentop.demo.safety import read_stored_facts
    from talentop.services import patient_timelines

    cutoff = cutoff_date or dt.date.today()
    timelines = patient_timelines(ctx)  # checks the caller may run analyses
    arms = Counter(t.arm for t in timelines if t.randomisation_date <= cutoff)
    missing = [a.id for a in ctx.protocol.arms if arms[a.id] < 2]
    if missing:
        raise InvalidInput(
            f"randomised=({dict(arms)}): expected at least 2 randomised patients in every arm "
            f"by {cutoff} (arms {missing} have fewer)"
        )
    # The CONSORT boxes count every patient on record; the ADTTE leaves out those randomised
    # after the cut-off (``derive_adtte``), so the endpoints are those of the cut.
    run = trial_run(ctx, cutoff)
    adtte = adtte_both(timelines, ctx.protocol, cutoff)
    stored = read_stored_facts(ctx.store, ctx.protocol)
    return interim_analysis(run, adtte, stored), run


def live_report(ctx: Any, cutoff_date: dt.date | None = None) -> Any:
    """The demo's report (``talentop.demo.report.build_report``) of the live database."""
    from talentop.demo.report import build_report

    cutoff = cutoff_date or dt.date.today()
    interim, run = live_interim(ctx, cutoff)
    report = build_report(interim, ctx.protocol, seed=0, n_patients=run.screened)
    return dataclasses.replace(
        report,
        title=f"{ctx.protocol.title}: interim analysis",
        subtitle=f"Live trial database, data cut-off {cutoff.isoformat()}: {run.screened} "
        f"registered, {interim.flow.randomised} randomised; protocol {ctx.protocol.id} "
        f"v{ctx.protocol.version}",
    )
