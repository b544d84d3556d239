"""ADTTE from the database: assemble each randomised patient's timeline, derive, export.

The derivation and its censoring rules are ``talentop.endpoints`` (pure); this module only
reads the stored facts and passes the protocol's TTF reason lists (failure, censor, continue)
and assessment interval.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from talentop.errors import InvalidInput
from talentop.services._context import Context, as_date
from talentop.services._validate import service
from talentop.services.access import read_scope
from talentop.store import models as m
from talentop.store import queries, require_schema

FORMATS = ("csv", "xpt")


def _timeline(
    session: Any, ctx: Context, patient: m.Patient, allocation: m.Randomisation, site: m.Site
):
    from talentop.endpoints import PatientTimeline

    start = allocation.randomised_on
    progression: dict[str, dt.date | None] = {}
    for criteria in ("recist1.1", "mrecist"):
        response = queries.latest_response(session, patient.id, criteria)
        progression[criteria] = response.progression_date if response else None
    visits = {v.id: v.visit_date for v in queries.rows_for(session, m.AssessmentVisit, patient.id)}
    # adequate assessments by the protocol's response criteria (mRECIST for TALENTACE)
    adequate = sorted(
        visits[r.visit_id]
        for r in queries.rows_for(session, m.ResponseAssessment, patient.id)
        if r.criteria == ctx.protocol.assessment.criteria
        and r.overall_response not in (None, "NE")
        and visits[r.visit_id] >= start
    )
    contacts = queries.rows_for(
        session, m.FollowUpContact, patient.id, m.FollowUpContact.contact_date
    )
    alive = [c.contact_date for c in contacts if c.status == "alive"]
    death = queries.latest(session, m.Death, patient.id, m.Death.death_date)
    therapies = queries.rows_for(session, m.NewTherapy, patient.id, m.NewTherapy.start_date)
    surgeries = queries.rows_for(session, m.Surgery, patient.id, m.Surgery.surgery_date)
    stops = queries.rows_for(session, m.Discontinuation, patient.id, m.Discontinuation.stop_date)
    switch = queries.latest(session, m.SurgerySwitch, patient.id, m.SurgerySwitch.switch_date)
    local = queries.rows_for(session, m.LocalTherapy, patient.id, m.LocalTherapy.performed_on)
    return PatientTimeline(
        usubjid=f"{ctx.protocol.id.upper()}-{site.code}-{patient.pseudo_id}",
        arm=allocation.arm,
        randomisation_date=start,
        progression_date_recist=progression["recist1.1"],
        progression_date_mrecist=progression["mrecist"],
        death_date=death.death_date if death else None,
        last_contact_date=max(alive) if alive else None,
        last_adequate_assessment_date=adequate[-1] if adequate else None,
        assessment_dates=tuple(adequate),
        discontinuations=tuple((s.stop_date, s.reason) for s in stops),
        new_anticancer_therapy_date=therapies[0].start_date if therapies else None,
        surgery_date=surgeries[0].surgery_date if surgeries else None,
        lost_to_follow_up=any(c.status == "lost_to_follow_up" for c in contacts),
        strata=json.loads(allocation.levels_json),
        has_baseline_assessment=bool(queries.rows_for(session, m.Lesion, patient.id)),
        switch_date=switch.switch_date if switch else None,
        local_therapy_dates=tuple(t.performed_on for t in local if t.performed_on >= start),
        local_therapy_responses=tuple(
            (t.response_on, t.response) for t in local if t.response is not None
        ),
    )


@service
def patient_timelines(ctx: Context) -> list[Any]:
    """One ``PatientTimeline`` per randomised patient, from the stored records."""
    require_schema(ctx.store)
    with ctx.store.read_only() as session:
        read_scope(session, ctx, "patient_timelines")
        out = []
        for allocation in queries.randomisations(session):
            patient = queries.get(session, m.Patient, allocation.patient_id)
            site = queries.get(session, m.Site, patient.site_id)
            out.append(_timeline(session, ctx, patient, allocation, site))
        return out


def adtte_for_protocol(
    timelines: list[Any], protocol: Any, cutoff_date: dt.date, *, switch_handling: str | None = None
) -> Any:
    """ADTTE of these timelines under ``protocol``'s TTF lists and visit calendar (pure).

    TTF intercurrent events: an arm-B switch to surgery as ``switch_handling`` (default the
    protocol's primary reading, ``ttf.switch_to_surgery.primary``) and local therapy as
    ``local_therapy.ttf_effect``; a TACEPFS parameter when ``endpoints.tace_pfs`` is defined.

    Missed-visit calendar: ``assessment.interval_weeks`` on treatment,
    ``follow_up.imaging_interval_weeks`` after the first discontinuation, a scan within
    +/- ``assessment.window_days`` of a scheduled visit counting for it.

    The one place the protocol's settings become ``derive_adtte`` arguments, so the demo's
    report and ``talentop export adtte`` cannot drift apart.
    """
    from talentop.endpoints import derive_adtte
    from talentop.endpoints.tace import TacePfsRule

    tace = protocol.endpoints.tace_pfs
    rule = (
        None
        if tace is None
        else TacePfsRule(
            event_reasons=frozenset(tace.event_reasons),
            refractory_after=tace.refractory_after.value,
            insufficient_responses=frozenset(tace.insufficient_responses.value),
        )
    )
    local = protocol.local_therapy
    return derive_adtte(
        timelines,
        failure_reasons=list(protocol.ttf.failure_reasons),
        censor_reasons=list(protocol.ttf.censor_reasons),
        continue_reasons=list(protocol.ttf.continue_reasons),
        cutoff_date=cutoff_date,
        assessment_interval_days=protocol.assessment.interval_weeks * 7,
        visit_window_days=protocol.assessment.window_days,
        follow_up_interval_days=protocol.follow_up.imaging_interval_weeks * 7,
        switch_handling=switch_handling or protocol.ttf.switch_to_surgery.primary,
        local_therapy_effect=local.ttf_effect.value if local else "continue",
        tace_pfs=rule,
    )


@service
def derive_endpoints(ctx: Context, cutoff_date: dt.date | str | None = None) -> Any:
    """The ADTTE DataFrame (TTF, OS, PFS, PFSMR per randomised patient) at ``cutoff_date``.

    Without a cut-off, today's date is used. Patients randomised after the cut-off are left
    out (``frame.attrs["excluded_after_cutoff"]``); a cut-off before the first
    randomisation is ``InvalidInput``. TTF failure/censor/continue reasons and the assessment
    interval (missed-visit rule) come from the protocol.
    """
    cutoff = dt.date.today() if cutoff_date is None else as_date("cutoff_date", cutoff_date)
    return adtte_for_protocol(patient_timelines(ctx), ctx.protocol, cutoff)


@service
def export_adtte(
    ctx: Context,
    out_dir: str | Path,
    *,
    formats: tuple[str, ...] | list[str] = FORMATS,
    cutoff_date: dt.date | str | None = None,
) -> dict[str, Any]:
    """Write ``adtte.csv`` and/or ``adtte.xpt`` into ``out_dir``; returns paths and counts."""
    from talentop.endpoints import to_csv, write_xpt

    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise InvalidInput.field("formats", list(formats), f"a non-empty subset of {list(FORMATS)}")
    frame = derive_endpoints(ctx, cutoff_date)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    if "csv" in formats:
        paths.append(str(to_csv(frame, out / "adtte.csv")))
    if "xpt" in formats:
        # SAS v5 names have at most 8 characters: long stratum columns become STRAT1..n,
        # their full name kept as the variable label.
        long_names = [c for c in frame.columns if len(str(c)) > 8]
        renames = {c: f"STRAT{i}" for i, c in enumerate(long_names, start=1)}
        labels = {new: str(old)[:40] for old, new in renames.items()}
        paths.append(
            str(write_xpt(frame.rename(columns=renames), out / "adtte.xpt", labels=labels))
        )
    return {
        "paths": paths,
        "rows": len(frame),
        "patients": int(frame["USUBJID"].nunique()) if len(frame) else 0,
        "excluded_after_cutoff": int(frame.attrs.get("excluded_after_cutoff", 0)),
    }
