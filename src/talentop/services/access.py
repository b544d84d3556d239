"""Read access: which patients the acting user may see, and what of them.

Every read service starts with ``read_scope`` (the role must grant the read's action in
``permissions.ROLE_ACTIONS``), then filters by the scope (``ReadScope.sites`` etc.) or checks
one patient with ``require_patient``. The rules are ``permissions.READ_SCOPE``: site staff
see their site, monitors their assigned sites, MDT members the patients awaiting a review
(any site), statisticians every site pseudonymised (no free text), admins everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from talentop.errors import PermissionDenied
from talentop.services._context import Context
from talentop.services.permissions import (
    PSEUDONYMISED_ROLES,
    READ_SCOPE,
    SERVICE_ACTIONS,
    authorise,
)
from talentop.services.states import ASSESSED, RANDOMISED
from talentop.store import models as m
from talentop.store import queries, read_queries

#: Free-text columns a pseudonymised reader never gets (names, notes, reasons can identify).
FREE_TEXT = frozenset(
    {
        "reason",
        "note",
        "description",
        "findings",
        "cause",
        "detail",
        "storage_code",
        "full_name",
        "narrative",
        "obtained_by",
        "witness",
        "corrective_action",
        "preventive_action",
        "decided_by",
        "indication",
    }
)


@dataclass(frozen=True)
class ReadScope:
    """What one caller may read. ``sites`` None means every site; ``mdt`` adds the
    patients awaiting an MDT review at any site; ``pseudonymised`` drops free text."""

    username: str
    role: str | None
    sites: frozenset[int] | None
    mdt: bool = False
    pseudonymised: bool = False

    @property
    def everything(self) -> bool:
        return self.sites is None

    def sql_filter(self) -> read_queries.PatientFilter:
        """The scope as a filter the read queries apply in SQL."""
        return read_queries.PatientFilter(
            site_ids=None if self.sites is None else tuple(sorted(self.sites)),
            include_awaiting_mdt=self.mdt,
            awaiting_states=(ASSESSED,),
            flagged_state=RANDOMISED,
        )


def read_scope(session: Any, ctx: Context, service: str) -> ReadScope:
    """The acting user's scope for the read ``service`` (``PermissionDenied`` if the role
    does not grant the service's action)."""
    user = authorise(session, ctx.actor, service)
    if user is None:  # system: in-process bootstrap and analysis
        return ReadScope(ctx.actor, None, None)
    kind = READ_SCOPE.get(user.role, "site")
    pseudonymised = user.role in PSEUDONYMISED_ROLES
    if kind == "all":
        return ReadScope(user.username, user.role, None, pseudonymised=pseudonymised)
    home = frozenset() if user.site_id is None else frozenset({user.site_id})
    if kind == "assigned":
        return ReadScope(
            user.username,
            user.role,
            home | frozenset(read_queries.assigned_site_ids(session, user.id)),
            pseudonymised=pseudonymised,
        )
    if kind == "mdt":
        return ReadScope(user.username, user.role, home, mdt=True, pseudonymised=pseudonymised)
    # "site": a site user sees their site; a user without a site (e.g. a central data
    # manager or surgeon) sees every site.
    sites = None if user.site_id is None else home
    return ReadScope(user.username, user.role, sites, pseudonymised=pseudonymised)


def can_read_patient(session: Any, scope: ReadScope, patient: m.Patient) -> bool:
    """Whether ``scope`` covers ``patient``."""
    if scope.sites is None or patient.site_id in scope.sites:
        return True
    return scope.mdt and read_queries.awaiting_mdt(session, patient.id, scope.sql_filter())


def require_patient(session: Any, ctx: Context, service: str, patient_id: Any) -> tuple:
    """The patient and the caller's scope, or ``PermissionDenied`` (other site) /
    ``NotFound`` (no such patient; told only to callers who may read every site)."""
    scope = read_scope(session, ctx, service)
    patient = queries.get(session, m.Patient, patient_id, what="patient")
    if not can_read_patient(session, scope, patient):
        raise PermissionDenied(
            f"{service} refused: user {scope.username!r} ({scope.role}) may not read patient "
            f"{patient.id}, who belongs to another site"
            + (" and is not awaiting an MDT review" if scope.mdt else "")
        )
    return patient, scope


def require_site(session: Any, scope: ReadScope, service: str, site_id: int) -> None:
    """Refuse a site-filtered read of a site outside the scope."""
    if scope.sites is not None and site_id not in scope.sites and not scope.mdt:
        site = queries.get(session, m.Site, site_id)
        raise PermissionDenied(
            f"{service} refused: user {scope.username!r} ({scope.role}) may not read site "
            f"{site.code!r}"
        )


def redact(scope: ReadScope, record: dict[str, Any]) -> dict[str, Any]:
    """The record as the scope may see it: free text removed for pseudonymised readers."""
    if not scope.pseudonymised:
        return record
    return {key: value for key, value in record.items() if key not in FREE_TEXT}


def is_read(service: str) -> bool:
    """Whether ``service`` is a read (its action is a read action)."""
    from talentop.services.permissions import READ_ACTIONS

    return SERVICE_ACTIONS.get(service) in READ_ACTIONS
