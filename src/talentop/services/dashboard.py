"""What a trial dashboard shows, live from the database and within the caller's read scope:
the CONSORT funnel, recruitment by site and month, the MDT queue, overdue doses and visits
against the protocol calendar, and open resectability flags."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from talentop.services._context import Context, as_date
from talentop.services._validate import service
from talentop.services.access import read_scope
from talentop.services.consent_rules import withdrawals
from talentop.services.states import (
    ASSESSED,
    INDUCTION,
    MAINTENANCE,
    NOT_RANDOMISED,
    OFF_STUDY,
    OPERATED,
    RANDOMISED,
    SCREEN_FAILED,
    SCREENED,
    TREATMENT_FAILED,
)
from talentop.store import models as m
from talentop.store import read_queries


@service
def consort_funnel(ctx: Context) -> dict[str, Any]:
    """Patients who reached each step of the path: registered, screened, eligible, started
    induction, assessed, reviewed by the MDT, randomised (by arm), operated; plus screen
    failures and not randomised. Counts are of patients, not records."""
    with ctx.store.read_only() as session:
        scope = read_scope(session, ctx, "consort_funnel")
        where = scope.sql_filter()
        reached = read_queries.reached_counts(session, where)
        by_arm = read_queries.arm_counts(session, where)
        return {
            "registered": reached.get("registered", 0),
            "screened": reached.get(SCREENED, 0) + reached.get(SCREEN_FAILED, 0),
            "screen_failed": reached.get(SCREEN_FAILED, 0),
            "eligible": reached.get(SCREENED, 0),
            "induction": reached.get(INDUCTION, 0),
            "assessed": reached.get(ASSESSED, 0),
            "mdt_reviewed": read_queries.count_patients_with(
                session, where, m.MdtReview, m.MdtReview.purpose == "randomisation"
            ),
            "not_randomised": reached.get(NOT_RANDOMISED, 0),
            "randomised": sum(by_arm.values()),
            "randomised_by_arm": {arm: by_arm.get(arm, 0) for arm in _arm_ids(ctx)},
            "operated": reached.get(OPERATED, 0),
        }


def _arm_ids(ctx: Context) -> list[str]:
    return [arm.id for arm in ctx.protocol.arms]


@service
def recruitment(ctx: Context) -> dict[str, Any]:
    """Registrations per site and calendar month (``YYYY-MM``), months without any included
    between the first and the last, with totals per site and per month."""
    with ctx.store.read_only() as session:
        scope = read_scope(session, ctx, "recruitment")
        rows = read_queries.registrations(session, scope.sql_filter())
    counts = Counter((code, on.strftime("%Y-%m")) for code, on in rows)
    months = _months(
        min((on for _, on in rows), default=None), max((on for _, on in rows), default=None)
    )
    sites = sorted({code for code, _ in rows})
    return {
        "months": months,
        "sites": {site: [counts.get((site, month), 0) for month in months] for site in sites},
        "per_month": [sum(counts.get((site, month), 0) for site in sites) for month in months],
        "per_site": {site: sum(counts.get((site, month), 0) for month in months) for site in sites},
        "total": len(rows),
    }


def _months(first: dt.date | None, last: dt.date | None) -> list[str]:
    if first is None or last is None:
        return []
    out = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


@service
def mdt_queue(ctx: Context) -> list[dict[str, Any]]:
    """Patients awaiting an MDT resectability review: assessed after induction with no
    decided review yet, and arm-B patients with an open reassessment flag; each with the
    ballots cast so far and what the protocol still needs (quorum, specialties)."""
    rules = ctx.protocol.mdt
    with ctx.store.read_only() as session:
        scope = read_scope(session, ctx, "mdt_queue")
        where = scope.sql_filter()
        assessed = read_queries.patients_in_states(session, where, [ASSESSED])
        decided = read_queries.decided_reviews(
            session, [p.id for p, _ in assessed], "randomisation"
        )
        waiting = [(p, code, "randomisation", None) for p, code in assessed if p.id not in decided]
        for flag, patient, code in read_queries.open_flags(session, where):
            waiting.append((patient, code, "switch", flag))
        ballots = read_queries.open_ballots(session, [p.id for p, *_ in waiting])
        out = []
        for patient, code, purpose, flag in waiting:
            cast = [b for b in ballots.get(patient.id, []) if b.purpose == purpose]
            specialties = {b.specialty for b in cast}
            out.append(
                {
                    "patient_id": patient.id,
                    "pseudo_id": patient.pseudo_id,
                    "site": code,
                    "state": patient.state,
                    "arm": patient.arm,
                    "purpose": purpose,
                    "flag_id": flag.id if flag else None,
                    "flagged_on": flag.flagged_on.isoformat() if flag else None,
                    "ballots": [
                        {"member": b.member, "specialty": b.specialty, "resectable": b.resectable}
                        for b in cast
                    ],
                    "votes_needed": max(rules.min_members - len(cast), 0),
                    "specialties_missing": [
                        s for s in rules.required_specialties if s not in specialties
                    ],
                    "rule": rules.rule,
                }
            )
        return out


@service
def open_resectability_flags(ctx: Context) -> list[dict[str, Any]]:
    """Arm-B patients flagged for an MDT resectability review and not yet switched."""
    with ctx.store.read_only() as session:
        scope = read_scope(session, ctx, "open_resectability_flags")
        return [
            {
                "patient_id": patient.id,
                "pseudo_id": patient.pseudo_id,
                "site": code,
                "flag_id": flag.id,
                "flagged_on": flag.flagged_on.isoformat(),
                **({} if scope.pseudonymised else {"reason": flag.reason}),
            }
            for flag, patient, code in read_queries.open_flags(session, scope.sql_filter())
        ]


#: States whose protocol drugs are given on the cycle calendar (arm A after surgery only in
#: maintenance; ``randomised`` arm-A patients are waiting for surgery).
_DOSING = (INDUCTION, RANDOMISED, MAINTENANCE)
_ON_STUDY_IMAGING = (INDUCTION, RANDOMISED, OPERATED, MAINTENANCE)
_FOLLOW_UP = (TREATMENT_FAILED, OFF_STUDY, NOT_RANDOMISED)


@service
def overdue(ctx: Context, *, on: dt.date | str | None = None) -> list[dict[str, Any]]:
    """Doses, tumour assessments and survival contacts overdue on ``on`` (default today)
    against the protocol calendar, most overdue first.

    A dose is due one cycle (``induction.cycle_length_days``) after the last dose (or the
    start of the phase) and overdue after the visit window (``induction.visit_window_days``);
    induction ends after its protocol cycles. A scan is due ``assessment.interval_weeks``
    after the last scan on treatment (``follow_up.imaging_interval_weeks`` after it) and
    overdue after ``assessment.window_days``; a survival contact is due
    ``follow_up.survival_contact_interval_weeks`` after the last contact. Nothing is due of
    a scope whose consent the patient withdrew (doses: treatment; scans, contacts: follow-up).
    """
    today = ctx.today() if on is None else as_date("on", on)
    protocol = ctx.protocol
    cycle = protocol.induction.cycle_length_days
    window = protocol.induction.visit_window_days
    with ctx.store.read_only() as session:
        scope = read_scope(session, ctx, "overdue")
        where = scope.sql_filter()
        patients = read_queries.patients_in_states(
            session, where, set(_DOSING + _ON_STUDY_IMAGING + _FOLLOW_UP)
        )
        ids = [p.id for p, _ in patients]
        last_dose = read_queries.latest_dates(session, m.DrugAdministration, "given_on", ids)
        doses = read_queries.dose_counts(session, ids, "induction")
        last_scan = read_queries.latest_dates(session, m.AssessmentVisit, "visit_date", ids)
        last_contact = read_queries.latest_dates(session, m.FollowUpContact, "contact_date", ids)
        entered = {
            state: read_queries.first_state_dates(session, ids, state)
            for state in (
                INDUCTION,
                RANDOMISED,
                MAINTENANCE,
                TREATMENT_FAILED,
                OFF_STUDY,
                NOT_RANDOMISED,
            )
        }
        arms = {arm.id: arm for arm in protocol.arms}
        out: list[dict[str, Any]] = []
        # A withdrawal is honoured: nothing is due of a withdrawn scope (consent_rules).
        withdrawn = {pid: set(withdrawals(session, pid)) for pid in ids}
        scope_of = {"dose": "treatment", "assessment": "follow_up", "survival_contact": "follow_up"}

        def add(patient: m.Patient, code: str, kind: str, due: dt.date, grace: int) -> None:
            late = (today - due).days
            if late > grace and scope_of[kind] not in withdrawn[patient.id]:
                out.append(
                    {
                        "patient_id": patient.id,
                        "pseudo_id": patient.pseudo_id,
                        "site": code,
                        "state": patient.state,
                        "kind": kind,
                        "due_on": due.isoformat(),
                        "days_overdue": late,
                    }
                )

        n_cycles = len(protocol.induction.cycles)
        for patient, code in patients:
            state = patient.state
            start = entered.get(state, {}).get(patient.id) or patient.registered_on
            surgical = (
                arms.get(patient.arm or "") is not None and arms[patient.arm].includes_surgery
            )
            doses_due = state in _DOSING and not (state == RANDOMISED and surgical)
            if state == INDUCTION and doses.get(patient.id, 0) >= n_cycles:
                doses_due = False  # induction complete: the response assessment is next
            if doses_due:
                last = last_dose.get(patient.id)
                due = start if last is None or last < start else last + dt.timedelta(days=cycle)
                add(patient, code, "dose", due, window)
            if state in _ON_STUDY_IMAGING or state in _FOLLOW_UP:
                weeks = (
                    protocol.assessment.interval_weeks
                    if state in _ON_STUDY_IMAGING
                    else protocol.follow_up.imaging_interval_weeks
                )
                base = max(d for d in (last_scan.get(patient.id), start) if d is not None)
                add(
                    patient,
                    code,
                    "assessment",
                    base + dt.timedelta(weeks=weeks),
                    protocol.assessment.window_days,
                )
            if state in _FOLLOW_UP:
                base = max(d for d in (last_contact.get(patient.id), start) if d is not None)
                weeks = protocol.follow_up.survival_contact_interval_weeks
                add(patient, code, "survival_contact", base + dt.timedelta(weeks=weeks), window)
        out.sort(key=lambda item: (-item["days_overdue"], item["patient_id"], item["kind"]))
        return out
