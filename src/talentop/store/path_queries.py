"""Queries of the services' write path, built once (module level, bound parameters).

Every service call runs a handful of these. Building a ``select()`` costs more than running
it on SQLite, and an ORM object per history row costs more again, so the statements here are
constructed once (SQLAlchemy then also reuses their compiled form by cache key) and return
plain tuples or aggregates where the caller needs a date or a count, not a patient's whole
history as objects.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from talentop.errors import NotFound
from talentop.store import direct, queries
from talentop.store import models as m


def _rows(session: Session, stmt: Any, params: dict[str, Any]) -> direct.Rows:
    """Run a statement that returns plain columns on the session's connection, after
    flushing ORM changes not yet written: on the DBAPI cursor (``talentop.store.direct``),
    none of the ORM's or the Core execution context's per-call work."""
    return direct.execute(session, stmt, params)


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
_PATIENT_COLUMNS = [column for _, column in direct.columns_of(m.Patient)]
_USER_COLUMNS = [column for _, column in direct.columns_of(m.User)]
_PATIENT_FOR_WRITE = direct.per_transaction(
    select(*_PATIENT_COLUMNS, _LOCKED, *_USER_COLUMNS)
    .select_from(m.Patient)
    .outerjoin(m.User, m.User.username == bindparam("actor"))
    .where(m.Patient.id == bindparam("patient_id"))
    .with_for_update(of=m.Patient.__table__)
)


#: ``session.info`` key: a function (session, patient) called once a write has locked a
#: patient (``patient_for_write``): the API reads what the edit checks will need there,
#: before the write takes any other lock (``checks.prefetch``).
PATIENT_LOCKED = "talentop_patient_locked"


def patient_for_write(
    session: Session, patient_id: int, actor: str = ""
) -> tuple[m.Patient, bool, m.User | None]:
    """The patient row locked for this transaction (PostgreSQL ``FOR UPDATE OF patients``;
    SQLite's ``BEGIN IMMEDIATE`` already holds the write lock), whether an active database
    or patient lock covers it, and the user row named ``actor`` (None if there is none), in
    one statement: every write service call needs all three."""
    row = _rows(session, _PATIENT_FOR_WRITE, {"patient_id": patient_id, "actor": actor}).first()
    if row is None:
        raise NotFound(f"patient: no patient with id {patient_id!r}")
    split = len(_PATIENT_COLUMNS)
    patient = direct.as_loaded(session, m.Patient, row[:split])
    locked = bool(row[split])
    user = None
    if row[split + 1] is not None:  # the user's id: None when no user row joined
        user = direct.as_loaded(session, m.User, row[split + 1 :])
    queries.remember(session, ("patient", patient_id), patient)
    if user is not None:
        queries.remember(session, ("user", actor), user)
    hook = session.info.get(PATIENT_LOCKED)
    if hook is not None:
        hook(session, patient)
    return patient, locked, user


_STEPS = direct.per_transaction(
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
    direct.select_columns(m.AssessmentVisit)
    .where(m.AssessmentVisit.patient_id == bindparam("patient_id"))
    .order_by(m.AssessmentVisit.visit_date, m.AssessmentVisit.id)
)
_MEASUREMENTS = (
    direct.select_columns(m.LesionMeasurement)
    .join(m.AssessmentVisit, m.AssessmentVisit.id == m.LesionMeasurement.visit_id)
    .where(m.AssessmentVisit.patient_id == bindparam("patient_id"))
    .order_by(m.LesionMeasurement.id)
)


def visits(session: Session, patient_id: int) -> list[m.AssessmentVisit]:
    """The patient's assessment visits by date."""
    return direct.load(session, m.AssessmentVisit, _VISITS, {"patient_id": patient_id})


def measurements_by_visit(session: Session, patient_id: int) -> dict[int, list[Any]]:
    """Every lesion measurement of the patient's visits, by visit id (one statement
    instead of one per visit)."""
    out: dict[int, list[Any]] = {}
    params = {"patient_id": patient_id}
    for row in direct.load(session, m.LesionMeasurement, _MEASUREMENTS, params):
        out.setdefault(row.visit_id, []).append(row)
    return out


_LESIONS = direct.per_transaction(
    direct.select_columns(m.Lesion)
    .where(m.Lesion.patient_id == bindparam("patient_id"))
    .order_by(m.Lesion.id)
)


def lesions(session: Session, patient_id: int) -> list[m.Lesion]:
    return direct.load(session, m.Lesion, _LESIONS, {"patient_id": patient_id})


_LAST_STEP = direct.per_transaction(
    select(m.StateChange.to_state, m.StateChange.on_date)
    .where(m.StateChange.patient_id == bindparam("patient_id"))
    .order_by(m.StateChange.id.desc())
    .limit(1)
)


def last_step(session: Session, patient_id: int) -> tuple[str, dt.date | None] | None:
    """The patient's latest step (state entered, date), or None."""
    row = _rows(session, _LAST_STEP, {"patient_id": patient_id}).first()
    return None if row is None else (row[0], row[1])


@dataclass(frozen=True)
class Response:
    best_overall_response: str | None
    depth_of_response_pct: float | None
    result_json: str


@dataclass(frozen=True)
class Review:
    id: int
    review_date: dt.date
    resectable: bool


@dataclass(frozen=True)
class Key:
    key_id: str
    fingerprint: str


@dataclass(frozen=True)
class RandomisationFacts:
    """What ``randomise`` checks before it takes a slot, read in one statement: the latest
    response (by the protocol's criteria), the latest randomisation MDT review, whether an
    allocation exists, the latest screening record, the latest step, the current key and
    the patient's site code."""

    response: Response | None
    review: Review | None
    randomised: bool
    screening_record: str | None
    last_step: tuple[str, dt.date | None] | None
    current_key: Key | None
    site_code: str


def _latest(model: Any, columns: list[Any], where: list[Any], order: list[Any]) -> list[Any]:
    """One scalar subquery per column of the newest ``model`` row matching ``where``."""
    return [
        select(column).where(*where).order_by(*order).limit(1).scalar_subquery()
        for column in columns
    ]


_PID = bindparam("patient_id")
_RESPONSE_COLUMNS = _latest(
    m.ResponseAssessment,
    [
        m.ResponseAssessment.id,
        m.ResponseAssessment.best_overall_response,
        m.ResponseAssessment.depth_of_response_pct,
        m.ResponseAssessment.result_json,
    ],
    [
        m.ResponseAssessment.patient_id == _PID,
        m.ResponseAssessment.criteria == bindparam("criteria"),
        m.AssessmentVisit.id == m.ResponseAssessment.visit_id,
    ],
    [m.AssessmentVisit.visit_date.desc(), m.ResponseAssessment.id.desc()],
)
_REVIEW_COLUMNS = _latest(
    m.MdtReview,
    [m.MdtReview.id, m.MdtReview.review_date, m.MdtReview.resectable],
    [m.MdtReview.patient_id == _PID, m.MdtReview.purpose == "randomisation"],
    [m.MdtReview.review_date.desc(), m.MdtReview.id.desc()],
)
_SCREENING_COLUMNS = _latest(
    m.Screening,
    [m.Screening.record_json],
    [m.Screening.patient_id == _PID],
    [m.Screening.screened_on.desc(), m.Screening.id.desc()],
)
_STEP_COLUMNS = _latest(
    m.StateChange,
    [m.StateChange.id, m.StateChange.to_state, m.StateChange.on_date],
    [m.StateChange.patient_id == _PID],
    [m.StateChange.id.desc()],
)
_KEY_COLUMNS = _latest(
    m.RandomisationKey,
    [m.RandomisationKey.key_id, m.RandomisationKey.fingerprint],
    [],
    [m.RandomisationKey.id.desc()],
)
_RANDOMISED = select(m.Randomisation.id).where(m.Randomisation.patient_id == _PID).exists()
_SITE_CODE = (
    select(m.Site.code)
    .where(m.Site.id == select(m.Patient.site_id).where(m.Patient.id == _PID).scalar_subquery())
    .scalar_subquery()
)
_RANDOMISATION_FACTS = select(
    *_RESPONSE_COLUMNS,
    *_REVIEW_COLUMNS,
    _RANDOMISED,
    *_SCREENING_COLUMNS,
    *_STEP_COLUMNS,
    *_KEY_COLUMNS,
    _SITE_CODE,
)


def randomisation_reads(
    patient_id: int, criteria: str, consent_scope: str | None
) -> list[tuple[Any, dict[str, Any]]]:
    """The reads ``randomise`` makes right after locking the patient (the consent gate of
    ``consent_scope`` unless None, then ``randomisation_facts``), for
    ``direct.reads_ahead``: sent with the lock in one round trip on PostgreSQL."""
    reads: list[tuple[Any, dict[str, Any]]] = []
    if consent_scope is not None:
        reads.append((_CONSENT_GATE, {"patient_id": patient_id, "scope": consent_scope}))
    reads.append((_RANDOMISATION_FACTS, {"patient_id": patient_id, "criteria": criteria}))
    return reads


def randomisation_facts(session: Session, patient_id: int, criteria: str) -> RandomisationFacts:
    """``RandomisationFacts`` of the patient (one round trip instead of six)."""
    r = _rows(session, _RANDOMISATION_FACTS, {"patient_id": patient_id, "criteria": criteria})
    (
        response_id, bor, depth, result_json,
        review_id, review_date, resectable,
        randomised,
        screening_record,
        step_id, step_state, step_date,
        key_id, key_fingerprint,
        site_code,
    ) = r.one()  # fmt: skip
    return RandomisationFacts(
        response=None if response_id is None else Response(bor, depth, result_json),
        review=None if review_id is None else Review(review_id, review_date, bool(resectable)),
        randomised=bool(randomised),
        screening_record=screening_record,
        last_step=None if step_id is None else (step_state, step_date),
        current_key=None if key_id is None else Key(key_id, key_fingerprint),
        site_code=site_code,
    )


_WITHDRAWN_ON = (
    select(m.ConsentWithdrawal.withdrawn_on)
    .where(
        m.ConsentWithdrawal.patient_id == bindparam("patient_id"),
        m.ConsentWithdrawal.scope == bindparam("scope"),
    )
    .order_by(m.ConsentWithdrawal.id.desc())
    .limit(1)
    .scalar_subquery()
)
_CONSENT_GATE = direct.per_transaction(
    select(
        m.Consent.consented_on,
        m.Consent.form_version,
        m.Consent.scope_treatment,
        m.Consent.scope_follow_up,
        m.Consent.scope_data_use,
        m.Consent.scope_biobank,
        _WITHDRAWN_ON.label("withdrawn_on"),
    )
    .where(m.Consent.patient_id == bindparam("patient_id"))
    .order_by(m.Consent.consented_on, m.Consent.id)
)


def consent_gate(session: Session, patient_id: int, scope: str) -> list[Any]:
    """The patient's signed forms, oldest first, as rows of (consented_on, form_version,
    scope_* flags, withdrawn_on: the date of the latest withdrawal of ``scope`` or None), in
    one statement: what the consent gate of every patient service checks."""
    return list(_rows(session, _CONSENT_GATE, {"patient_id": patient_id, "scope": scope}))
