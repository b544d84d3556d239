"""Sites, users and patient registration (the first arrow: -> registered)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from talentop.errors import InvalidInput, NotFound
from talentop.services._context import Context, check_actor, ensure_unlocked, event_date
from talentop.services._validate import RecordId, service
from talentop.services.access import require_patient
from talentop.services.permissions import RESERVED_NAMES, ROLES
from talentop.services.states import REGISTERED
from talentop.store import models as m
from talentop.store import queries, writes

#: Usernames: what a login form and an audit row can carry unambiguously.
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@service
def create_site(ctx: Context, code: str, name: str, *, country: str | None = None) -> int:
    """Create a recruiting site; ``code`` is unique (e.g. "SH01")."""
    if not isinstance(code, str) or not code.strip() or len(code) > 32:
        raise InvalidInput.field("code", code, "a non-empty site code of at most 32 characters")
    with ctx.store.unit_of_work() as session:
        check_actor(session, ctx, "create_site")
        if queries.site_by_code(session, code) is not None:
            raise InvalidInput.field("code", code, "a site code not already used")
        site = writes.insert(session, ctx.actor, m.Site(code=code, name=name, country=country))
        return site.id


@service
def create_user(
    ctx: Context,
    username: str,
    role: str,
    *,
    site_code: str | None = None,
    full_name: str | None = None,
    specialty: str | None = None,
) -> int:
    """Create a user with a role (one of ``ROLES``), optionally tied to a site."""
    problems = []
    if not isinstance(username, str) or not USERNAME.fullmatch(username):
        problems.append(
            f"username={username!r}: expected 1-64 characters: letters, digits, '.', '_', '-'"
        )
    elif username.lower() in RESERVED_NAMES:
        problems.append(f"username={username!r}: expected a name that is not reserved")
    if role not in ROLES:
        problems.append(f"role={role!r}: expected one of {list(ROLES)}")
    if problems:
        raise InvalidInput(problems)
    with ctx.store.unit_of_work() as session:
        check_actor(session, ctx, "create_user")
        if queries.user_by_name(session, username) is not None:
            raise InvalidInput.field("username", username, "a username not already used")
        site_id = None
        if site_code is not None:
            site = queries.site_by_code(session, site_code)
            if site is None:
                raise NotFound(f"site_code: no site {site_code!r}")
            site_id = site.id
        user = m.User(
            username=username, role=role, site_id=site_id, full_name=full_name, specialty=specialty
        )
        return writes.insert(session, ctx.actor, user).id


@service
def register_patient(
    ctx: Context,
    site_code: str,
    pseudo_id: str,
    *,
    registered_on: dt.date | str,
    sex: str | None = None,
    birth_year: int | None = None,
) -> int:
    """Register a patient by pseudonymised id (unique per site) -> state ``registered``."""
    registered = event_date(ctx, "registered_on", registered_on)
    if not isinstance(pseudo_id, str) or not pseudo_id.strip() or len(pseudo_id) > 64:
        raise InvalidInput.field("pseudo_id", pseudo_id, "1-64 characters (no real name)")
    if sex is not None and sex not in ("F", "M", "X"):
        raise InvalidInput.field("sex", sex, "F, M or X")
    if birth_year is not None and not (1900 <= birth_year <= registered.year):
        raise InvalidInput.field("birth_year", birth_year, f"1900..{registered.year}")
    with ctx.store.unit_of_work() as session:
        site = queries.site_by_code(session, site_code)
        if site is None:
            raise NotFound(f"site_code: no site {site_code!r}")
        check_actor(session, ctx, "register_patient", site_id=site.id)
        ensure_unlocked(session, None)  # a database freeze refuses new patients too
        if queries.patient_by_pseudo_id(session, site.id, pseudo_id) is not None:
            raise InvalidInput.field(
                "pseudo_id", pseudo_id, f"an id not yet used at site {site_code}"
            )
        patient = writes.insert(
            session,
            ctx.actor,
            m.Patient(
                site_id=site.id,
                pseudo_id=pseudo_id,
                sex=sex,
                birth_year=birth_year,
                registered_on=registered,
                state=REGISTERED,
            ),
        )
        writes.insert(
            session,
            ctx.actor,
            m.StateChange(
                patient_id=patient.id,
                from_state=None,
                to_state=REGISTERED,
                on_date=registered,
                actor=ctx.actor,
            ),
        )
        return patient.id


@service
def patient_summary(ctx: Context, patient_id: RecordId) -> dict[str, Any]:
    """State, arm, site and the state history of one patient (never an upcoming allocation)."""
    with ctx.store.read_only() as session:
        patient, scope = require_patient(session, ctx, "patient_summary", patient_id)
        site = queries.get(session, m.Site, patient.site_id)
        history = queries.rows_for(session, m.StateChange, patient_id)
        return {
            "patient_id": patient.id,
            "pseudo_id": patient.pseudo_id,
            "site": site.code,
            "state": patient.state,
            "arm": patient.arm,
            "history": [
                {
                    "from": h.from_state,
                    "to": h.to_state,
                    "date": h.on_date.isoformat() if h.on_date else None,
                    **({} if scope.pseudonymised else {"reason": h.reason}),
                    "by": h.actor,
                }
                for h in history
            ],
        }
