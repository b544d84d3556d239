"""What the safety desk reads: the SAE listing (by arm, for the report), the SAEs overdue
against their clocks (for the dashboard), and one SAE as its printable form."""

from __future__ import annotations

import datetime as dt
from typing import Any

from talentop.services._context import Context
from talentop.services._validate import RecordId, service
from talentop.services.access import read_scope, redact, require_patient
from talentop.services.sae import CRITERIA, clock
from talentop.services.states import STATES
from talentop.store import models as m
from talentop.store import queries, read_queries


def _causality(session: Any, sae_id: int) -> list[dict[str, Any]]:
    rows = session.query(m.SaeCausality).filter_by(sae_id=sae_id).order_by(m.SaeCausality.id)
    return [
        {
            "product": c.product,
            "relatedness": c.relatedness,
            "related": c.related,
            "expected": c.expected,
        }
        for c in rows
    ]


def _follow_ups(session: Any, sae_id: int) -> list[dict[str, Any]]:
    rows = session.query(m.SaeFollowUp).filter_by(sae_id=sae_id).order_by(m.SaeFollowUp.sequence)
    return [
        {
            "sequence": f.sequence,
            "info_received_at": f.info_received_at.isoformat(),
            "reported_at": f.reported_at.isoformat(),
            **clock(f.info_received_at, f.reported_at, f.due_at),
            "description": f.description,
            "outcome": f.outcome,
        }
        for f in rows
    ]


def sae_record(
    session: Any, report: m.SaeReport, patient: m.Patient, site: str, today: dt.date
) -> dict[str, Any]:
    """One SAE with its AE, clocks, causality and follow-ups (JSON-safe)."""
    ae = queries.get(session, m.AdverseEvent, report.adverse_event_id)
    follow_ups = _follow_ups(session, report.id)
    expedited_due = report.expedited_due_on
    return {
        "sae_id": report.id,
        "adverse_event_id": ae.id,
        "patient_id": patient.id,
        "pseudo_id": patient.pseudo_id,
        "site": site,
        "arm": patient.arm,
        "term": ae.term,
        "grade": ae.grade,
        "onset_date": ae.onset_date.isoformat(),
        "criteria": [c for c in CRITERIA if getattr(report, c)],
        "awareness_at": report.awareness_at.isoformat(),
        "reported_at": report.reported_at.isoformat(),
        **clock(report.awareness_at, report.reported_at, report.due_at),
        "outcome": report.outcome,
        "narrative": report.narrative,
        "rsi_version": report.rsi_version,
        "causality": _causality(session, report.id),
        "susar": report.susar,
        "expedited_due_on": None if expedited_due is None else expedited_due.isoformat(),
        "expedited_reported_on": None
        if report.expedited_reported_on is None
        else report.expedited_reported_on.isoformat(),
        "expedited_overdue": bool(
            report.susar
            and report.expedited_reported_on is None
            and expedited_due is not None
            and today > expedited_due
        ),
        "follow_ups": follow_ups,
        "follow_ups_late": sum(not f["on_time"] for f in follow_ups),
    }


def _redacted(scope: Any, record: dict[str, Any]) -> dict[str, Any]:
    if not scope.pseudonymised:
        return record
    out = redact(scope, {k: v for k, v in record.items() if k != "narrative"})
    out["follow_ups"] = [redact(scope, f) for f in record["follow_ups"]]
    return out


@service
def sae_listing(ctx: Context, *, arm: str | None = None) -> list[dict[str, Any]]:
    """Every SAE report the caller may read, by arm then onset (the report's safety
    listing): term, grade, criteria, clocks, causality and expectedness, SUSAR, follow-ups."""
    out = []
    with ctx.store.read_only() as session:
        scope = read_scope(session, ctx, "sae_listing")
        patients = read_queries.patients_in_states(session, scope.sql_filter(), STATES)
        today = ctx.today()
        for patient, site in patients:
            if arm is not None and patient.arm != arm:
                continue
            for report in queries.rows_for(session, m.SaeReport, patient.id):
                out.append(_redacted(scope, sae_record(session, report, patient, site, today)))
    out.sort(key=lambda r: (r["arm"] or "~", r["onset_date"], r["sae_id"]))
    return out


@service
def overdue_saes(ctx: Context, *, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Safety clocks that have run out with nothing sent, oldest first:

    - ``initial_report_missing``: an AE marked serious with no SAE report, due
      ``initial_report_hours`` after it was entered (the site knew by then at the latest);
    - ``expedited_report_missing``: a SUSAR whose 7/15-day expedited report is not recorded.
    """
    moment = now.replace(tzinfo=None) if now is not None else ctx.now()
    hours = ctx.protocol.safety.initial_report_hours if ctx.protocol.safety else 24
    out = []
    with ctx.store.read_only() as session:
        scope = read_scope(session, ctx, "overdue_saes")
        patients = read_queries.patients_in_states(session, scope.sql_filter(), STATES)
        for patient, site in patients:
            events = queries.rows_for(session, m.AdverseEvent, patient.id)
            reported = {
                r.adverse_event_id: r for r in queries.rows_for(session, m.SaeReport, patient.id)
            }
            unreported = [ae for ae in events if ae.serious and ae.id not in reported]
            entered = read_queries.creation_entries(
                session, [("adverse_events", str(ae.id)) for ae in unreported]
            )
            base = {"patient_id": patient.id, "pseudo_id": patient.pseudo_id, "site": site}
            for ae in unreported:
                who = entered.get(("adverse_events", str(ae.id)))
                start = who[1] if who else dt.datetime.combine(ae.onset_date, dt.time())
                due = start + dt.timedelta(hours=hours)
                if moment > due:
                    out.append(
                        {
                            **base,
                            "kind": "initial_report_missing",
                            "adverse_event_id": ae.id,
                            "term": ae.term,
                            "due": due.isoformat(),
                            "overdue_by_hours": round((moment - due).total_seconds() / 3600, 1),
                        }
                    )
            for report in reported.values():
                due_on = report.expedited_due_on
                if report.susar and report.expedited_reported_on is None and due_on:
                    if moment.date() > due_on:
                        ae = next(e for e in events if e.id == report.adverse_event_id)
                        out.append(
                            {
                                **base,
                                "kind": "expedited_report_missing",
                                "sae_id": report.id,
                                "adverse_event_id": ae.id,
                                "term": ae.term,
                                "due": due_on.isoformat(),
                                "overdue_by_hours": round(
                                    (
                                        moment - dt.datetime.combine(due_on, dt.time.max)
                                    ).total_seconds()
                                    / 3600,
                                    1,
                                ),
                            }
                        )
    out.sort(key=lambda r: r["due"])
    return out


@service
def sae_form(ctx: Context, sae_id: RecordId) -> dict[str, Any]:
    """One SAE report as its form shows it (``talentop.reports.sae_form`` prints it)."""
    with ctx.store.read_only() as session:
        report = queries.get(session, m.SaeReport, sae_id, what="SAE report")
        patient, scope = require_patient(session, ctx, "sae_form", report.patient_id)
        site = queries.get(session, m.Site, patient.site_id).code
        record = sae_record(session, report, patient, site, ctx.today())
        record["protocol"] = {
            "id": ctx.protocol.id,
            "title": ctx.protocol.title,
            "registry_id": ctx.protocol.registry_id,
        }
        record["clocks"] = {
            "initial_report_hours": ctx.protocol.safety.initial_report_hours
            if ctx.protocol.safety
            else None,
            "follow_up_report_hours": ctx.protocol.safety.follow_up_report_hours
            if ctx.protocol.safety
            else None,
        }
        return _redacted(scope, record)
