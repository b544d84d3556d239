"""Locks: a form, a patient or the whole database (a freeze before an analysis). A locked
record refuses every change with a ``ProtocolViolation`` naming the lock, until a data
manager unlocks it with a reason. Every lock and unlock is audited."""

from __future__ import annotations

from typing import Any, Literal

from talentop.errors import InvalidInput, PermissionDenied
from talentop.services._context import Context, describe_lock, ensure_unlocked
from talentop.services._validate import RecordId, service
from talentop.services.access import read_scope, require_patient
from talentop.services.data.records import load
from talentop.store import dm_queries, writes

__all__ = ["ensure_unlocked", "list_locks", "lock_records", "unlock_records"]
from talentop.store import models as m

describe = describe_lock


def _lock_dict(lock: m.RecordLock) -> dict[str, Any]:
    return {
        "lock_id": lock.id,
        "scope": lock.scope,
        "patient_id": lock.patient_id,
        "entity": lock.entity,
        "entity_id": lock.entity_id,
        "reason": lock.reason,
        "locked_by": lock.locked_by,
        "locked_at": lock.locked_at.isoformat() + "Z",
        "active": lock.active,
        "unlocked_by": lock.unlocked_by,
        "unlock_reason": lock.unlock_reason,
        "description": describe(lock),
    }


@service
def lock_records(
    ctx: Context,
    scope: Literal["record", "patient", "database"],
    *,
    reason: str,
    patient_id: RecordId | None = None,
    entity: str | None = None,
    entity_id: RecordId | None = None,
) -> dict[str, Any]:
    """Lock a form (``entity`` + ``entity_id``), a patient or the whole database."""
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput.field("reason", reason, "why the data are locked (e.g. interim freeze)")
    with ctx.store.unit_of_work() as session:
        if scope == "database":
            who = read_scope(session, ctx, "lock_records")
            if not who.everything:
                raise PermissionDenied(
                    f"lock_records refused: user {who.username!r} may lock only their sites' "
                    "patients; a database freeze needs a data manager of every site or an admin"
                )
            target_patient = None
        elif scope == "patient":
            if patient_id is None:
                raise InvalidInput.field("patient_id", None, "the patient to lock")
            target_patient, _ = require_patient(session, ctx, "lock_records", patient_id)
        else:
            if entity is None or entity_id is None:
                raise InvalidInput.field("entity", entity, "the form (table and id) to lock")
            _, target_patient = load(session, entity, entity_id)
            require_patient(session, ctx, "lock_records", target_patient.id)
        lock = writes.insert(
            session,
            ctx.actor,
            m.RecordLock(
                scope=scope,
                patient_id=None if target_patient is None else target_patient.id,
                entity=entity if scope == "record" else None,
                entity_id=str(entity_id) if scope == "record" else None,
                reason=reason.strip(),
                locked_by=ctx.actor,
                locked_at=ctx.now(),
                active=True,
            ),
        )
        return _lock_dict(lock)


@service
def unlock_records(ctx: Context, lock_id: RecordId, *, reason: str) -> dict[str, Any]:
    """Lift a lock, with the reason (e.g. "query answered after the freeze")."""
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput.field("reason", reason, "why the lock is lifted")
    with ctx.store.unit_of_work() as session:
        from talentop.store import queries

        lock = queries.get(session, m.RecordLock, lock_id, what="lock")
        if lock.patient_id is not None:
            require_patient(session, ctx, "unlock_records", lock.patient_id)
        elif not read_scope(session, ctx, "unlock_records").everything:
            raise PermissionDenied(
                "unlock_records refused: a database freeze is lifted by a data manager of every site or an admin"
            )
        if not lock.active:
            raise InvalidInput.field("lock_id", lock_id, "an active lock")
        writes.update(
            session,
            ctx.actor,
            lock,
            active=False,
            unlocked_by=ctx.actor,
            unlocked_at=ctx.now(),
            unlock_reason=reason.strip(),
        )
        return _lock_dict(lock)


@service
def list_locks(ctx: Context, *, active_only: bool = True) -> list[dict[str, Any]]:
    """Locks (active ones by default) the caller may see."""
    with ctx.store.read_only() as session:
        scope = read_scope(session, ctx, "list_locks")
        rows = dm_queries.locks(session, active_only=active_only)
        if not scope.everything:
            from talentop.services.access import can_read_patient
            from talentop.store import queries

            rows = [
                r
                for r in rows
                if r.patient_id is None
                or can_read_patient(session, scope, queries.get(session, m.Patient, r.patient_id))
            ]
        return [_lock_dict(r) for r in rows]
