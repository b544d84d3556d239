"""What every service call gets: the store, the protocol, who is acting; shared helpers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from talentop.errors import InvalidInput, NotFound, ProtocolViolation
from talentop.protocol import Protocol
from talentop.services.states import DIED, require
from talentop.store import Store, queries, writes
from talentop.store import models as m
from talentop.store.audit import lock_chain_head


@dataclass(frozen=True)
class Context:
    """A service caller: ``store`` (database), ``protocol`` (rules), ``actor`` (username)."""

    store: Store
    protocol: Protocol
    actor: str


def as_date(field: str, value: Any) -> dt.date:
    """A date from a ``date`` or ISO string, else ``InvalidInput`` naming the field."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise InvalidInput.field(field, value, "a date (YYYY-MM-DD)")


def check_actor(session: Any, ctx: Context) -> m.User | None:
    """The acting user; ``system`` is allowed without a user row (bootstrap, imports)."""
    if ctx.actor == "system":
        return None
    user = queries.user_by_name(session, ctx.actor)
    if user is None:
        raise NotFound(f"actor: no user named {ctx.actor!r}; create it with create_user first")
    return user


def enter(session: Any, ctx: Context, arrow: str, patient_id: int) -> m.Patient:
    """Lock the patient, check the acting user and that ``arrow`` is allowed from its state."""
    lock_chain_head(session)
    check_actor(session, ctx)
    patient = queries.lock_patient(session, patient_id)
    require(arrow, patient.state, patient=patient_id)
    return patient


def transition(
    session: Any,
    ctx: Context,
    patient: m.Patient,
    to_state: str,
    *,
    on_date: dt.date | None,
    reason: str | None = None,
    **changes: Any,
) -> None:
    """Move the patient to ``to_state`` (audited) and append to the state history."""
    writes.insert(
        session,
        ctx.actor,
        m.StateChange(
            patient_id=patient.id,
            from_state=patient.state,
            to_state=to_state,
            on_date=on_date,
            reason=reason,
            actor=ctx.actor,
        ),
    )
    writes.update(session, ctx.actor, patient, state=to_state, **changes)


def not_before(field: str, value: dt.date, earlier: dt.date | None, what: str) -> None:
    """Refuse a date earlier than a date already on record (e.g. a dose before registration)."""
    if earlier is not None and value < earlier:
        raise InvalidInput.field(field, value.isoformat(), f"on or after {what} ({earlier})")


def violation(message: str, *, state: str, rule: str) -> ProtocolViolation:
    """A ``ProtocolViolation`` whose message names the state and the rule."""
    return ProtocolViolation(f"{message} (state '{state}'; rule: {rule})", state=state, rule=rule)


def enter_any(session: Any, ctx: Context, patient_id: int) -> m.Patient:
    """Lock a living patient for a record allowed in any state but ``died`` (labs, AEs...)."""
    lock_chain_head(session)
    check_actor(session, ctx)
    patient = queries.lock_patient(session, patient_id)
    if patient.state == DIED:
        raise violation(
            f"patient {patient_id} has died; no new clinical records",
            state=DIED,
            rule="records after death are refused",
        )
    return patient
