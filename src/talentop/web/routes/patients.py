"""Patients: the filterable list, registration, one page per patient (state, arm, timeline,
the next steps this user may take), the printable allocation record and the audit history."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from talentop import services as sv
from talentop.api.deps import PatientId
from talentop.errors import InvalidInput
from talentop.services.data.records import DATA_MANAGEMENT
from talentop.services.states import STATES
from talentop.web.forms import Input, choices, errors_by_field, parse, required_problems
from talentop.web.patient_cards import conduct_cards, data_cards
from talentop.web.session import Page, PageDep, page, see_other
from talentop.web.steps import offered, steps

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 25
#: Milestones the list can filter on (states ever reached, or an MDT decision).
REACHED = (*STATES, "mdt_reviewed")

REGISTER = (
    Input("site_code", "Site", "select", required=True),
    Input(
        "pseudo_id",
        "Pseudonymised patient id",
        required=True,
        hint="the site's study number; never a name",
    ),  # fmt: skip
    Input("registered_on", "Registration date", "date", required=True, hint="year-month-day"),
    Input(
        "sex",
        "Sex",
        "select",
        choices=choices(
            "F", "M", "X", labels={"F": "female", "M": "male", "X": "other / not stated"}
        ),
    ),  # fmt: skip
    Input("birth_year", "Year of birth", "number", hint="e.g. 1961"),
)


@router.get("/patients", response_class=HTMLResponse, **page("GET", "/patients", "list_patients"))
def patient_list(
    page: PageDep,
    site: Annotated[str | None, Query(max_length=32)] = None,
    state: Annotated[list[str] | None, Query(max_length=20)] = None,
    reached: Annotated[list[str] | None, Query(max_length=20)] = None,
    arm: Annotated[str | None, Query(max_length=16)] = None,
    q: Annotated[str | None, Query(max_length=64)] = None,
    p: Annotated[int, Query(ge=1, le=10**6)] = 1,
) -> Response:
    """Filter by site, state(s), milestone reached, arm and pseudo id; 25 per page."""
    site = site or None
    arm = arm or None
    states = [s for s in state or [] if s] or None
    milestones = [r for r in reached or [] if r] or None
    page_ = sv.list_patients(
        page.ctx,
        site=site,
        state=states,
        reached=milestones,
        arm=arm,
        q=q or None,
        limit=PAGE_SIZE,
        offset=(p - 1) * PAGE_SIZE,
    )
    pages = max(1, math.ceil(page_.total / PAGE_SIZE))
    filters = {"site": site or "", "state": states or [], "reached": milestones or [], "arm": arm or "", "q": q or ""}  # fmt: skip
    return page.render(
        "patients.html",
        title="Patients",
        result=page_,
        pages=pages,
        current=p,
        filters=filters,
        query=_query(filters),
        sites=[s["code"] for s in sv.list_sites(page.ctx)],
        states=STATES,
        milestones=REACHED,
        arms=[a.id for a in page.ctx.protocol.arms],
        can_register=_can(page, "register"),
    )


def _query(filters: dict[str, Any]) -> str:
    from urllib.parse import urlencode

    pairs = []
    for key, value in filters.items():
        for item in value if isinstance(value, list) else [value]:
            if item:
                pairs.append((key, item))
    return urlencode(pairs)


def _can(page: Page, action: str) -> bool:
    from talentop.services.permissions import allowed

    return allowed(page.user.role, action)


def _register_form(page: Page, *, status: int = 200, values=None, errors=None, other=None):
    sites = sv.list_sites(page.ctx)
    if page.user.site_id is not None:
        sites = [s for s in sites if s["site_id"] == page.user.site_id]
    inputs = (
        Input(
            "site_code",
            "Site",
            "select",
            choices=tuple((s["code"], f"{s['code']} {s['name']}") for s in sites),
            required=True,
        ),  # fmt: skip
        *REGISTER[1:],
    )
    defaults = {"site_code": sites[0]["code"]} if len(sites) == 1 else {}
    return page.render(
        "form.html",
        status=status,
        title="Register a patient",
        action="/patients/new",
        inputs=inputs,
        values=values or defaults,
        errors=errors or {},
        other=other or [],
        violation=None,
        patient=None,
        submit="Register",
        intro="Registers a patient at your site with a pseudonymised id (state: registered).",
    )


@router.get("/patients/new", response_class=HTMLResponse, **page("GET", "/patients/new", "register_patient"))  # fmt: skip
def register_form(page: PageDep) -> Response:
    return _register_form(page)


@router.post("/patients/new", response_class=HTMLResponse, **page("POST", "/patients/new", "register_patient"))  # fmt: skip
def register(page: PageDep) -> Response:
    values = page.values()
    args = parse(REGISTER, values)
    try:
        problems = required_problems(REGISTER, args)
        if problems:
            raise InvalidInput(problems)
        pid = sv.register_patient(
            page.ctx,
            args["site_code"],
            args["pseudo_id"],
            registered_on=args["registered_on"],
            sex=args["sex"],
            birth_year=args["birth_year"],
        )
    except InvalidInput as error:
        errors, other = errors_by_field(error, {i.name for i in REGISTER})
        return _register_form(page, status=422, values=values, errors=errors, other=other)
    return see_other(f"/patients/{pid}?saved=registered")


def patient_facts(page: Page, patient_id: int) -> dict[str, Any]:
    """Summary, timeline and what the page needs to decide the buttons."""
    summary = sv.patient_summary(page.ctx, patient_id)
    timeline = sv.patient_timeline(page.ctx, patient_id)
    records = timeline["records"]
    patient_row = next(r for r in records if r["kind"] == "patients")
    arm = summary["arm"]
    arm_has_surgery = page.ctx.protocol.arm(arm).includes_surgery if arm else None
    open_flags = [
        r for r in records if r["kind"] == "resectability_flags" and not r["data"].get("resolved")
    ]
    return {
        "patient": summary,
        "records": records,
        "site_id": patient_row["data"]["site_id"],
        "arm_has_surgery": arm_has_surgery,
        "open_flags": open_flags,
    }


@router.get("/patients/{patient_id}", response_class=HTMLResponse, **page("GET", "/patients/{patient_id}", "patient_timeline"))  # fmt: skip
def patient_page(page: PageDep, patient_id: PatientId, saved: Annotated[str | None, Query(max_length=40)] = None) -> Response:  # fmt: skip
    facts = patient_facts(page, patient_id)
    patient = facts["patient"]
    buttons = offered(
        steps(page.ctx.protocol),
        role=page.user.role,
        user_site_id=page.user.site_id,
        patient_site_id=facts["site_id"],
        state=patient["state"],
        arm_has_surgery=facts["arm_has_surgery"],
    )
    if patient["state"] == "randomised" and not facts["open_flags"]:
        buttons = [b for b in buttons if b.service != "cast_mdt_vote"]
    records = facts["records"]
    mdt = _mdt_status(records)
    responses = [r for r in records if r["kind"] == "response_assessments"]
    site_id = facts["site_id"]
    return page.render(
        "patient.html",
        title=f"Patient {patient['pseudo_id']}",
        patient=patient,
        records=[r for r in records if r["kind"] not in HIDDEN_KINDS],
        path_steps=[b for b in buttons if b.group == "path"],
        record_steps=[b for b in buttons if b.group != "path"],
        mdt=mdt,
        responses=responses[-4:],
        saved=saved,
        randomised=patient["arm"] is not None,
        can_audit=_can(page, "read_audit"),
        dm=data_cards(page, patient_id, site_id, records),
        conduct=conduct_cards(page, patient_id, site_id, records),
    )


#: Rows shown inside others (criteria in the screening, measurements in the visit, an SAE's
#: causality and follow-ups in its report) or in cards of their own (data management).
HIDDEN_KINDS = DATA_MANAGEMENT | {
    "screening_criteria",
    "lesion_measurements",
    "sae_causality",
    "sae_follow_ups",
}


def _mdt_status(records: list[dict[str, Any]]) -> dict[str, Any]:
    ballots = [r["data"] for r in records if r["kind"] == "mdt_ballots"]
    reviews = [r["data"] for r in records if r["kind"] == "mdt_reviews"]
    return {"ballots": ballots, "reviews": reviews}


@router.get("/patients/{patient_id}/allocation", response_class=HTMLResponse, **page("GET", "/patients/{patient_id}/allocation", "allocation_record"))  # fmt: skip
def allocation(page: PageDep, patient_id: PatientId) -> Response:
    record = sv.allocation_record(page.ctx, patient_id)
    summary = sv.patient_summary(page.ctx, patient_id)
    return page.render("allocation.html", title="Allocation record", record=record, patient=summary)


@router.get("/patients/{patient_id}/audit", response_class=HTMLResponse, **page("GET", "/patients/{patient_id}/audit", "audit_entries"))  # fmt: skip
def audit(
    page: PageDep, patient_id: PatientId, p: Annotated[int, Query(ge=1, le=10**6)] = 1
) -> Response:
    """Every audit entry of the patient's records, newest first: who, what, when, old and
    new value (the monitor's source-data view)."""
    history = sv.audit_history(
        page.ctx, patient_id=patient_id, limit=PAGE_SIZE * 2, offset=(p - 1) * PAGE_SIZE * 2
    )
    summary = sv.patient_summary(page.ctx, patient_id)
    entries = [dict(e, changes=_changes(e)) for e in history.items]
    return page.render(
        "audit.html",
        title=f"Audit history of {summary['pseudo_id']}",
        patient=summary,
        entries=entries,
        total=history.total,
        current=p,
        pages=max(1, math.ceil(history.total / (PAGE_SIZE * 2))),
    )


def _changes(entry: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(column, old, new) of every column that changed (all columns of a created row)."""
    before = entry.get("before") or {}
    after = entry.get("after") or {}
    keys = sorted(set(before) | set(after))
    return [(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)]
