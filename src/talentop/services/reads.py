"""Read services: patients (filtered, sorted, paged), one patient's timeline, the screening
log, sites and users. Every call checks the acting user's read scope (``access``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import Field

from talentop.errors import InvalidInput, NotFound
from talentop.services._context import Context
from talentop.services._validate import RecordId, service
from talentop.services.access import read_scope, redact, require_patient, require_site
from talentop.services.randomise import allocation_document
from talentop.services.states import STATES
from talentop.store import models as m
from talentop.store import queries, read_queries
from talentop.store.audit import snapshot

#: Largest page a caller may ask for.
MAX_LIMIT = 500
Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT)]
Offset = Annotated[int, Field(ge=0, le=10**9)]
SortKey = Literal["id", "pseudo_id", "registered_on", "state", "site", "arm"]
#: What ``list_patients(reached=...)`` filters on: a state ever reached, or an MDT decision
#: on resectability after induction (as ``consort_funnel`` counts them).
MILESTONES = (*STATES, "mdt_reviewed")


@dataclass(frozen=True)
class Page:
    """One page of a list: ``items``, the ``total`` matching the filters, ``limit``, ``offset``."""

    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "total": self.total,
            "limit": self.limit,
            "offset": self.offset,
            **self.extra,
        }


def _site_id(session: Any, code: str | None) -> int | None:
    if code is None:
        return None
    site = queries.site_by_code(session, code)
    if site is None:
        raise NotFound(f"site: no site {code!r}")
    return site.id


@service
def list_patients(
    ctx: Context,
    *,
    site: str | None = None,
    state: list[str] | str | None = None,
    arm: str | None = None,
    q: Annotated[str, Field(max_length=64)] | None = None,
    sort: SortKey = "id",
    descending: bool = False,
    limit: Limit = 50,
    offset: Offset = 0,
    reached: list[str] | str | None = None,
) -> Page:
    """Patients the caller may read, filtered by site code, state(s), arm, a text that
    the pseudo id contains and ``reached`` (any of these milestones ever reached: a state
    of the path, or ``mdt_reviewed``; the lists behind the CONSORT funnel's numbers);
    sorted by ``sort``; one page with the total count."""
    states = [state] if isinstance(state, str) else state
    unknown = [s for s in states or () if s not in STATES]
    if unknown:
        raise InvalidInput.field("state", unknown, f"states among {list(STATES)}")
    milestones = [reached] if isinstance(reached, str) else reached
    unknown = [s for s in milestones or () if s not in MILESTONES]
    if unknown:
        raise InvalidInput.field("reached", unknown, f"milestones among {list(MILESTONES)}")
    with ctx.store.read_only() as session:
        scope = read_scope(session, ctx, "list_patients")
        site_id = _site_id(session, site)
        if site_id is not None:
            require_site(session, scope, "list_patients", site_id)
        items, total = read_queries.list_patients(
            session,
            scope.sql_filter(),
            site_id=site_id,
            states=states,
            arm=arm,
            text=q,
            reached=milestones,
            sort=sort,
            descending=descending,
            limit=limit,
            offset=offset,
        )
        return Page(items, total, limit, offset)


def _record(scope: Any, table: str, row: Any, who: tuple[str, dt.datetime] | None) -> dict:
    data = redact(scope, snapshot(row))
    date_column = read_queries.event_date_column(type(row))
    return {
        "kind": table,
        "id": data.get("id", getattr(row, "id", None)),
        "date": data.get(date_column) if date_column else None,
        "entered_by": who[0] if who else None,
        "entered_at": who[1].isoformat() if who else None,
        "data": data,
    }


#: Records dated by the record they belong to: a response assessment by its visit. (Its
#: only date column, ``progression_date``, is when the disease progressed, empty until it
#: does, and may be an earlier scan's date; read as the record's date it put every
#: response first on the timeline, and the patient page showed "None" for its visit.)
_DATED_BY_PARENT = {"response_assessments": ("visit_id", "assessment_visits")}


def _date_by_parent(records: list[dict]) -> None:
    for kind, (key, parent) in _DATED_BY_PARENT.items():
        dates = {r["id"]: r["date"] for r in records if r["kind"] == parent}
        for record in records:
            if record["kind"] == kind:
                record["date"] = dates.get(record["data"].get(key))


@service
def patient_timeline(ctx: Context, patient_id: RecordId) -> dict[str, Any]:
    """Every record of one patient (registration, screening and its criteria, labs, imaging,
    lesions, doses, assessments and responses, MDT reviews and votes, randomisation,
    surgery, safety, follow-up) with who entered it and when (UTC, from the audit trail),
    oldest first by the record's own date."""
    with ctx.store.read_only() as session:
        patient, scope = require_patient(session, ctx, "patient_timeline", patient_id)
        site = queries.get(session, m.Site, patient.site_id)
        rows = [("patients", patient), *read_queries.patient_records(session, patient.id)]
        keys = [(table, str(row.id)) for table, row in rows]
        who = read_queries.creation_entries(session, keys)
        records = [_record(scope, table, row, who.get((table, str(row.id)))) for table, row in rows]
        _date_by_parent(records)
        records.sort(key=lambda r: (r["date"] or "", r["entered_at"] or "", r["kind"], r["id"]))
        return {
            "patient_id": patient.id,
            "pseudo_id": patient.pseudo_id,
            "site": site.code,
            "state": patient.state,
            "arm": patient.arm,
            "records": records,
        }


@service
def screening_log(
    ctx: Context,
    *,
    site: str | None = None,
    verdict: Literal["eligible", "ineligible"] | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page:
    """Screenings newest first: patient, site, date, verdict and every criterion not met
    with its reason (the screening log a site keeps for the CONSORT diagram)."""
    with ctx.store.read_only() as session:
        scope = read_scope(session, ctx, "screening_log")
        site_id = _site_id(session, site)
        if site_id is not None:
            require_site(session, scope, "screening_log", site_id)
        rows, total = read_queries.screening_page(
            session,
            scope.sql_filter(),
            site_id=site_id,
            verdict=verdict,
            limit=limit,
            offset=offset,
        )
        items = [
            {
                "screening_id": screening.id,
                "patient_id": patient.id,
                "pseudo_id": patient.pseudo_id,
                "site": code,
                "screened_on": screening.screened_on.isoformat(),
                "verdict": screening.verdict,
                "protocol": f"{screening.protocol_id} v{screening.protocol_version}",
                "failed": [
                    redact(
                        scope, {"criterion": c.criterion_id, "status": c.status, "reason": c.reason}
                    )
                    for c in failed
                ],
            }
            for screening, patient, code, failed in rows
        ]
        return Page(items, total, limit, offset)


@service
def list_sites(ctx: Context) -> list[dict[str, Any]]:
    """Every recruiting site (code, name, country): any signed-in user may list them."""
    with ctx.store.read_only() as session:
        read_scope(session, ctx, "list_sites")
        return [
            {"site_id": s.id, "code": s.code, "name": s.name, "country": s.country}
            for s in read_queries.all_sites(session)
        ]


@service
def list_users(ctx: Context, *, limit: Limit = 100, offset: Offset = 0) -> Page:
    """Users with role, site, active flag and TOTP status (never a credential)."""
    with ctx.store.read_only() as session:
        read_scope(session, ctx, "list_users")
        rows, total = read_queries.users_page(session, limit=limit, offset=offset)
        assigned = {user.id: read_queries.assigned_site_ids(session, user.id) for user, _ in rows}
        codes = {s.id: s.code for s in read_queries.all_sites(session)}
        items = [
            {
                "user_id": user.id,
                "username": user.username,
                "full_name": user.full_name,
                "role": user.role,
                "specialty": user.specialty,
                "site": code,
                "assigned_sites": sorted(codes[i] for i in assigned[user.id]),
                "active": user.active,
                "totp_enabled": user.totp_enabled,
                "can_log_in": user.password_hash is not None,
            }
            for user, code in rows
        ]
        return Page(items, total, limit, offset)


@service
def allocation_record(ctx: Context, patient_id: RecordId) -> dict[str, Any]:
    """The printable allocation record of a randomised patient: allocation number, arm,
    stratum and its values, date, who randomised (``NotFound`` before randomisation). Never
    anything about the next allocation."""
    with ctx.store.read_only() as session:
        patient, _ = require_patient(session, ctx, "allocation_record", patient_id)
        row = queries.latest(session, m.Randomisation, patient.id, m.Randomisation.randomised_on)
        if row is None:
            raise NotFound(f"randomisation: patient {patient_id} is not randomised")
        site = queries.get(session, m.Site, patient.site_id)
        return allocation_document(ctx, patient, row, site.code)
