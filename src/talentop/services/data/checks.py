"""The edit-check engine: the protocol's ``edit_checks`` run over a patient's stored records.

A finding names the check, the record (table, id), the field and a message. Findings
already acknowledged (saved with a comment) or already under a query are not repeated.
``check_patient`` runs at save time (the API runs it for every patient a request wrote):
with a comment the new findings are acknowledged, without one each opens a query; in
"warn" mode without a comment they are returned as ``EditCheckWarnings`` and the caller's
transaction is rolled back, so the user can look and save again with a comment.
``run_checks`` runs in batch over every patient the caller may see.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from talentop.errors import ProtocolViolation
from talentop.protocol.edit_checks import EditCheck
from talentop.services._context import Context
from talentop.services._validate import RecordId, service
from talentop.services.access import read_scope, require_patient
from talentop.services.data.clarification import open_query
from talentop.store import dm_queries, path_queries, queries, read_queries, writes
from talentop.store import models as m


@dataclass(frozen=True)
class Finding:
    check_id: str
    entity: str
    entity_id: str
    field: str
    message: str

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.check_id, self.entity, self.entity_id, self.field)

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check_id,
            "entity": self.entity,
            "entity_id": self.entity_id,
            "field": self.field,
            "message": self.message,
        }


class EditCheckWarnings(ProtocolViolation):
    """Edit checks fired on a save made in "warn" mode without a comment: nothing was saved.
    ``findings`` lists them; save again with a comment to keep the values."""

    def __init__(self, findings: list[Finding]):
        self.findings = findings
        described = "; ".join(f"{f.field}: {f.message}" for f in findings[:5])
        super().__init__(
            f"{len(findings)} edit-check warning(s): {described}. Nothing was saved: save "
            "again with a comment to keep the values, or correct them",
            state="edit_check",
            rule="edit checks warn before a value is saved (protocol edit_checks)",
        )


def _matches(row: Any, when: dict[str, Any]) -> bool:
    return all(getattr(row, key, None) == value for key, value in when.items())


def _entered(steps: list[m.StateChange], state: str) -> dt.date | None:
    dates = [s.on_date for s in steps if s.to_state == state and s.on_date is not None]
    return min(dates) if dates else None


def _tables(checks: list[EditCheck]) -> frozenset[str]:
    """The tables the checks read: their forms, the state history (dates a patient entered
    a state) and, for lab windows, the labs."""
    tables = {check.form for check in checks} | {"patient_state_history"}
    if any(check.kind == "lab_window" for check in checks):
        tables.add("labs")
    return frozenset(tables)


#: ``session.info`` key: {patient id: (tables, their rows, how many rows the transaction
#: had inserted for the patient then)} read by ``prefetch``.
CHECK_ROWS = "talentop_check_rows"


def prefetch(ctx: Context, session: Any, patient: m.Patient, marks: Collection[str]) -> None:
    """Read now (the patient just locked, nothing else yet) the records the checks that
    read ``marks`` will need after the writes: the checks then take them plus the rows the
    transaction inserts, instead of reading again after the writes (e.g. after a
    randomisation has locked its stratum counter, where every statement lengthens the
    queue of that stratum). Only tables whose rows name their patient (their new rows are
    all noted in ``writes.INSERTED_ROWS``); updates reach the same row objects."""
    checks = applicable(ctx.protocol.edit_checks, marks)
    tables = _tables(checks)
    if not checks or not all(writes.patient_keyed(t) for t in tables):
        return
    rows = read_queries.patient_records(session, patient.id, tables)
    done = len(session.info.setdefault(writes.INSERTED_ROWS, {}).get(patient.id, ()))
    session.info.setdefault(CHECK_ROWS, {})[patient.id] = (tables, rows, done)


def prefetch_when_locked(ctx: Context, patient_id: int, marks: Collection[str]) -> None:
    """In the caller-owned transaction: ``prefetch`` for the patient as soon as a write
    locks it (``path_queries.PATIENT_LOCKED``, once)."""
    session = ctx.store.current_session()
    if session is None:
        return

    def locked(session: Any, patient: m.Patient) -> None:
        if patient.id == patient_id:
            session.info.pop(path_queries.PATIENT_LOCKED, None)
            prefetch(ctx, session, patient, marks)

    session.info[path_queries.PATIENT_LOCKED] = locked


def _records(session: Any, patient: m.Patient, tables: frozenset[str]) -> list[tuple[str, Any]]:
    """The patient's rows of ``tables``: from ``prefetch`` plus the rows inserted since
    when it covers them, else read."""
    cached = session.info.get(CHECK_ROWS, {}).get(patient.id)
    if cached is None or not tables <= cached[0]:
        return read_queries.patient_records(session, patient.id, tables)
    _, rows, done = cached
    inserted = session.info.get(writes.INSERTED_ROWS, {}).get(patient.id, [])[done:]
    return [(t, row) for t, row in rows if t in tables] + [
        (row.__tablename__, row) for row in inserted if row.__tablename__ in tables
    ]


class _Patient:
    """One patient's records the checks read, grouped by table."""

    def __init__(self, session: Any, patient: m.Patient, tables: frozenset[str]):
        self.patient = patient
        self.rows: dict[str, list[Any]] = {}
        for table, row in [("patients", patient), *_records(session, patient, tables)]:
            self.rows.setdefault(table, []).append(row)
        self.steps = sorted(self.rows.get("patient_state_history", []), key=lambda s: s.id)

    def entered(self, state: str) -> dt.date | None:
        return self.patient.registered_on if state == "registered" else _entered(self.steps, state)


def _finding(check: EditCheck, row: Any, field: str, detail: str) -> Finding:
    message = f"{check.message} ({detail})" if check.message else detail
    return Finding(check.id, row.__tablename__, str(row.id), field, message)


def _range(check: EditCheck, data: _Patient) -> list[Finding]:
    out = []
    for row in data.rows.get(check.form, []):
        if not _matches(row, check.when):
            continue
        value = getattr(row, check.field, None)
        unit = getattr(row, "unit", None)
        if value is None or (check.unit and unit is not None and unit != check.unit):
            continue
        if (check.min is not None and value < check.min) or (
            check.max is not None and value > check.max
        ):
            out.append(
                _finding(
                    check, row, check.field, f"{check.field}={value} {check.unit or ''}".strip()
                )
            )
    return out


def _required(check: EditCheck, data: _Patient) -> list[Finding]:
    return [
        _finding(check, row, name, f"{name} not recorded")
        for row in data.rows.get(check.form, [])
        if _matches(row, check.when)
        for name in check.fields
        if getattr(row, name, None) in (None, "")
    ]


def _date_order(check: EditCheck, data: _Patient) -> list[Finding]:
    after = data.entered(check.after)
    before = data.entered(check.before) if check.before else None
    out = []
    for row in data.rows.get(check.form, []):
        on = getattr(row, check.field, None)
        if on is None:
            continue
        if after is not None and on < after:
            out.append(
                _finding(
                    check, row, check.field, f"{check.field}={on} before {check.after} ({after})"
                )
            )
        elif before is not None and on > before:
            out.append(
                _finding(
                    check, row, check.field, f"{check.field}={on} after {check.before} ({before})"
                )
            )
    return out


def _visit_window(check: EditCheck, data: _Patient, ctx: Context) -> list[Finding]:
    start = data.entered("randomised")
    if start is None:
        return []
    interval = ctx.protocol.assessment.interval_weeks * 7
    window = ctx.protocol.assessment.window_days
    out = []
    for row in data.rows.get(check.form, []):
        days = (row.visit_date - start).days
        if days <= 0:
            continue
        nearest = max(1, round(days / interval)) * interval
        if abs(days - nearest) > window:
            out.append(
                _finding(
                    check,
                    row,
                    "visit_date",
                    f"day {days} after randomisation; planned day {nearest} +/- {window}",
                )
            )
    return out


def _dose_vs_weight(check: EditCheck, data: _Patient) -> list[Finding]:
    out = []
    for row in data.rows.get(check.form, []):
        if row.dose_computed_mg in (None, 0):
            continue
        off = abs(row.dose_given_mg - row.dose_computed_mg) / row.dose_computed_mg * 100
        if off > check.tolerance_pct:
            out.append(
                _finding(
                    check,
                    row,
                    "dose_given_mg",
                    f"{row.dose_given_mg:g} mg given, {row.dose_computed_mg:g} mg computed ({off:.0f}% off)",
                )
            )
    return out


def _lab_window(check: EditCheck, data: _Patient) -> list[Finding]:
    start = data.entered("induction")
    if start is None:
        return []
    out = []
    for test in check.tests:
        before = [
            lab for lab in data.rows.get("labs", []) if lab.test == test and lab.sampled_on <= start
        ]
        if not before:
            continue
        latest = max(before, key=lambda lab: (lab.sampled_on, lab.id))
        age = (start - latest.sampled_on).days
        if age > check.days_before_induction:
            out.append(
                _finding(check, latest, "sampled_on", f"{test} taken {age} days before induction")
            )
    return out


def inputs(check: EditCheck) -> frozenset[str]:
    """What a check's result depends on, as ``writes.written_marks`` names it: its form
    and, for the checks that date rows against the protocol path, the dates the patient
    entered the states involved (and the labs, for the lab window). A form whose rows do
    not name their patient cannot be told apart from the request's other writes: "*"."""
    marks = {check.form if writes.patient_keyed(check.form) else "*"}
    if check.kind == "date_order":
        marks |= {f"state:{state}" for state in (check.after, check.before) if state}
    elif check.kind == "visit_window":
        marks.add("state:randomised")
    elif check.kind == "lab_window":
        marks |= {"labs", "state:induction"}
    return frozenset(marks)


def applicable(checks: list[EditCheck], written: Collection[str]) -> list[EditCheck]:
    """The checks whose result what was ``written`` (marks, see ``inputs``) may change."""
    return [c for c in checks if "*" in (marks := inputs(c)) or not marks.isdisjoint(written)]


def evaluate(
    ctx: Context, session: Any, patient: m.Patient, checks: list[EditCheck] | None = None
) -> list[Finding]:
    """Every finding of the protocol's edit checks (or of ``checks``) on the patient's
    records now."""
    checks = ctx.protocol.edit_checks if checks is None else checks
    data = _Patient(session, patient, _tables(checks))
    out: list[Finding] = []
    for check in checks:
        if check.kind == "range":
            out += _range(check, data)
        elif check.kind == "required":
            out += _required(check, data)
        elif check.kind == "date_order":
            out += _date_order(check, data)
        elif check.kind == "visit_window":
            out += _visit_window(check, data, ctx)
        elif check.kind == "dose_vs_weight":
            out += _dose_vs_weight(check, data)
        else:
            out += _lab_window(check, data)
    return out


def new_findings(
    ctx: Context, session: Any, patient: m.Patient, checks: list[EditCheck] | None = None
) -> list[Finding]:
    """Findings (of ``checks``, default all) not yet acknowledged nor under a query (the
    known ones are read only when there is a finding)."""
    found = evaluate(ctx, session, patient, checks)
    if not found:
        return []
    known = {
        (f.check_id, f.entity, f.entity_id, f.field)
        for f in dm_queries.findings_of(session, patient.id)
    }
    return [f for f in found if f.key not in known]


def _store(
    session: Any, ctx: Context, patient: m.Patient, findings: list[Finding], comment: str | None
) -> int:
    """Acknowledge with ``comment``, or open a query per finding; the number of queries."""
    opened = 0
    for finding in findings:
        query_id = None
        if comment is None:
            query = open_query(
                session,
                ctx,
                patient,
                finding.entity,
                finding.entity_id,
                finding.field,
                finding.message,
                source="edit_check",
                check_id=finding.check_id,
            )
            query_id, opened = query.id, opened + 1
        writes.insert(
            session,
            ctx.actor,
            m.CheckFinding(
                patient_id=patient.id,
                check_id=finding.check_id,
                entity=finding.entity,
                entity_id=finding.entity_id,
                field=finding.field,
                message=finding.message,
                comment=comment,
                query_id=query_id,
                found_by=ctx.actor,
                found_at=ctx.now(),
            ),
        )
    return opened


def check_patient(
    ctx: Context,
    patient_id: int,
    *,
    comment: str | None = None,
    mode: str = "query",
    written: Collection[str] | None = None,
) -> list[dict[str, Any]]:
    """Run the checks on one patient in the caller's transaction (a form was just saved).

    ``mode``: "query" (new findings open queries, or are acknowledged with ``comment``),
    "warn" (without ``comment``: ``EditCheckWarnings`` and nothing is kept), "off".
    ``written``: what the transaction wrote on the patient (``writes.WRITTEN_PATIENTS``'s
    marks): only the checks that read it run (none: nothing is read); default all."""
    checks = ctx.protocol.edit_checks
    if written is not None:
        checks = applicable(checks, written)
    if mode == "off" or not checks:
        return []
    with ctx.store.unit_of_work() as session:
        patient = queries.get(session, m.Patient, patient_id, what="patient")
        found = new_findings(ctx, session, patient, checks)
        if found and mode == "warn" and not comment:
            raise EditCheckWarnings(found)
        _store(session, ctx, patient, found, comment.strip() if comment else None)
        return [f.to_dict() for f in found]


@service
def run_checks(
    ctx: Context, *, site: str | None = None, patient_id: RecordId | None = None
) -> dict[str, Any]:
    """Batch: the edit checks over every patient the caller may see (or one site or one
    patient); each new finding opens a query. Returns the counts and the findings."""
    with ctx.store.unit_of_work() as session:
        if patient_id is not None:
            patient, _ = require_patient(session, ctx, "run_checks", patient_id)
            patients = [patient]
        else:
            scope = read_scope(session, ctx, "run_checks")
            site_id = None
            if site is not None:
                found_site = queries.site_by_code(session, site)
                if found_site is None:
                    from talentop.errors import NotFound

                    raise NotFound(f"site: no site {site!r}")
                site_id = found_site.id
            rows, _ = read_queries.list_patients(
                session, scope.sql_filter(), site_id=site_id, limit=10**9
            )
            patients = [queries.get(session, m.Patient, r["patient_id"]) for r in rows]
        findings: list[dict[str, Any]] = []
        opened = 0
        for patient in patients:
            found = new_findings(ctx, session, patient)
            opened += _store(session, ctx, patient, found, None)
            findings += [{**f.to_dict(), "patient_id": patient.id} for f in found]
        return {
            "patients_checked": len(patients),
            "new_findings": len(findings),
            "queries_opened": opened,
            "findings": findings,
        }


__all__ = [
    "EditCheckWarnings",
    "Finding",
    "applicable",
    "check_patient",
    "evaluate",
    "inputs",
    "run_checks",
]
