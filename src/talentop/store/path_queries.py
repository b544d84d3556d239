"""Queries of the services' write path, built once (module level, bound parameters).

Every service call runs a handful of these. Building a ``select()`` costs more than running
it on SQLite, and an ORM object per history row costs more again, so the statements here are
constructed once (SQLAlchemy then also reuses their compiled form by cache key) and return
plain tuples or aggregates where the caller needs a date or a count, not a patient's whole
history as objects.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from talentop.errors import NotFound
from talentop.store import models as m


def _rows(session: Session, stmt: Any, params: dict[str, Any]) -> Any:
    """Run a statement that returns plain columns on the session's connection (Core: none
    of the ORM's per-execution work), after flushing ORM changes not yet written."""
    if session.autoflush and (session.new or session.dirty):
        session.flush()
    return session.connection().execute(stmt, params)

_LOCKED = (
    select(m.RecordLock.id)
    .where(
        m.RecordLock.active.is_(True),
        or_(
            m.RecordLock.scope == "database",
            and_(m.RecordLock.scope == "patient", m.RecordLock.patient_id == m.Patient.id),
        ),
    )
    .exists()
)
_PATIENT_FOR_WRITE = (
    select(m.Patient, _LOCKED)
    .where(m.Patient.id == bindparam("patient_id"))
    .with_for_update(of=m.Patient)
)


def patient_for_write(session: Session, patient_id: int) -> tuple[m.Patient, bool]:
    """The patient row locked for this transaction (PostgreSQL ``FOR UPDATE``; SQLite's
    ``BEGIN IMMEDIATE`` already holds the write lock) and whether an active database or
    patient lock covers it, in one statement."""
    row = session.execute(_PATIENT_FOR_WRITE, {"patient_id": patient_id}).first()
    if row is None:
        raise NotFound(f"patient: no patient with id {patient_id!r}")
    return row[0], bool(row[1])


_STEPS = (
    select(m.StateChange.to_state, m.StateChange.on_date)
    .where(m.StateChange.patient_id == bindparam("patient_id"))
    .order_by(m.StateChange.id)
)


def state_steps(session: Session, patient_id: int) -> list[tuple[str, dt.date | None]]:
    """The patient's path as (state entered, date) pairs in the order they were taken."""
    return [(r[0], r[1]) for r in _rows(session, _STEPS, {"patient_id": patient_id})]


_DOSES_OF_CYCLES = (
    select(m.DrugAdministration.cycle, m.DrugAdministration.drug, m.DrugAdministration.given_on)
    .where(
        m.DrugAdministration.patient_id == bindparam("patient_id"),
        m.DrugAdministration.phase == bindparam("phase"),
        m.DrugAdministration.cycle.in_([bindparam("cycle"), bindparam("previous_cycle")]),
    )
    .order_by(m.DrugAdministration.given_on, m.DrugAdministration.id)
)


def doses_of_cycles(
    session: Session, patient_id: int, phase: str, cycle: int
) -> list[tuple[int, str, dt.date]]:
    """(cycle, drug, given on) of the patient's doses of ``phase`` in ``cycle`` and the
    cycle before it: all a new dose is checked against (duplicate, cycle clock)."""
    params = {"patient_id": patient_id, "phase": phase, "cycle": cycle, "previous_cycle": cycle - 1}
    return [(r[0], r[1], r[2]) for r in _rows(session, _DOSES_OF_CYCLES, params)]


_LATEST_SURGERY_DATE = select(func.max(m.Surgery.surgery_date)).where(
    m.Surgery.patient_id == bindparam("patient_id")
)


def latest_surgery_date(session: Session, patient_id: int) -> dt.date | None:
    return _rows(session, _LATEST_SURGERY_DATE, {"patient_id": patient_id}).scalar()


_VISITS = (
    select(m.AssessmentVisit)
    .where(m.AssessmentVisit.patient_id == bindparam("patient_id"))
    .order_by(m.AssessmentVisit.visit_date, m.AssessmentVisit.id)
)
_MEASUREMENTS = (
    select(m.LesionMeasurement)
    .join(m.AssessmentVisit, m.AssessmentVisit.id == m.LesionMeasurement.visit_id)
    .where(m.AssessmentVisit.patient_id == bindparam("patient_id"))
    .order_by(m.LesionMeasurement.id)
)


def visits(session: Session, patient_id: int) -> list[m.AssessmentVisit]:
    """The patient's assessment visits by date."""
    return list(session.execute(_VISITS, {"patient_id": patient_id}).scalars())


def measurements_by_visit(session: Session, patient_id: int) -> dict[int, list[Any]]:
    """Every lesion measurement of the patient's visits, by visit id (one statement
    instead of one per visit)."""
    out: dict[int, list[Any]] = {}
    for row in session.execute(_MEASUREMENTS, {"patient_id": patient_id}).scalars():
        out.setdefault(row.visit_id, []).append(row)
    return out


_LESIONS = (
    select(m.Lesion).where(m.Lesion.patient_id == bindparam("patient_id")).order_by(m.Lesion.id)
)


def lesions(session: Session, patient_id: int) -> list[m.Lesion]:
    return list(session.execute(_LESIONS, {"patient_id": patient_id}).scalars())


_LAST_STEP = (
    select(m.StateChange.to_state, m.StateChange.on_date)
    .where(m.StateChange.patient_id == bindparam("patient_id"))
    .order_by(m.StateChange.id.desc())
    .limit(1)
)


def last_step(session: Session, patient_id: int) -> tuple[str, dt.date | None] | None:
    """The patient's latest step (state entered, date), or None."""
    row = _rows(session, _LAST_STEP, {"patient_id": patient_id}).first()
    return None if row is None else (row[0], row[1])
