"""Data queries (``services.data.clarification``): the list (filter by state, site, patient;
counts by state, site and age), one query with its history, and its cycle: the site
answers (with or without a correction of the field, re-derived like any correction), the
monitor or data manager who raised it closes or re-opens it."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from talentop import services as sv
from talentop.api.deps import PatientId, RowId
from talentop.errors import InvalidInput, NotFound
from talentop.services.permissions import SERVICE_ACTIONS, allowed
from talentop.web.forms import Input
from talentop.web.records import CATEGORY_INPUT, may_correct
from talentop.web.routes.records import correction_aliases, correction_value
from talentop.web.session import Page, PageDep, page, see_other
from talentop.web.steps import may_write
from talentop.web.submit import Refused, attempt

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
STATES = ("open", "answered", "closed")

ANSWER_INPUTS = (
    Input(
        "answer", "Your answer", "textarea", required=True, hint="what the source document says"
    ),  # fmt: skip
    Input(
        "value",
        "Corrected value",
        hint="only if the value was wrong; empty: answer without a correction",
    ),  # fmt: skip
    CATEGORY_INPUT,
)
CLOSE_INPUTS = (Input("close_note", "Note on closing", "textarea", hint="e.g. resolved: corrected on source"),)  # fmt: skip
REOPEN_INPUTS = (Input("reopen_note", "Why the query is re-opened", "textarea", required=True),)
#: What a finished step says on the query page (``?done=``).
DONE = {"raised": "Query raised.", "closed": "Query closed.", "reopened": "Query re-opened."}


@router.get("/queries", response_class=HTMLResponse, **page("GET", "/queries", "list_queries"))
def query_list(
    page: PageDep,
    state: Annotated[str | None, Query(max_length=16)] = None,
    site: Annotated[str | None, Query(max_length=32)] = None,
    patient: Annotated[str | None, Query(max_length=64)] = None,
    p: Annotated[int, Query(ge=1, le=10**6)] = 1,
) -> Response:
    """Queries the user may see, newest first, 50 a page, with the counts."""
    return _list(page, state=state, site=site, patient=patient, p=p)


def _list(page: Page, *, state: str | None = None, site: str | None = None, patient: str | None = None, p: int = 1, checks: Any = None, refused: Refused | None = None) -> HTMLResponse:  # fmt: skip
    state = state if state in STATES else None
    notice = None
    patient_id = None
    if patient:
        found = [i for i in sv.list_patients(page.ctx, q=patient, limit=20).items if i["pseudo_id"] == patient]  # fmt: skip
        if found:
            patient_id = found[0]["patient_id"]
        else:
            notice = f"No patient with the pseudonymised id {patient} among those you may see."
    result = None
    if notice is None:
        result = sv.list_queries(page.ctx, site=site or None, patient_id=patient_id, state=state, limit=PAGE_SIZE, offset=(p - 1) * PAGE_SIZE)  # fmt: skip
    shown = refused.shown() if refused else {"status": 200, "values": {}, "errors": {}, "other": [], "violation": {}}  # fmt: skip
    return page.render(
        "queries.html",
        status=shown["status"],
        title="Data queries",
        result=result,
        counts=sv.query_counts(page.ctx),
        filters={"state": state or "", "site": site or "", "patient": patient or ""},
        states=STATES,
        sites=[s["code"] for s in sv.list_sites(page.ctx)],
        notice=notice,
        current=p,
        pages=max(1, math.ceil((result.total if result else 0) / PAGE_SIZE)),
        may_run_checks=allowed(page.user.role, SERVICE_ACTIONS["run_checks"]),
        check_inputs=check_inputs(page),
        checks=checks,
        values=shown["values"],
        errors=shown["errors"],
        other=shown["other"],
        violation=shown["violation"],
    )


CHECKS = "/checks/run"


def check_inputs(page: Page) -> tuple[Input, ...]:
    """The batch form: a choice among the sites the user may see (a typed code was easy to
    get wrong, and an unknown one ended on a 404 page with the form gone)."""
    codes = tuple((s["code"], s["code"]) for s in sv.list_sites(page.ctx))
    return (Input("site", "Site (not given: every site you may see)", "select", choices=codes),)


@router.post(CHECKS, response_class=HTMLResponse, **page("POST", CHECKS, "run_checks"))
def run_checks(page: PageDep) -> Response:
    """The protocol's edit checks in batch: each new finding opens a query (shown below)."""
    inputs = check_inputs(page)
    codes = [code for code, _ in inputs[0].choices]

    def call(args: dict[str, Any]) -> Any:
        if args["site"] is not None and args["site"] not in codes:
            raise InvalidInput([f"site={args['site']!r}: expected one of {', '.join(codes)}"])
        return sv.run_checks(page.ctx, site=args["site"])

    result, refused = attempt(page.values(), inputs, call)
    return _list(page, state="open", checks=result, refused=refused)


QUERY = "/patients/{patient_id}/queries/{query_id}"


def query_of(page: Page, patient_id: int, query_id: int) -> dict[str, Any]:
    """The query ``query_id`` of the patient, with its history (``NotFound`` otherwise)."""
    for query in sv.list_queries(page.ctx, patient_id=patient_id, limit=500).items:
        if query["query_id"] == query_id:
            return query
    raise NotFound(f"query: no query {query_id} on patient {patient_id}")


def _may_manage(page: Page, query: dict[str, Any]) -> bool:
    """Close / re-open: the user who raised it (an edit check's: any query manager)."""
    if not allowed(page.user.role, "manage_queries"):
        return False
    if query["source"] != "manual":
        return True
    return page.user.username == query["raised_by"] or page.user.role == "admin"


def show_query(page: Page, patient_id: int, query: dict[str, Any], *, refused: Refused | None = None, form: str = "", result: Any = None, done: str | None = None) -> HTMLResponse:  # fmt: skip
    timeline = sv.patient_timeline(page.ctx, patient_id)
    site_id = next(r for r in timeline["records"] if r["kind"] == "patients")["data"]["site_id"]
    shown = refused.shown() if refused else {"status": 200, "values": {}, "errors": {}, "other": [], "violation": {}}  # fmt: skip
    entity = query["entity"]
    can_answer = query["state"] == "open" and may_write(page.user.role, page.user.site_id, "answer_query", site_id)  # fmt: skip
    return page.render(
        "query.html",
        status=shown["status"],
        title=f"Query {query['query_id']}",
        patient=timeline,
        query=query,
        record_url=f"/patients/{patient_id}/records/{entity}/{query['entity_id']}",
        can_answer=can_answer,
        can_correct=can_answer
        and may_correct(page.user.role, page.user.site_id, entity, site_id),  # fmt: skip
        can_close=query["state"] != "closed" and _may_manage(page, query),
        can_reopen=query["state"] != "open" and _may_manage(page, query),
        answer_inputs=ANSWER_INPUTS,
        close_inputs=CLOSE_INPUTS,
        reopen_inputs=REOPEN_INPUTS,
        refused_form=form if refused else "",
        values=shown["values"],
        errors=shown["errors"],
        other=shown["other"],
        violation=shown["violation"],
        result=result,
        done=DONE.get(done or ""),
    )


@router.get(QUERY, response_class=HTMLResponse, **page("GET", QUERY, "list_queries"))
def query_page(page: PageDep, patient_id: PatientId, query_id: RowId, done: Annotated[str | None, Query(max_length=16)] = None) -> Response:  # fmt: skip
    return show_query(page, patient_id, query_of(page, patient_id, query_id), done=done)


ANSWER = QUERY + "/answer"


@router.post(ANSWER, response_class=HTMLResponse, **page("POST", ANSWER, "answer_query"))
def answer(page: PageDep, patient_id: PatientId, query_id: RowId) -> Response:
    """The site answers; a corrected value corrects the field in the same transaction."""
    query = query_of(page, patient_id, query_id)
    field = query["field"]

    def call(args: dict[str, Any]) -> Any:
        correction = None
        if args["value"] is not None:
            correction = {field: correction_value(field, args["value"])}
        return sv.answer_query(page.ctx, query_id, args["answer"], correction=correction, reason_category=args["category"])  # fmt: skip

    aliases = {**correction_aliases(field), "text": "answer"}
    result, refused = attempt(page.values(), ANSWER_INPUTS, call, aliases=aliases)
    if refused is not None:
        return show_query(page, patient_id, query, refused=refused, form="answer")
    return show_query(page, patient_id, query_of(page, patient_id, query_id), result=result)


CLOSE = QUERY + "/close"


@router.post(CLOSE, response_class=HTMLResponse, **page("POST", CLOSE, "close_query"))
def close(page: PageDep, patient_id: PatientId, query_id: RowId) -> Response:
    query = query_of(page, patient_id, query_id)

    def call(args: dict[str, Any]) -> Any:
        return sv.close_query(page.ctx, query_id, args["close_note"] or "resolved")

    _, refused = attempt(page.values(), CLOSE_INPUTS, call, aliases={"text": "close_note"})
    if refused is not None:
        return show_query(page, patient_id, query, refused=refused, form="close")
    return see_other(f"/patients/{patient_id}/queries/{query_id}?done=closed")


REOPEN = QUERY + "/reopen"


@router.post(REOPEN, response_class=HTMLResponse, **page("POST", REOPEN, "reopen_query"))
def reopen(page: PageDep, patient_id: PatientId, query_id: RowId) -> Response:
    query = query_of(page, patient_id, query_id)

    def call(args: dict[str, Any]) -> Any:
        return sv.reopen_query(page.ctx, query_id, args["reopen_note"])

    _, refused = attempt(page.values(), REOPEN_INPUTS, call, aliases={"text": "reopen_note"})
    if refused is not None:
        return show_query(page, patient_id, query, refused=refused, form="reopen")
    return see_other(f"/patients/{patient_id}/queries/{query_id}?done=reopened")
