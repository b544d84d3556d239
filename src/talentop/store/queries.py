"""Read queries the services need (services never import SQLAlchemy themselves)."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, insert, inspect, select, update
from sqlalchemy.exc import IntegrityError as SaIntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.orm.util import identity_key

from talentop.errors import NotFound
from talentop.store import direct, preload
from talentop.store import models as m


@functools.cache
def _by_primary_key(model: type) -> Any:
    """The select of one row by its single-column key (None for a composite key)."""
    columns = inspect(model).primary_key
    if len(columns) != 1:
        return None
    return direct.select_columns(model).where(columns[0] == bindparam("key"))


def get(session: Session, model: type, key: Any, *, what: str | None = None) -> Any:
    """A row by primary key, or ``NotFound`` naming the table and id.

    A row the session holds is ``Session.get``'s (no statement); one it does not hold is
    read on the cursor (``direct.load``: the object the ORM's loader would give, at a
    fraction of ``Session.get``'s cost per statement: a patient page reads nine)."""
    stmt = _by_primary_key(model)
    if stmt is None or identity_key(model, key) in session.identity_map:
        row = session.get(model, key)
    else:
        row = _one_or_none(direct.load(session, model, stmt, {"key": key}))
    if row is None:
        raise NotFound(f"{what or model.__tablename__}: no row with id {key!r}")
    return row


# Statements of every service call, built once (bound parameters).
_LOCK_PATIENT = select(m.Patient).where(m.Patient.id == bindparam("id")).with_for_update()
_SITE_BY_CODE = direct.select_columns(m.Site).where(m.Site.code == bindparam("code"))
_USER_BY_NAME = direct.select_columns(m.User).where(m.User.username == bindparam("username"))


def lock_patient(session: Session, patient_id: int) -> m.Patient:
    """The patient row, locked for this transaction (PostgreSQL ``FOR UPDATE``)."""
    row = session.execute(_LOCK_PATIENT, {"id": patient_id}).scalar_one_or_none()
    if row is None:
        raise NotFound(f"patient: no patient with id {patient_id!r}")
    return row


def _one_or_none(rows: list[Any]) -> Any:
    """The only row, None for none (as ``scalar_one_or_none``; the statements using it
    select by a unique key or LIMIT 1)."""
    return rows[0] if rows else None


def site_by_code(session: Session, code: str) -> m.Site | None:
    return _one_or_none(direct.load(session, m.Site, _SITE_BY_CODE, {"code": code}))


_TX_ROWS = "talentop_transaction_rows"


def remember(session: Session, key: tuple, row: Any) -> None:
    """Keep ``row`` for the rest of this transaction: found again by ``key`` (``remembered``)
    and kept in the session's identity map (``get`` then needs no statement), where it
    would otherwise be dropped as soon as the service call that read it returns."""
    transaction = session.get_transaction()
    kept = session.info.get(_TX_ROWS)
    if kept is None or kept[0] is not transaction:
        kept = session.info[_TX_ROWS] = (transaction, {})
    kept[1][key] = row


def remembered(session: Session, key: tuple) -> Any:
    """The row ``remember``ed under ``key`` in this transaction, or None."""
    kept = session.info.get(_TX_ROWS)
    if kept is None or kept[0] is not session.get_transaction():
        return None
    return kept[1].get(key)


def user_by_name(session: Session, username: str) -> m.User | None:
    """The user row, read once per transaction (the acting user is checked by every
    service call of a request)."""
    user = remembered(session, ("user", username))
    if user is None:
        user = _one_or_none(direct.load(session, m.User, _USER_BY_NAME, {"username": username}))
        if user is not None:
            remember(session, ("user", username), user)
    return user


_PATIENT_BY_PSEUDO_ID = direct.select_columns(m.Patient).where(
    m.Patient.site_id == bindparam("site_id"), m.Patient.pseudo_id == bindparam("pseudo_id")
)


def patient_by_pseudo_id(session: Session, site_id: int, pseudo_id: str) -> m.Patient | None:
    params = {"site_id": site_id, "pseudo_id": pseudo_id}
    return _one_or_none(direct.load(session, m.Patient, _PATIENT_BY_PSEUDO_ID, params))


def all_patients(session: Session) -> list[m.Patient]:
    return list(session.execute(select(m.Patient).order_by(m.Patient.id)).scalars())


#: Statements of ``rows_for`` / ``latest`` built once per (model, order column): building a
#: ``select()`` costs more than running it on SQLite, and a statement built once is also
#: looked at once by the audit hook (``audit._touches_log``).
_BUILT: dict[tuple[Any, ...], Any] = {}


def _built(kind: str, model: Any, order_by: Any) -> tuple[Any, bool]:
    """The statement selecting the model's columns, and whether it is built once."""
    if order_by is None:
        key: tuple[Any, ...] | None = (kind, model, None, None)
    elif isinstance(order_by, InstrumentedAttribute):
        key = (kind, model, order_by.class_, order_by.key)
    else:  # an expression: built each time
        key = None
    stmt = _BUILT.get(key) if key is not None else None
    if stmt is not None:
        return stmt, True
    patient = bindparam("patient_id")
    columns = direct.select_columns(model)
    if kind == "rows":  # ties of ``order_by`` in id order (``preload`` orders them alike)
        stmt = columns.where(model.patient_id == patient)
        stmt = stmt.order_by(*preload.rows_order(model, order_by))
    else:
        stmt = (
            columns.where(model.patient_id == patient)
            .order_by(*preload.latest_order(model, order_by))
            .limit(1)
        )
    if key is not None:
        # Built once: a SQLite transaction sends it once per patient until it writes to
        # the model's table (``talentop.store.tx_reads``).
        _BUILT[key] = direct.per_transaction(stmt)
    return stmt, key is not None


#: Per-patient reads of many patients answered by one statement per table (``preload``).
preloaded = preload.preloaded


def rows_for(session: Session, model: Any, patient_id: int, order_by: Any = None) -> list[Any]:
    """Every row of ``model`` for the patient, in ``order_by`` (default: id) order, then id
    (from a ``preload.preloaded`` block's statement over every patient when in one)."""
    found = preload.answer(session, "rows", model, order_by, patient_id)
    if found is not NotImplemented:
        return found
    return _load(session, model, *_built("rows", model, order_by), patient_id)


def latest(session: Session, model: Any, patient_id: int, order_by: Any) -> Any:
    """The patient's newest row of ``model`` by ``order_by`` (then id), or None."""
    found = preload.answer(session, "latest", model, order_by, patient_id)
    if found is not NotImplemented:
        return found
    return _one_or_none(_load(session, model, *_built("latest", model, order_by), patient_id))


def _load(session: Session, model: Any, stmt: Any, once: bool, patient_id: int) -> list[Any]:
    """The model's rows a ``_built`` statement selects, as loaded objects: on the DBAPI
    cursor when the statement is built once (``direct.load``), else through SQLAlchemy."""
    params = {"patient_id": patient_id}
    if once:
        return direct.load(session, model, stmt, params)
    return [direct.as_loaded(session, model, row) for row in session.execute(stmt, params)]


def screening_criteria(session: Session, screening_id: int) -> list[m.ScreeningCriterion]:
    stmt = select(m.ScreeningCriterion).where(m.ScreeningCriterion.screening_id == screening_id)
    return list(session.execute(stmt.order_by(m.ScreeningCriterion.id)).scalars())


def measurements_for_visit(session: Session, visit_id: int) -> list[m.LesionMeasurement]:
    stmt = select(m.LesionMeasurement).where(m.LesionMeasurement.visit_id == visit_id)
    return list(session.execute(stmt).scalars())


def response_for_visit(
    session: Session, visit_id: int, criteria: str
) -> m.ResponseAssessment | None:
    stmt = select(m.ResponseAssessment).where(
        m.ResponseAssessment.visit_id == visit_id, m.ResponseAssessment.criteria == criteria
    )
    return session.execute(stmt).scalar_one_or_none()


_LATEST_RESPONSE = direct.per_transaction(
    direct.select_columns(m.ResponseAssessment)
    .join(m.AssessmentVisit, m.AssessmentVisit.id == m.ResponseAssessment.visit_id)
    .where(
        m.ResponseAssessment.patient_id == bindparam("patient_id"),
        m.ResponseAssessment.criteria == bindparam("criteria"),
    )
    .order_by(m.AssessmentVisit.visit_date.desc())
    .limit(1)
)


def latest_response(
    session: Session, patient_id: int, criteria: str
) -> m.ResponseAssessment | None:
    params = {"patient_id": patient_id, "criteria": criteria}
    return _one_or_none(direct.load(session, m.ResponseAssessment, _LATEST_RESPONSE, params))


def mdt_votes(session: Session, review_id: int) -> list[m.MdtVote]:
    stmt = select(m.MdtVote).where(m.MdtVote.review_id == review_id).order_by(m.MdtVote.id)
    return list(session.execute(stmt).scalars())


_LAST_DRUG_DATE = select(func.max(m.DrugAdministration.given_on)).where(
    m.DrugAdministration.patient_id == bindparam("patient_id"),
    m.DrugAdministration.drug == bindparam("drug"),
)


def last_drug_date(session: Session, patient_id: int, drug: str) -> dt.date | None:
    params = {"patient_id": patient_id, "drug": drug}
    return direct.execute(session, _LAST_DRUG_DATE, params).scalar()


def randomisation_keys(session: Session) -> list[m.RandomisationKey]:
    """The registered randomisation keys (id + fingerprint), oldest first; the last is
    the current one. The keys themselves live outside the database."""
    stmt = select(m.RandomisationKey).order_by(m.RandomisationKey.id)
    return list(session.execute(stmt).scalars())


_LOCK_COUNTER = (
    select(m.StratumCounter)
    .where(m.StratumCounter.stratum_key == bindparam("stratum_key"))
    .with_for_update()
)


def lock_stratum_counter(
    session: Session, stratum_key: str, key_id: str | None = None
) -> tuple[m.StratumCounter, bool]:
    """The stratum's counter row, created if missing (on randomisation key ``key_id``) and
    locked for this transaction.

    One ``SELECT ... FOR UPDATE`` when the row exists (every allocation but a stratum's
    first). Otherwise PostgreSQL: ``INSERT ... ON CONFLICT DO NOTHING`` then the locking
    select again, so two first allocations in a new stratum cannot both start at slot 0;
    SQLite: the transaction already holds the database write lock (``BEGIN IMMEDIATE``).
    """
    params = {"stratum_key": stratum_key}
    counter = session.execute(_LOCK_COUNTER, params).scalar_one_or_none()
    if counter is not None:
        return counter, False
    dialect = session.get_bind().dialect.name
    created = False
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        # RETURNING, not rowcount: psycopg reports rowcount -1 for this statement.
        inserted = session.execute(
            pg_insert(m.StratumCounter)
            .values(stratum_key=stratum_key, next_slot=0, key_id=key_id, key_start_slot=0)
            .on_conflict_do_nothing(index_elements=["stratum_key"])
            .returning(m.StratumCounter.stratum_key)
        ).first()
        created = inserted is not None
    else:
        try:
            with session.begin_nested():
                session.execute(
                    insert(m.StratumCounter).values(
                        stratum_key=stratum_key, next_slot=0, key_id=key_id, key_start_slot=0
                    )
                )
            created = True
        except SaIntegrityError:
            pass
    counter = session.execute(_LOCK_COUNTER, params).scalar_one()
    return counter, created


_COUNTERS = m.StratumCounter.__table__
_TAKE_SLOT = (
    update(_COUNTERS)
    .where(_COUNTERS.c.stratum_key == bindparam("counter"))
    .values(next_slot=_COUNTERS.c.next_slot + 1)
    .returning(_COUNTERS.c.next_slot, _COUNTERS.c.key_id, _COUNTERS.c.key_start_slot)
)


@dataclass(frozen=True)
class TakenSlot:
    """A slot taken from a stratum's counter: ``slot`` (the counter's ``next_slot`` before
    this allocation) and the counter's key columns as they were; ``created``: the counter
    row was made by this call (its first allocation)."""

    slot: int
    key_id: str | None
    key_start_slot: int | None
    created: bool


def take_stratum_slot(session: Session, stratum_key: str, key_id: str | None) -> TakenSlot:
    """Take the stratum's next slot: one ``UPDATE ... SET next_slot = next_slot + 1
    RETURNING``, which also locks the counter row until the transaction ends (PostgreSQL's
    row lock; SQLite's ``BEGIN IMMEDIATE`` already holds the write lock). The allocation
    takes it after everything it reads, so the lock is held only for its last writes and
    the commit (two statements fewer under it than a locking ``SELECT`` and an ``UPDATE``).

    A stratum's first allocation creates the row (on key ``key_id``, slot 0) as
    ``lock_stratum_counter`` does, then takes the slot. Nothing is audited here: the caller
    audits the creation and the update (``writes.audit_applied``)."""
    params = {"counter": stratum_key}
    row = direct.execute(session, _TAKE_SLOT, params).first()
    created = False
    if row is None:
        _, created = lock_stratum_counter(session, stratum_key, key_id)
        row = direct.execute(session, _TAKE_SLOT, params).one()
    next_slot, counter_key, start = row
    return TakenSlot(next_slot - 1, counter_key, start, created)


_SET_COUNTER_KEY = (
    update(_COUNTERS)
    .where(_COUNTERS.c.stratum_key == bindparam("counter"))
    .values(key_id=bindparam("new_key"), key_start_slot=bindparam("new_start"))
)


def set_counter_key(session: Session, stratum_key: str, key_id: str | None, start: int) -> None:
    """Put a locked counter on randomisation key ``key_id`` from slot ``start`` (a stratum
    starting its next block on a rotated key; audited by the caller)."""
    session.connection().execute(
        _SET_COUNTER_KEY, {"counter": stratum_key, "new_key": key_id, "new_start": start}
    )


def randomisations(session: Session) -> list[m.Randomisation]:
    return list(session.execute(select(m.Randomisation).order_by(m.Randomisation.id)).scalars())


def count(session: Session, model: Any) -> int:
    return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def audit_rows(
    session: Session, *, entity: str | None = None, limit: int = 100
) -> list[m.AuditEntry]:
    stmt = select(m.AuditEntry)
    if entity is not None:
        stmt = stmt.where(m.AuditEntry.entity == entity)
    return list(session.execute(stmt.order_by(m.AuditEntry.seq.desc()).limit(limit)).scalars())
