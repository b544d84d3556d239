"""Read-side queries for lists, timelines and dashboards: filtered, counted and paged in SQL.

The services decide *who* may read (``talentop.services.access``) and pass the result here
as a ``PatientFilter``; these functions only turn it into SQL. Aggregates (counts, latest
dates) are computed by the database instead of reading every patient's history.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Date, and_, bindparam, distinct, exists, func, or_, select
from sqlalchemy.orm import Session

from talentop.store import direct
from talentop.store import models as m

#: Tables never shown to readers as patient records (secrets, counters, credentials).
HIDDEN_ENTITIES = frozenset(
    {
        "randomisation_secret",
        "stratum_counters",
        "auth_sessions",
        "api_tokens",
        "login_throttle",
        "idempotency_keys",
    }
)


@dataclass(frozen=True)
class PatientFilter:
    """Which patients a reader may see: ``site_ids`` None = every site; with
    ``include_awaiting_mdt`` also patients in ``awaiting_states`` or in ``flagged_state``
    with an open resectability flag, at any site."""

    site_ids: tuple[int, ...] | None
    include_awaiting_mdt: bool = False
    awaiting_states: tuple[str, ...] = ()
    flagged_state: str | None = None


def _awaiting_clause(scope: PatientFilter) -> Any:
    # Correlated to ``patients`` only: the outer query may itself select from these tables.
    open_flag = (
        select(m.ResectabilityFlag.id)
        .where(
            m.ResectabilityFlag.patient_id == m.Patient.id,
            m.ResectabilityFlag.resolved.is_(False),
        )
        .correlate(m.Patient)
        .exists()
    )
    decided = (
        select(m.MdtReview.id)
        .where(m.MdtReview.patient_id == m.Patient.id, m.MdtReview.purpose == "randomisation")
        .correlate(m.Patient)
        .exists()
    )
    return or_(
        and_(m.Patient.state.in_(scope.awaiting_states), ~decided),
        and_(m.Patient.state == scope.flagged_state, open_flag),
    )


def scope_clause(scope: PatientFilter) -> Any:
    """A WHERE clause on ``patients`` for the reader's scope (None: no restriction)."""
    if scope.site_ids is None:
        return None
    clause = m.Patient.site_id.in_(scope.site_ids)
    if scope.include_awaiting_mdt:
        clause = or_(clause, _awaiting_clause(scope))
    return clause


def assigned_site_ids(session: Session, user_id: int) -> list[int]:
    """Sites a user is assigned to besides the home site (monitors)."""
    return list(
        session.execute(select(m.UserSite.site_id).where(m.UserSite.user_id == user_id)).scalars()
    )


def awaiting_mdt(session: Session, patient_id: int, scope: PatientFilter) -> bool:
    """Whether the patient is awaiting an MDT review (the MDT member's read scope)."""
    stmt = select(m.Patient.id).where(m.Patient.id == patient_id, _awaiting_clause(scope))
    return session.execute(stmt).first() is not None


SORTABLE = {
    "id": m.Patient.id,
    "pseudo_id": m.Patient.pseudo_id,
    "registered_on": m.Patient.registered_on,
    "state": m.Patient.state,
    "site": m.Site.code,
    "arm": m.Patient.arm,
}


def list_patients(
    session: Session,
    scope: PatientFilter,
    *,
    site_id: int | None = None,
    states: Iterable[str] | None = None,
    arm: str | None = None,
    text: str | None = None,
    sort: str = "id",
    descending: bool = False,
    limit: int = 50,
    offset: int = 0,
    reached: Iterable[str] | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """One page of patients (with site code) and the total count matching the filters;
    ``reached``: any of these states ever reached (state history) or ``mdt_reviewed``."""
    stmt = select(m.Patient, m.Site.code).join(m.Site, m.Site.id == m.Patient.site_id)
    where = []
    clause = scope_clause(scope)
    if clause is not None:
        where.append(clause)
    if site_id is not None:
        where.append(m.Patient.site_id == site_id)
    if states:
        where.append(m.Patient.state.in_(list(states)))
    if arm is not None:
        where.append(m.Patient.arm == arm)
    if text:
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(m.Patient.pseudo_id.ilike(f"%{escaped}%", escape="\\"))
    if reached:
        where.append(or_(*_reached_clauses(list(reached))))
    if where:
        stmt = stmt.where(*where)
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    column = SORTABLE[sort]
    order = [column.desc() if descending else column.asc(), m.Patient.id.asc()]
    rows = session.execute(stmt.order_by(*order).limit(limit).offset(offset)).all()
    return [
        {
            "patient_id": patient.id,
            "pseudo_id": patient.pseudo_id,
            "site": code,
            "state": patient.state,
            "arm": patient.arm,
            "registered_on": patient.registered_on.isoformat(),
        }
        for patient, code in rows
    ], int(total)


def _reached_clauses(milestones: list[str]) -> list[Any]:
    """One EXISTS per milestone: a state in the history, or a decided MDT review after
    induction (``purpose == "randomisation"``, as the funnel counts it)."""
    clauses = []
    states = [s for s in milestones if s != "mdt_reviewed"]
    if states:
        clauses.append(
            exists().where(
                m.StateChange.patient_id == m.Patient.id, m.StateChange.to_state.in_(states)
            )
        )
    if "mdt_reviewed" in milestones:
        clauses.append(
            exists().where(
                m.MdtReview.patient_id == m.Patient.id, m.MdtReview.purpose == "randomisation"
            )
        )
    return clauses


def _patient_models() -> list[type]:
    return sorted(
        (
            mapper.class_
            for mapper in m.Base.registry.mappers
            if "patient_id" in mapper.columns and mapper.local_table.name not in HIDDEN_ENTITIES
        ),
        key=lambda model: model.__tablename__,
    )


def _child_models() -> list[tuple[type, str, type]]:
    """(child model, FK column, parent model) for records tied to a patient via a parent."""
    parents = {model.__tablename__: model for model in _patient_models()}
    out = []
    for mapper in m.Base.registry.mappers:
        if "patient_id" in mapper.columns:
            continue
        for column in mapper.columns:
            for fk in column.foreign_keys:
                parent = parents.get(fk.column.table.name)
                if parent is not None:
                    out.append((mapper.class_, column.key, parent))
    return sorted(out, key=lambda item: item[0].__tablename__)


def event_date_column(model: type) -> str | None:
    """The record's own date (the first Date column: screened_on, given_on, ...)."""
    for column in model.__table__.columns:
        if isinstance(column.type, Date):
            return column.key
    return None


@functools.lru_cache(maxsize=64)
def _records_plan(tables: frozenset[str] | None) -> tuple[tuple[type, Any], ...]:
    """The statements of ``patient_records`` for ``tables``, built once: (model, select of
    ``direct.select_columns(model)``), all with the one parameter ``patient_id``. A child
    row is found through its parent's ids in a subquery (the parent table need not be
    among ``tables``)."""
    patient = bindparam("patient_id")
    plan: list[tuple[type, Any]] = [
        (model, direct.select_columns(model).where(model.patient_id == patient))
        for model in _patient_models()
        if tables is None or model.__tablename__ in tables
    ]
    for child, column, parent in _child_models():
        if tables is None or child.__tablename__ in tables:
            parents = select(parent.id).where(parent.patient_id == patient)
            plan.append(
                (child, direct.select_columns(child).where(getattr(child, column).in_(parents)))
            )
    return tuple(plan)


def patient_records(
    session: Session, patient_id: int, tables: Collection[str] | None = None
) -> list[tuple[str, Any]]:
    """Every row tied to the patient (directly or through a parent row) as (table, row);
    only the rows of ``tables`` when given (the edit checks read a few tables, not all 44).

    A patient page reads all of them, twice (timeline and data status): about 50
    statements. They run on the cursor (``direct.load``: the objects the ORM's loader
    gives, without its per-statement cost) and, on PostgreSQL, go to the server in one
    pipeline (``direct.reads_ahead``) instead of one round trip each
    (benchmarks/patient_records.py)."""
    plan = _records_plan(None if tables is None else frozenset(tables))
    params = {"patient_id": patient_id}
    out: list[tuple[str, Any]] = []
    with direct.reads_ahead(session, [(stmt, params) for _, stmt in plan[1:]]):
        for model, stmt in plan:
            name = model.__tablename__
            out.extend((name, row) for row in direct.load(session, model, stmt, params))
    return out


def creation_entries(
    session: Session, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], tuple[str, dt.datetime]]:
    """(entity, id) -> (actor, UTC time) of the audit entry that created each row."""
    keys = list(keys)
    if not keys:
        return {}
    entities = sorted({entity for entity, _ in keys})
    wanted = set(keys)
    stmt = select(
        m.AuditEntry.entity, m.AuditEntry.entity_id, m.AuditEntry.actor, m.AuditEntry.at
    ).where(
        m.AuditEntry.entity.in_(entities),
        m.AuditEntry.entity_id.in_(sorted({entity_id for _, entity_id in keys})),
        m.AuditEntry.action == "create",
    )
    return {
        (row.entity, row.entity_id): (row.actor, row.at)
        for row in session.execute(stmt)
        if (row.entity, row.entity_id) in wanted
    }


def audit_for_keys(
    session: Session, keys: Iterable[tuple[str, str]], *, limit: int, offset: int
) -> tuple[list[m.AuditEntry], int]:
    """Audit entries of the given (entity, id) rows, newest first, paged, with the total."""
    keys = sorted(set(keys))
    if not keys:
        return [], 0
    clause = or_(
        *(
            and_(m.AuditEntry.entity == entity, m.AuditEntry.entity_id.in_(ids))
            for entity, ids in _group(keys).items()
        )
    )
    total = session.execute(
        select(func.count()).select_from(m.AuditEntry).where(clause)
    ).scalar_one()
    stmt = select(m.AuditEntry).where(clause).order_by(m.AuditEntry.seq.desc())
    return list(session.execute(stmt.limit(limit).offset(offset)).scalars()), int(total)


def _group(keys: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for entity, entity_id in keys:
        out.setdefault(entity, []).append(entity_id)
    return out


def audit_page(
    session: Session,
    *,
    entity: str | None,
    entity_id: str | None,
    limit: int,
    offset: int,
    show_hidden: bool = False,
) -> tuple[list[m.AuditEntry], int]:
    """Audit entries (optionally of one table or one row), hidden tables left out unless
    ``show_hidden`` (in-process tools acting as ``system``)."""
    where = [] if show_hidden else [m.AuditEntry.entity.not_in(sorted(HIDDEN_ENTITIES))]
    if entity is not None:
        where.append(m.AuditEntry.entity == entity)
    if entity_id is not None:
        where.append(m.AuditEntry.entity_id == entity_id)
    total = session.execute(
        select(func.count()).select_from(m.AuditEntry).where(*where)
    ).scalar_one()
    stmt = select(m.AuditEntry).where(*where).order_by(m.AuditEntry.seq.desc())
    return list(session.execute(stmt.limit(limit).offset(offset)).scalars()), int(total)


def screening_page(
    session: Session,
    scope: PatientFilter,
    *,
    site_id: int | None,
    verdict: str | None,
    limit: int,
    offset: int,
) -> tuple[list[tuple[m.Screening, m.Patient, str, list[m.ScreeningCriterion]]], int]:
    """Screenings newest first with the patient, site code and criteria not met."""
    stmt = (
        select(m.Screening, m.Patient, m.Site.code)
        .join(m.Patient, m.Patient.id == m.Screening.patient_id)
        .join(m.Site, m.Site.id == m.Patient.site_id)
    )
    where = []
    clause = scope_clause(scope)
    if clause is not None:
        where.append(clause)
    if site_id is not None:
        where.append(m.Patient.site_id == site_id)
    if verdict is not None:
        where.append(m.Screening.verdict == verdict)
    if where:
        stmt = stmt.where(*where)
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(
        stmt.order_by(m.Screening.screened_on.desc(), m.Screening.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    ids = [screening.id for screening, _, _ in rows]
    failed: dict[int, list[m.ScreeningCriterion]] = {}
    if ids:
        crit = select(m.ScreeningCriterion).where(
            m.ScreeningCriterion.screening_id.in_(ids), m.ScreeningCriterion.status != "met"
        )
        for criterion in session.execute(crit.order_by(m.ScreeningCriterion.id)).scalars():
            failed.setdefault(criterion.screening_id, []).append(criterion)
    return [(s, p, code, failed.get(s.id, [])) for s, p, code in rows], int(total)


def reached_counts(session: Session, scope: PatientFilter) -> dict[str, int]:
    """Patients who ever reached each state (from the state history), within the scope."""
    stmt = select(m.StateChange.to_state, func.count(distinct(m.StateChange.patient_id))).join(
        m.Patient, m.Patient.id == m.StateChange.patient_id
    )
    clause = scope_clause(scope)
    if clause is not None:
        stmt = stmt.where(clause)
    return {state: int(n) for state, n in session.execute(stmt.group_by(m.StateChange.to_state))}


def count_patients_with(session: Session, scope: PatientFilter, model: type, *where: Any) -> int:
    """Distinct patients in scope with at least one row of ``model`` (matching ``where``)."""
    stmt = select(func.count(distinct(model.patient_id))).join(
        m.Patient, m.Patient.id == model.patient_id
    )
    clause = scope_clause(scope)
    if clause is not None:
        stmt = stmt.where(clause)
    if where:
        stmt = stmt.where(*where)
    return int(session.execute(stmt).scalar_one())


def arm_counts(session: Session, scope: PatientFilter) -> dict[str, int]:
    """Randomised patients per arm, within the scope."""
    stmt = select(m.Randomisation.arm, func.count()).join(
        m.Patient, m.Patient.id == m.Randomisation.patient_id
    )
    clause = scope_clause(scope)
    if clause is not None:
        stmt = stmt.where(clause)
    return {arm: int(n) for arm, n in session.execute(stmt.group_by(m.Randomisation.arm))}


def registrations(session: Session, scope: PatientFilter) -> list[tuple[str, dt.date]]:
    """(site code, registration date) of every patient in scope (grouped by the caller:
    month arithmetic differs between SQLite and PostgreSQL)."""
    stmt = select(m.Site.code, m.Patient.registered_on).join(m.Site, m.Site.id == m.Patient.site_id)
    clause = scope_clause(scope)
    if clause is not None:
        stmt = stmt.where(clause)
    return [(code, on) for code, on in session.execute(stmt)]


def patients_in_states(
    session: Session, scope: PatientFilter, states: Iterable[str]
) -> list[tuple[m.Patient, str]]:
    """Patients in ``states`` within the scope, with their site code, by id."""
    stmt = (
        select(m.Patient, m.Site.code)
        .join(m.Site, m.Site.id == m.Patient.site_id)
        .where(m.Patient.state.in_(list(states)))
    )
    clause = scope_clause(scope)
    if clause is not None:
        stmt = stmt.where(clause)
    return [(p, code) for p, code in session.execute(stmt.order_by(m.Patient.id))]


def latest_dates(
    session: Session, model: type, date_column: str, patient_ids: list[int], *where: Any
) -> dict[int, dt.date]:
    """patient id -> the newest ``date_column`` of ``model`` (one aggregate query)."""
    if not patient_ids:
        return {}
    column = getattr(model, date_column)
    stmt = select(model.patient_id, func.max(column)).where(
        model.patient_id.in_(patient_ids), *where
    )
    return {
        pid: on for pid, on in session.execute(stmt.group_by(model.patient_id)) if on is not None
    }


def first_state_dates(session: Session, patient_ids: list[int], state: str) -> dict[int, dt.date]:
    """patient id -> the date the patient first entered ``state``."""
    if not patient_ids:
        return {}
    stmt = select(m.StateChange.patient_id, func.min(m.StateChange.on_date)).where(
        m.StateChange.patient_id.in_(patient_ids), m.StateChange.to_state == state
    )
    return {
        pid: on
        for pid, on in session.execute(stmt.group_by(m.StateChange.patient_id))
        if on is not None
    }


def open_flags(
    session: Session, scope: PatientFilter
) -> list[tuple[m.ResectabilityFlag, m.Patient, str]]:
    """Unresolved resectability flags within the scope, oldest first."""
    stmt = (
        select(m.ResectabilityFlag, m.Patient, m.Site.code)
        .join(m.Patient, m.Patient.id == m.ResectabilityFlag.patient_id)
        .join(m.Site, m.Site.id == m.Patient.site_id)
        .where(m.ResectabilityFlag.resolved.is_(False))
    )
    clause = scope_clause(scope)
    if clause is not None:
        stmt = stmt.where(clause)
    return list(
        session.execute(stmt.order_by(m.ResectabilityFlag.flagged_on, m.ResectabilityFlag.id)).all()
    )


def open_ballots(session: Session, patient_ids: list[int]) -> dict[int, list[m.MdtBallot]]:
    """patient id -> ballots cast in an MDT review not yet decided."""
    if not patient_ids:
        return {}
    stmt = select(m.MdtBallot).where(
        m.MdtBallot.patient_id.in_(patient_ids), m.MdtBallot.review_id.is_(None)
    )
    out: dict[int, list[m.MdtBallot]] = {}
    for ballot in session.execute(stmt.order_by(m.MdtBallot.id)).scalars():
        out.setdefault(ballot.patient_id, []).append(ballot)
    return out


def decided_reviews(session: Session, patient_ids: list[int], purpose: str) -> set[int]:
    """Patients with a decided MDT review for ``purpose``."""
    if not patient_ids:
        return set()
    stmt = (
        select(m.MdtReview.patient_id)
        .where(m.MdtReview.patient_id.in_(patient_ids), m.MdtReview.purpose == purpose)
        .distinct()
    )
    return set(session.execute(stmt).scalars())


def users_page(
    session: Session, *, limit: int, offset: int
) -> tuple[list[tuple[m.User, str | None]], int]:
    """Users with their home site code, by username."""
    total = session.execute(select(func.count()).select_from(m.User)).scalar_one()
    stmt = (
        select(m.User, m.Site.code)
        .outerjoin(m.Site, m.Site.id == m.User.site_id)
        .order_by(m.User.username)
        .limit(limit)
        .offset(offset)
    )
    return list(session.execute(stmt).all()), int(total)


def all_sites(session: Session) -> list[m.Site]:
    return list(session.execute(select(m.Site).order_by(m.Site.code)).scalars())


def dose_counts(session: Session, patient_ids: list[int], phase: str) -> dict[int, int]:
    """patient id -> number of distinct cycles with a dose recorded in ``phase``."""
    if not patient_ids:
        return {}
    stmt = select(
        m.DrugAdministration.patient_id, func.count(distinct(m.DrugAdministration.cycle))
    ).where(m.DrugAdministration.patient_id.in_(patient_ids), m.DrugAdministration.phase == phase)
    return {
        pid: int(n) for pid, n in session.execute(stmt.group_by(m.DrugAdministration.patient_id))
    }
