"""Queries of the data-management tables (locks, verifications, data queries, findings,
signatures, corrections, stratification errors)."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import Session

from talentop.store import direct
from talentop.store import models as m
from talentop.store.read_queries import PatientFilter, scope_clause


@functools.cache
def _active_locks(by_patient: bool, by_record: bool) -> Any:
    """The active locks covering the database, the patient (``patient_id``) and the record
    (``entity``, ``entity_id``): one statement per combination, built once."""
    covers = [m.RecordLock.scope == "database"]
    if by_patient:
        covers.append(
            (m.RecordLock.scope == "patient") & (m.RecordLock.patient_id == bindparam("patient_id"))
        )
    if by_record:
        covers.append(
            (m.RecordLock.scope == "record")
            & (m.RecordLock.entity == bindparam("entity"))
            & (m.RecordLock.entity_id == bindparam("entity_id"))
        )
    return (
        direct.select_columns(m.RecordLock)
        .where(m.RecordLock.active.is_(True), or_(*covers))
        .order_by(m.RecordLock.id)
    )


def active_locks(
    session: Session,
    patient_id: int | None,
    entity: str | None = None,
    entity_id: str | None = None,
) -> list[m.RecordLock]:
    """Active locks that cover a record: the database, the patient, or the record itself
    (``entity`` with its ``entity_id``)."""
    if entity is not None and entity_id is None:
        raise TypeError("active_locks: a record is named by its entity and its entity_id")
    params: dict[str, Any] = {}
    if patient_id is not None:
        params["patient_id"] = patient_id
    if entity is not None:
        params.update(entity=entity, entity_id=entity_id)
    stmt = _active_locks(patient_id is not None, entity is not None)
    return direct.load(session, m.RecordLock, stmt, params)


_ACTIVE_RECORD_LOCKS = (
    direct.select_columns(m.RecordLock)
    .where(
        m.RecordLock.active.is_(True),
        m.RecordLock.scope == "record",
        m.RecordLock.patient_id == bindparam("patient_id"),
    )
    .order_by(m.RecordLock.id)
)


def active_record_locks(session: Session, patient_id: int) -> list[m.RecordLock]:
    """The active locks of single records of the patient (a record lock names the patient
    its record belongs to): with ``active_locks(session, patient_id)``, every lock that
    covers one of the patient's records, in two statements instead of one per record."""
    return direct.load(session, m.RecordLock, _ACTIVE_RECORD_LOCKS, {"patient_id": patient_id})


def locks(session: Session, *, active_only: bool) -> list[m.RecordLock]:
    stmt = select(m.RecordLock)
    if active_only:
        stmt = stmt.where(m.RecordLock.active.is_(True))
    return list(session.execute(stmt.order_by(m.RecordLock.id)).scalars())


def active_verifications(session: Session, entity: str, entity_id: str) -> list[m.Verification]:
    stmt = select(m.Verification).where(
        m.Verification.entity == entity,
        m.Verification.entity_id == entity_id,
        m.Verification.cleared_at.is_(None),
    )
    return list(session.execute(stmt).scalars())


def verifications_of(session: Session, patient_id: int) -> list[m.Verification]:
    stmt = select(m.Verification).where(m.Verification.patient_id == patient_id)
    return list(session.execute(stmt.order_by(m.Verification.id)).scalars())


def findings_of(session: Session, patient_id: int) -> list[m.CheckFinding]:
    stmt = select(m.CheckFinding).where(m.CheckFinding.patient_id == patient_id)
    return list(session.execute(stmt).scalars())


def open_query_on(
    session: Session, entity: str, entity_id: str, field: str, check_id: str | None
) -> m.DataQuery | None:
    stmt = select(m.DataQuery).where(
        m.DataQuery.entity == entity,
        m.DataQuery.entity_id == entity_id,
        m.DataQuery.field == field,
        m.DataQuery.state != "closed",
    )
    if check_id is not None:
        stmt = stmt.where(m.DataQuery.check_id == check_id)
    return session.execute(stmt.limit(1)).scalar_one_or_none()


def query_page(
    session: Session,
    scope: PatientFilter,
    *,
    site_id: int | None,
    patient_id: int | None,
    states: list[str] | None,
    limit: int,
    offset: int,
) -> tuple[list[tuple[m.DataQuery, m.Patient, str]], int]:
    stmt = (
        select(m.DataQuery, m.Patient, m.Site.code)
        .join(m.Patient, m.Patient.id == m.DataQuery.patient_id)
        .join(m.Site, m.Site.id == m.DataQuery.site_id)
    )
    where: list[Any] = []
    clause = scope_clause(scope)
    if clause is not None:
        where.append(clause)
    if site_id is not None:
        where.append(m.DataQuery.site_id == site_id)
    if patient_id is not None:
        where.append(m.DataQuery.patient_id == patient_id)
    if states:
        where.append(m.DataQuery.state.in_(states))
    if where:
        stmt = stmt.where(*where)
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(
        stmt.order_by(m.DataQuery.raised_at.desc(), m.DataQuery.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [(q, p, code) for q, p, code in rows], int(total)


def query_events(session: Session, query_ids: list[int]) -> dict[int, list[m.QueryEvent]]:
    if not query_ids:
        return {}
    stmt = (
        select(m.QueryEvent).where(m.QueryEvent.query_id.in_(query_ids)).order_by(m.QueryEvent.id)
    )
    out: dict[int, list[m.QueryEvent]] = {}
    for event in session.execute(stmt).scalars():
        out.setdefault(event.query_id, []).append(event)
    return out


def queries_in_scope(session: Session, scope: PatientFilter) -> list[tuple[m.DataQuery, str, str]]:
    """(query, site code, pseudo id) of every query within the scope (for counts)."""
    stmt = (
        select(m.DataQuery, m.Site.code, m.Patient.pseudo_id)
        .join(m.Patient, m.Patient.id == m.DataQuery.patient_id)
        .join(m.Site, m.Site.id == m.DataQuery.site_id)
    )
    clause = scope_clause(scope)
    if clause is not None:
        stmt = stmt.where(clause)
    return [(q, code, pseudo) for q, code, pseudo in session.execute(stmt)]


def signatures_of(
    session: Session, *, patient_id: int | None, target: str | None = None
) -> list[m.Signature]:
    stmt = select(m.Signature)
    if patient_id is not None:
        stmt = stmt.where(m.Signature.patient_id == patient_id)
    if target is not None:
        stmt = stmt.where(m.Signature.target == target)
    return list(session.execute(stmt.order_by(m.Signature.id)).scalars())


def stratification_errors(
    session: Session, scope: PatientFilter
) -> list[tuple[m.StratificationError, m.Patient, str]]:
    stmt = (
        select(m.StratificationError, m.Patient, m.Site.code)
        .join(m.Patient, m.Patient.id == m.StratificationError.patient_id)
        .join(m.Site, m.Site.id == m.Patient.site_id)
    )
    clause = scope_clause(scope)
    if clause is not None:
        stmt = stmt.where(clause)
    return list(session.execute(stmt.order_by(m.StratificationError.id)).all())


def corrections_of(session: Session, patient_id: int) -> list[m.Correction]:
    stmt = select(m.Correction).where(m.Correction.patient_id == patient_id)
    return list(session.execute(stmt.order_by(m.Correction.id)).scalars())
