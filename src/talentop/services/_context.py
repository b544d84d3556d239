"""What every service call gets: the store, the protocol, who is acting; shared helpers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from talentop.errors import InvalidInput, ProtocolViolation
from talentop.protocol import Protocol
from talentop.services.consent_rules import require_consent
from talentop.services.permissions import UNREAD, authorise
from talentop.services.states import DIED, RETROSPECTIVE_RECORDS, require
from talentop.store import Store, dm_queries, path_queries, queries, writes
from talentop.store import models as m
from talentop.store.models import utcnow


@dataclass(frozen=True)
class Principal:
    """An authenticated user, as a login, a session or an API token established it
    (``talentop.services.identity``). ``via`` says how: "session" | "token" | "password"."""

    user_id: int
    username: str
    role: str
    site_id: int | None
    via: str
    credential_id: int | None = None


@dataclass(frozen=True)
class Context:
    """A service caller: ``store`` (database), ``protocol`` (rules), ``actor`` (username).

    Network faces (REST API, web pages) build it only with ``Context.authenticated`` from a
    ``Principal`` that a password, session or token check produced, so no request can act as
    someone else or as ``system`` (a reserved name no account can take). In-process code
    (the CLI's bootstrap, the demo, imports, tests) may name an ``actor`` directly; the
    services still check that user's role, site and active flag on every call.

    Event dates after ``today()`` are refused (a registration dated 2099 is a typo) unless
    ``allow_future_dates`` (simulations whose calendar runs past the real date). ``today``
    and ``now`` (UTC, for session time-outs) are injectable for tests.
    """

    store: Store
    protocol: Protocol
    actor: str
    allow_future_dates: bool = False
    today: Callable[[], dt.date] = dt.date.today
    principal: Principal | None = None
    now: Callable[[], dt.datetime] = utcnow
    #: What a save does with new edit-check findings (``talentop.services.data.checks``):
    #: "query" (open queries, or acknowledge with ``check_comment``), "warn" (refuse the
    #: save unless ``check_comment`` is given), "off".
    edit_checks: str = "query"
    check_comment: str | None = None

    @classmethod
    def authenticated(
        cls, store: Store, protocol: Protocol, principal: Principal, **options: Any
    ) -> Context:
        """The context of an authenticated request: the actor is the principal's username."""
        return cls(store, protocol, principal.username, principal=principal, **options)


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


def event_date(ctx: Context, field: str, value: Any) -> dt.date:
    """An event's date (``as_date``), refused with ``InvalidInput`` if after today unless
    ``ctx.allow_future_dates``: nothing can have happened yet on a later day."""
    on = as_date(field, value)
    if not ctx.allow_future_dates:
        today = ctx.today()
        if on > today:
            raise InvalidInput.field(field, on.isoformat(), f"a date on or before today ({today})")
    return on


def check_actor(
    session: Any, ctx: Context, service: str, *, site_id: int | None = None, known: Any = UNREAD
) -> m.User | None:
    """The acting user, allowed to call ``service`` (``permissions``: role and site);
    ``system`` is allowed everything without a user row (bootstrap, imports). ``known``:
    the user row if already read in this transaction."""
    return authorise(session, ctx.actor, service, site_id=site_id, known=known)


def enter(
    session: Any,
    ctx: Context,
    arrow: str,
    patient_id: int,
    *,
    on: dt.date | None = None,
    field: str = "date",
) -> m.Patient:
    """Lock the patient, check the acting user (role, site), that no data lock covers the
    patient and that ``arrow`` is allowed from the patient's state. ``arrow`` is the service
    call's name. The patient row and the lock check are one statement
    (``path_queries.patient_for_write``); the lock is described only when there is one.

    A died patient: a ``RETROSPECTIVE_RECORDS`` call dated ``on`` on or before the death is
    checked against the state on that date (``state_on``); a later date is refused
    (``died_check``). Every other arrow is refused in ``died``. Then the consent gate
    (``consent_rules.require_consent``): no record before consent or of a withdrawn scope.
    """
    patient, locked, user = path_queries.patient_for_write(session, patient_id, ctx.actor)
    check_actor(session, ctx, arrow, site_id=patient.site_id, known=user)
    if locked:
        ensure_unlocked(session, patient.id)
    state = patient.state
    if state == DIED and arrow in RETROSPECTIVE_RECORDS and on is not None:
        died_check(session, patient, on, field)
        state = state_on(session, patient, on)
    require(arrow, state, patient=patient_id)
    require_consent(session, patient, arrow, on)
    return patient


def describe_lock(lock: m.RecordLock, session: Any = None) -> str:
    """A lock in words: what it covers (a patient by pseudo id when ``session`` is given),
    who set it and why; its id is what ``unlock`` takes."""
    patient = f"patient {lock.patient_id}"
    if session is not None and lock.patient_id is not None:
        found = queries.get(session, m.Patient, lock.patient_id)
        if found is not None:
            patient = f"patient {found.pseudo_id} (id {lock.patient_id})"
    where = {
        "database": "the whole database",
        "patient": patient,
        "record": f"{lock.entity} {lock.entity_id} of {patient}",
    }[lock.scope]
    return f"lock {lock.id} on {where} by {lock.locked_by} ({lock.reason})"


def ensure_unlocked(
    session: Any, patient_id: int | None, entity: str | None = None, entity_id: str | None = None
) -> None:
    """``ProtocolViolation`` naming the lock if the database, the patient or the record is
    locked (``talentop.services.data.locks``): locked data refuse every change."""
    found = dm_queries.active_locks(session, patient_id, entity, entity_id)
    if found:
        described = describe_lock(found[0], session)
        raise ProtocolViolation(
            f"refused: {described}; a data manager must unlock it with a reason first",
            state="locked",
            rule=described,
        )


def died_check(session: Any, patient: m.Patient, on: dt.date, field: str) -> None:
    """Refuse (``InvalidInput``) a fact dated after the patient's recorded death."""
    death = queries.latest(session, m.Death, patient.id, m.Death.death_date)
    if death is not None and on > death.death_date:
        raise InvalidInput.field(
            field,
            on.isoformat(),
            f"on or before the recorded death date ({death.death_date.isoformat()})",
        )


def state_on(session: Any, patient: m.Patient, on: dt.date) -> str:
    """The state the patient was in on ``on`` (before a death on that day), from the
    state history: steps are dated forward in time (``transition``), so the last step
    dated on or before ``on`` is the state then."""
    if patient.state != DIED:
        return patient.state
    steps = path_queries.state_steps(session, patient.id)
    state = steps[0][0] if steps else patient.state
    for to_state, on_date in steps:
        if to_state == DIED:
            break
        if on_date is not None and on_date <= on:
            state = to_state
    return state


def transition(session: Any, ctx: Context, patient: m.Patient, to_state: str, **how: Any) -> None:
    """Move the patient to ``to_state`` (audited) and append to the state history;
    ``how``: ``transition_ops``'s keywords (``on_date``, ``reason``, ``previous``, and
    columns of the patient to change with the state). Both rows are written together (one
    statement on PostgreSQL: ``writes.write_together``)."""
    ops = transition_ops(session, ctx, patient, to_state, **how)
    writes.write_together(session, ctx.actor, ops)


def transition_ops(
    session: Any,
    ctx: Context,
    patient: m.Patient,
    to_state: str,
    *,
    on_date: dt.date | None,
    reason: str | None = None,
    previous: Any = UNREAD,
    **changes: Any,
) -> list[tuple[Any, ...]]:
    """The checks of a move to ``to_state``, and its writes as ``writes.write_together``
    ops (the state-history row, then the patient's update with ``changes``), for
    ``transition`` or a caller that writes more with them.

    The path runs forward in time: a step dated before the patient's previous step is
    refused (``InvalidInput``), so the history can never say e.g. randomised before assessed.
    ``previous``: the latest step (state, date) or None, if the caller read it already."""
    if previous is UNREAD:
        previous = path_queries.last_step(session, patient.id)
    if on_date is not None and previous is not None and previous[1] is not None:
        not_before(
            f"{to_state} date",
            on_date,
            previous[1],
            f"the previous step '{previous[0]}'",
        )
    step = m.StateChange(
        patient_id=patient.id,
        from_state=patient.state,
        to_state=to_state,
        on_date=on_date,
        reason=reason,
        actor=ctx.actor,
    )
    return [("insert", step), ("update", patient, {"state": to_state, **changes})]


def not_before(field: str, value: dt.date, earlier: dt.date | None, what: str) -> None:
    """Refuse a date earlier than a date already on record (e.g. a dose before registration)."""
    if earlier is not None and value < earlier:
        raise InvalidInput.field(field, value.isoformat(), f"on or after {what} ({earlier})")


def violation(message: str, *, state: str, rule: str) -> ProtocolViolation:
    """A ``ProtocolViolation`` whose message names the state and the rule."""
    return ProtocolViolation(f"{message} (state '{state}'; rule: {rule})", state=state, rule=rule)


def enter_any(
    session: Any,
    ctx: Context,
    patient_id: int,
    service: str,
    *,
    on: dt.date | None = None,
    field: str = "date",
) -> m.Patient:
    """Lock a patient for a record allowed in any state but ``died`` (labs, AEs...);
    the acting user must be allowed to call ``service`` for the patient's site. In
    ``died``, a ``RETROSPECTIVE_RECORDS`` service dated ``on`` on or before the death is
    allowed (late data entry), a later date is ``InvalidInput``."""
    patient, locked, user = path_queries.patient_for_write(session, patient_id, ctx.actor)
    check_actor(session, ctx, service, site_id=patient.site_id, known=user)
    if locked:
        ensure_unlocked(session, patient.id)
    if patient.state == DIED:
        if service in RETROSPECTIVE_RECORDS and on is not None:
            died_check(session, patient, on, field)
            require_consent(session, patient, service, on)
            return patient
        raise violation(
            f"patient {patient_id} has died; no new clinical records",
            state=DIED,
            rule="records after death are refused",
        )
    require_consent(session, patient, service, on)
    return patient
