"""Audited writes: every insert or update goes through here, with one audit row each."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from talentop.store.audit import append_audit, snapshot

T = TypeVar("T")

#: ``session.info`` key: ids of the patients whose clinical records this transaction wrote
#: (the API runs the protocol's edit checks on them before committing).
WRITTEN_PATIENTS = "talentop_written_patients"
#: Tables that are about the data (data management, identity), not clinical records.
NOT_CLINICAL = frozenset(
    {
        "corrections",
        "data_queries",
        "query_events",
        "check_findings",
        "verifications",
        "record_locks",
        "signatures",
        "stratification_errors",
        "idempotency_keys",
        "auth_events",
        "auth_sessions",
        "api_tokens",
        "mdt_ballots",
        "user_sites",
        "role_policies",
    }
)


def _note_patient(session: Session, obj: Any) -> None:
    table = getattr(obj, "__tablename__", "")
    if table in NOT_CLINICAL:
        return
    patient_id = obj.id if table == "patients" else getattr(obj, "patient_id", None)
    if patient_id is not None:
        session.info.setdefault(WRITTEN_PATIENTS, set()).add(patient_id)


def _entity_id(obj: Any) -> str:
    identity = inspect(obj).identity
    return ",".join(str(part) for part in identity) if identity else "?"


def insert(session: Session, actor: str, obj: T) -> T:
    """Add ``obj``, flush it (so it has an id) and audit the creation."""
    session.add(obj)
    session.flush()
    append_audit(
        session,
        actor=actor,
        entity=obj.__tablename__,  # type: ignore[attr-defined]
        entity_id=_entity_id(obj),
        action="create",
        before=None,
        after=snapshot(obj),
    )
    _note_patient(session, obj)
    return obj


def update(session: Session, actor: str, obj: T, **changes: Any) -> T:
    """Set attributes on ``obj`` and audit before/after (no row if nothing changed)."""
    before = snapshot(obj)
    for name, value in changes.items():
        if not hasattr(obj, name):
            raise AttributeError(f"{type(obj).__name__} has no column {name!r}")
        setattr(obj, name, value)
    session.flush()
    after = snapshot(obj)
    if after != before:
        append_audit(
            session,
            actor=actor,
            entity=obj.__tablename__,  # type: ignore[attr-defined]
            entity_id=_entity_id(obj),
            action="update",
            before=before,
            after=after,
        )
        _note_patient(session, obj)
    return obj


def insert_audit_only(session: Session, actor: str, obj: Any) -> None:
    """Audit the creation of a row already inserted by a core statement (e.g. upsert)."""
    append_audit(
        session,
        actor=actor,
        entity=obj.__tablename__,
        entity_id=_entity_id(obj),
        action="create",
        before=None,
        after=snapshot(obj),
    )


def delete(session: Session, actor: str, obj: Any) -> None:
    """Delete a row and audit it (before image kept, after None). Only for rows that are
    assignments, not trial records (e.g. a monitor's site assignment)."""
    before = snapshot(obj)
    entity_id = _entity_id(obj)
    session.delete(obj)
    session.flush()
    append_audit(
        session,
        actor=actor,
        entity=obj.__tablename__,
        entity_id=entity_id,
        action="delete",
        before=before,
        after=None,
    )
