"""Serious adverse events: the report on top of an AE record, its clocks, causality per
product, expectedness against the protocol's reference safety information, SUSARs.

Sources, each rule where it is applied:

- Seriousness (ICH E2A II.B): results in death, is life-threatening, requires inpatient
  hospitalisation or prolongs it, results in persistent or significant disability or
  incapacity, is a congenital anomaly / birth defect, or is an important medical event.
- Investigator -> sponsor: "immediately" after becoming aware, with causality, follow-up
  information as it comes (ICH E6(R3) 2.7); the protocol's ``safety.initial_report_hours``
  and ``follow_up_report_hours`` (24 h by convention) are the clocks.
- Causality: an adverse reaction is an event with a reasonable possibility of a causal
  relationship (ICH E2A II.A.2; 21 CFR 312.32(a) "suspected adverse reaction"): here
  ``possible``, ``probable`` or ``definite``.
- Expectedness against the reference safety information (ICH E2A II.C; E6(R3) 3.13.2(c));
  an event more severe than listed is unexpected (``ExpectedEvent.max_grade``).
- SUSAR = serious + suspected (related to a product) + unexpected for that product; the
  sponsor's expedited clock from its first knowledge: 7 calendar days when fatal or
  life-threatening, else 15 (ICH E2A III.B; 21 CFR 312.32(c)(1)-(2)).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import Field

from talentop.errors import InvalidInput
from talentop.protocol.conduct import SAE_CRITERIA
from talentop.services._context import Context, check_actor, event_date
from talentop.services._validate import RecordId, service
from talentop.services.consent_rules import require_consent
from talentop.store import models as m
from talentop.store import queries, writes

CRITERIA = SAE_CRITERIA
Criterion = Literal[
    "death",
    "life_threatening",
    "hospitalisation",
    "disability",
    "congenital_anomaly",
    "important_medical_event",
]
#: Outcome of the event (CDISC AEOUT terms, in words).
OUTCOMES = (
    "recovered",
    "recovering",
    "not_recovered",
    "recovered_with_sequelae",
    "fatal",
    "unknown",
)
Outcome = Literal[
    "recovered", "recovering", "not_recovered", "recovered_with_sequelae", "fatal", "unknown"
]
Relatedness = Literal["unrelated", "unlikely", "possible", "probable", "definite"]
#: Relatedness that counts as a reasonable possibility of a causal relationship (E2A II.A.2).
RELATED = frozenset({"possible", "probable", "definite"})
Text = Annotated[str, Field(min_length=1, max_length=10_000)]


def utc(value: dt.datetime) -> dt.datetime:
    """A naive UTC datetime: an aware value is converted, a naive one is taken as UTC."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.replace(microsecond=0)


def _not_future(ctx: Context, field: str, value: dt.datetime) -> None:
    if not ctx.allow_future_dates and value > ctx.now() + dt.timedelta(minutes=5):
        raise InvalidInput.field(field, value.isoformat(), f"a time not after now ({ctx.now()})")


def _clock_times(
    ctx: Context, field: str, start: dt.datetime, reported_at: dt.datetime | None
) -> tuple[dt.datetime, dt.datetime]:
    """A clock's start and the report's time (default now), both UTC, neither in the
    future, the report not before the start."""
    begun, sent = utc(start), utc(reported_at or ctx.now())
    _not_future(ctx, field, begun)
    _not_future(ctx, "reported_at", sent)
    if sent < begun:
        raise InvalidInput.field(
            "reported_at", sent.isoformat(), f"at or after {field} ({begun.isoformat()})"
        )
    return begun, sent


def _safety(ctx: Context) -> Any:
    if ctx.protocol.safety is None:
        raise InvalidInput.field(
            "protocol", ctx.protocol.id, "a protocol with a safety section (RSI and clocks)"
        )
    return ctx.protocol.safety


def _enter(session: Any, ctx: Context, patient_id: int, service_name: str) -> m.Patient:
    """Lock the patient and check the caller; SAE reporting goes on after a death (a death
    is itself the most serious outcome to report), so ``died`` is not refused here."""
    patient = queries.lock_patient(session, patient_id)
    check_actor(session, ctx, service_name, site_id=patient.site_id)
    require_consent(session, patient, service_name)
    return patient


def _operated_before(session: Any, patient_id: int, on: dt.date) -> bool:
    return any(s.surgery_date <= on for s in queries.rows_for(session, m.Surgery, patient_id))


def _assess(
    session: Any,
    safety: Any,
    ae: m.AdverseEvent,
    causality: dict[str, str],
    *,
    partial: bool = False,
) -> dict[str, tuple[str, bool, bool]]:
    """product -> (relatedness, related, expected); ``InvalidInput`` for unknown products or
    (unless ``partial``) a product the investigator must assess but did not."""
    known = {p.product: p for p in safety.products}
    unknown = sorted(set(causality) - set(known))
    if unknown:
        raise InvalidInput.field("causality", unknown, f"products among {sorted(known)}")
    needed = [
        p.product
        for p in safety.products
        if p.kind == "drug" or _operated_before(session, ae.patient_id, ae.onset_date)
    ]
    missing = [p for p in needed if p not in causality]
    if missing and not partial:
        raise InvalidInput.field(
            "causality", sorted(causality), f"a relatedness for every product {needed}"
        )
    return {
        product: (rel, rel in RELATED, known[product].expects(ae.term, ae.grade))
        for product, rel in causality.items()
    }


def _expedited_days(safety: Any, report: m.SaeReport) -> int:
    fatal = report.death or report.life_threatening
    return safety.expedited_days_fatal if fatal else safety.expedited_days_other


def _criteria_problems(criteria: list[str], ae: m.AdverseEvent) -> list[str]:
    problems = []
    if ae.grade == 5 and "death" not in criteria:
        problems.append(
            f"criteria={criteria!r}: expected 'death' among them (the AE is CTCAE grade 5)"
        )
    if "death" in criteria and ae.grade != 5:
        problems.append(
            f"criteria={criteria!r}: 'death' needs a fatal AE (CTCAE grade 5, the AE is "
            f"grade {ae.grade}): record the grade with the report"
        )
    return problems


@service
def report_sae(
    ctx: Context,
    adverse_event_id: RecordId,
    *,
    criteria: Annotated[list[Criterion], Field(min_length=1, max_length=6)],
    awareness_at: dt.datetime,
    causality: dict[str, Relatedness],
    outcome: Outcome = "not_recovered",
    narrative: Text | None = None,
    reported_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """The initial SAE report of adverse event ``adverse_event_id``: seriousness criteria,
    when the site became aware (the clock's start; UTC, or give an offset), causality per
    product, outcome. ``reported_at`` (default: now) is when the report reached the sponsor.
    Returns the clock (due, on time, hours taken), expectedness per product and the SUSAR
    flag with its expedited due date."""
    safety = _safety(ctx)
    aware, sent = _clock_times(ctx, "awareness_at", awareness_at, reported_at)
    with ctx.store.unit_of_work() as session:
        ae = queries.get(session, m.AdverseEvent, adverse_event_id, what="adverse event")
        patient = _enter(session, ctx, ae.patient_id, "report_sae")
        if session.query(m.SaeReport).filter_by(adverse_event_id=ae.id).first() is not None:
            raise InvalidInput.field(
                "adverse_event_id", ae.id, "an AE without an SAE report (send a follow-up)"
            )
        if aware.date() < ae.onset_date:
            raise InvalidInput.field(
                "awareness_at", aware.isoformat(), f"on or after the onset ({ae.onset_date})"
            )
        problems = _criteria_problems(list(criteria), ae)
        if problems:
            raise InvalidInput(problems)
        assessed = _assess(session, safety, ae, causality)
        if not ae.serious:
            writes.update(session, ctx.actor, ae, serious=True)
        due = aware + dt.timedelta(hours=safety.initial_report_hours)
        susar = any(related and not expected for _, related, expected in assessed.values())
        report = writes.insert(
            session,
            ctx.actor,
            m.SaeReport(
                patient_id=patient.id,
                adverse_event_id=ae.id,
                awareness_on=aware.date(),
                awareness_at=aware,
                reported_at=sent,
                due_at=due,
                outcome=outcome,
                narrative=narrative,
                rsi_version=safety.rsi_version,
                susar=susar,
                **{c: c in criteria for c in CRITERIA},
            ),
        )
        if susar:
            days = _expedited_days(safety, report)
            writes.update(
                session,
                ctx.actor,
                report,
                expedited_due_on=sent.date() + dt.timedelta(days=days),
            )
        for product, (rel, related, expected) in assessed.items():
            writes.insert(
                session,
                ctx.actor,
                m.SaeCausality(
                    sae_id=report.id,
                    product=product,
                    relatedness=rel,
                    related=related,
                    expected=expected,
                ),
            )
        return {
            "sae_id": report.id,
            "adverse_event_id": ae.id,
            **clock(aware, sent, due),
            "expected": {p: e for p, (_, _, e) in assessed.items()},
            "related": {p: r for p, (_, r, _) in assessed.items()},
            "susar": susar,
            "expedited_due_on": _iso(report.expedited_due_on),
        }


def clock(start: dt.datetime, sent: dt.datetime, due: dt.datetime) -> dict[str, Any]:
    """A reporting clock: due time, hours taken, on time or hours late."""
    hours = (sent - start).total_seconds() / 3600
    late = max(0.0, (sent - due).total_seconds() / 3600)
    return {
        "due_at": due.isoformat(),
        "hours_to_report": round(hours, 2),
        "on_time": sent <= due,
        "late_by_hours": round(late, 2),
    }


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()


@service
def record_sae_follow_up(
    ctx: Context,
    sae_id: RecordId,
    *,
    info_received_at: dt.datetime,
    description: Text,
    reported_at: dt.datetime | None = None,
    outcome: Outcome | None = None,
    grade: Annotated[int, Field(ge=1, le=5)] | None = None,
    criteria: Annotated[list[Criterion], Field(max_length=6)] | None = None,
    causality: dict[str, Relatedness] | None = None,
) -> dict[str, Any]:
    """A follow-up report: new information (received ``info_received_at``), reported within
    the protocol's follow-up clock; it may add criteria, change the outcome, the AE's grade
    (the AE record is updated: it stays the source) and causality. A SUSAR that only now
    becomes one gets its expedited clock from this report."""
    safety = _safety(ctx)
    received, sent = _clock_times(ctx, "info_received_at", info_received_at, reported_at)
    with ctx.store.unit_of_work() as session:
        report = queries.get(session, m.SaeReport, sae_id, what="SAE report")
        _enter(session, ctx, report.patient_id, "record_sae_follow_up")
        if received < report.awareness_at:
            raise InvalidInput.field(
                "info_received_at",
                received.isoformat(),
                f"at or after the initial awareness ({report.awareness_at.isoformat()})",
            )
        ae = queries.get(session, m.AdverseEvent, report.adverse_event_id)
        if grade is not None and grade != ae.grade:
            writes.update(session, ctx.actor, ae, grade=grade)
        now_criteria = sorted({c for c in CRITERIA if getattr(report, c)} | set(criteria or ()))
        problems = _criteria_problems(now_criteria, ae)
        if problems:
            raise InvalidInput(problems)
        was_susar = report.susar
        rows = {c.product: c for c in session.query(m.SaeCausality).filter_by(sae_id=report.id)}
        merged = {p: c.relatedness for p, c in rows.items()} | dict(causality or {})
        assessed = _assess(session, safety, ae, merged, partial=True)
        for product, (rel, related, expected) in assessed.items():
            values = {"relatedness": rel, "related": related, "expected": expected}
            if product in rows:
                writes.update(session, ctx.actor, rows[product], **values)
            else:
                writes.insert(
                    session, ctx.actor, m.SaeCausality(sae_id=report.id, product=product, **values)
                )
        susar = any(related and not expected for _, related, expected in assessed.values())
        changes: dict[str, Any] = {c: c in now_criteria for c in CRITERIA}
        changes["susar"] = susar
        if outcome is not None:
            changes["outcome"] = outcome
        writes.update(session, ctx.actor, report, **changes)
        if susar and report.expedited_reported_on is None:
            due_on = sent.date() + dt.timedelta(days=_expedited_days(safety, report))
            if was_susar and report.expedited_due_on is not None:
                due_on = min(due_on, report.expedited_due_on)
            writes.update(session, ctx.actor, report, expedited_due_on=due_on)
        sequence = session.query(m.SaeFollowUp).filter_by(sae_id=report.id).count() + 1
        due = received + dt.timedelta(hours=safety.follow_up_report_hours)
        row = writes.insert(
            session,
            ctx.actor,
            m.SaeFollowUp(
                sae_id=report.id,
                received_on=received.date(),
                sequence=sequence,
                info_received_at=received,
                reported_at=sent,
                due_at=due,
                description=description,
                outcome=outcome,
            ),
        )
        return {
            "follow_up_id": row.id,
            "sae_id": report.id,
            "sequence": sequence,
            **clock(received, sent, due),
            "susar": susar,
            "became_susar": susar and not was_susar,
            "expedited_due_on": _iso(report.expedited_due_on),
        }


@service
def record_expedited_report(
    ctx: Context, sae_id: RecordId, reported_on: dt.date | str
) -> dict[str, Any]:
    """The sponsor's expedited report of a SUSAR to the regulatory authorities (and ethics
    committees), checked against its 7/15-day clock (ICH E2A III.B; 21 CFR 312.32(c))."""
    on = event_date(ctx, "reported_on", reported_on)
    with ctx.store.unit_of_work() as session:
        report = queries.get(session, m.SaeReport, sae_id, what="SAE report")
        _enter(session, ctx, report.patient_id, "record_expedited_report")
        if not report.susar:
            raise InvalidInput.field("sae_id", sae_id, "a SUSAR (this SAE is not one)")
        if on < report.reported_at.date():
            raise InvalidInput.field(
                "reported_on", on.isoformat(), f"on or after {report.reported_at.date()}"
            )
        writes.update(session, ctx.actor, report, expedited_reported_on=on)
        due = report.expedited_due_on
        return {
            "sae_id": report.id,
            "expedited_due_on": _iso(due),
            "on_time": due is None or on <= due,
            "late_by_days": 0 if due is None else max(0, (on - due).days),
        }
