"""One record of a patient and what data management does with it (``services.data``):
its page (fields, source-data verification, locks, queries, corrections), the correction
form (field, new value, reason, category; then what changed and what was re-derived),
a monitor's SDV mark, a data manager's lock, a query raised on one of its fields."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, Response

from talentop import services as sv
from talentop.api.deps import PatientId, RowId
from talentop.clinical.fields import coerce_value
from talentop.web import records as rec
from talentop.web.session import Page, PageDep, page, see_other
from talentop.web.submit import Refused, attempt, form_state

router = APIRouter(include_in_schema=False)
RECORD = "/patients/{patient_id}/records/{entity}/{entity_id}"
Entity = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[a-z_]+$")]
#: What a finished action says on the record page (``?done=``).
DONE = {"verified": "Marked as source-verified.", "locked": "Locked.", "unlocked": "Unlocked."}


def record_facts(page: Page, patient_id: int, entity: str, entity_id: int) -> dict[str, Any]:
    """The record, its patient and everything data management knows about it."""
    timeline = sv.patient_timeline(page.ctx, patient_id)
    records = timeline["records"]
    record = rec.find(records, entity, entity_id)
    site_id = next(r for r in records if r["kind"] == "patients")["data"]["site_id"]
    status = sv.patient_data_status(page.ctx, patient_id)
    key = (entity, str(entity_id))
    form = next((f for f in status["forms"] if (f["entity"], str(f["entity_id"])) == key), None)
    locks = [
        lock
        for lock in sv.list_locks(page.ctx)
        if lock["scope"] == "database"
        or (lock["patient_id"] == patient_id and lock["scope"] == "patient")
        or (lock["patient_id"] == patient_id and (lock["entity"], lock["entity_id"]) == key)
    ]
    queries = sv.list_queries(page.ctx, patient_id=patient_id, limit=500).items
    data = record["data"]
    return {
        "patient": timeline,
        "records": records,
        "record": record,
        "title": rec.title(record, records),
        "fields": [(k, v) for k, v in data.items() if k not in rec.NOT_DATA and v is not None],
        "screening": rec.screening_record(data),
        "sdv": form,
        "locks": locks,
        "record_locked": any(lock["scope"] == "record" for lock in locks),
        "corrections": [c for c in status["corrections"] if (c["entity"], c["entity_id"]) == key],
        "queries": [q for q in queries if (q["entity"], q["entity_id"]) == key],
        "may_correct": rec.may_correct(page.user.role, page.user.site_id, entity, site_id),
        "can": rec.abilities(page.user.role),
        "query_fields": rec.field_choices(rec.queryable(data), data),
    }


def show_record(page: Page, facts: dict[str, Any], *, refused: Refused | None = None, form: str = "", done: str | None = None) -> HTMLResponse:  # fmt: skip
    """The record page; ``refused``: the form ``form`` ("query" | "lock" | "verify") shown
    again with its problems."""
    shown = refused.shown() if refused else {"status": 200, "values": {}, "errors": {}, "other": [], "violation": {}}  # fmt: skip
    return page.render(
        "record.html",
        status=shown["status"],
        **facts,
        query_inputs=rec.query_inputs(facts["query_fields"]),
        lock_inputs=rec.LOCK_INPUTS,
        refused_form=form if refused else "",
        values=shown["values"],
        errors=shown["errors"],
        other=shown["other"],
        violation=shown["violation"],
        done=DONE.get(done or ""),
        sdv_labels=rec.SDV_LABELS,
    )


@router.get(RECORD, response_class=HTMLResponse, **page("GET", RECORD, "patient_data_status"))
def record_page(page: PageDep, patient_id: PatientId, entity: Entity, entity_id: RowId, done: Annotated[str | None, Query(max_length=16)] = None) -> Response:  # fmt: skip
    return show_record(page, record_facts(page, patient_id, entity, entity_id), done=done)


def correction_value(field: str, typed: str | None) -> Any:
    """The typed new value as the service takes it (a screening field is coerced as the
    screening form coerces it; other columns are coerced by the service)."""
    text = "" if typed is None else typed
    if field.startswith("record."):
        return coerce_value(field.removeprefix("record."), text)
    return text


def correction_aliases(field: str) -> dict[str, str]:
    """Problems the correction service names -> the input they belong to."""
    bare = field.removeprefix("record.")
    return {field: "value", bare: "value", "changes": "value", "record": "value", "field": "field"}


CORRECT = RECORD + "/correct"


def _show_correction(page: Page, facts: dict[str, Any], *, refused: Refused | None = None, field: str = "") -> HTMLResponse:  # fmt: skip
    record = facts["record"]
    fields = rec.field_choices(rec.correctable(record["kind"], record["data"]), record["data"])
    shown = form_state(refused, {"field": field})
    violation = shown["violation"]
    if violation is None and facts["locks"]:
        lock = facts["locks"][0]
        violation = {"rule": lock["description"], "message": "This record is locked: a data manager must unlock it with a reason before it can be corrected."}  # fmt: skip
    patient_id = facts["patient"]["patient_id"]
    return page.render_form(
        shown,
        violation=violation,
        title=f"Correct: {facts['title']}",
        action=f"/patients/{patient_id}/records/{record['kind']}/{record['id']}/correct",
        inputs=rec.correction_inputs(fields),
        patient=facts["patient"],
        submit="Correct",
        intro="The old value is kept in the audit trail with your name, the time (UTC), the "
        "reason and its kind. What depends on the value (RECIST response, eligibility, ALBI, "
        "ADTTE times) is worked out again in the same step, and a source verification of the "
        "record is cleared.",
        cancel=f"/patients/{patient_id}/records/{record['kind']}/{record['id']}",
    )


@router.get(CORRECT, response_class=HTMLResponse, **page("GET", CORRECT, "correct_record"))
def correct_form(page: PageDep, patient_id: PatientId, entity: Entity, entity_id: RowId, field: Annotated[str, Query(max_length=80)] = "") -> Response:  # fmt: skip
    return _show_correction(page, record_facts(page, patient_id, entity, entity_id), field=field)


@router.post(CORRECT, response_class=HTMLResponse, **page("POST", CORRECT, "correct_record"))
def correct(page: PageDep, patient_id: PatientId, entity: Entity, entity_id: RowId) -> Response:
    facts = record_facts(page, patient_id, entity, entity_id)
    record = facts["record"]
    fields = rec.field_choices(rec.correctable(entity, record["data"]), record["data"])
    inputs = rec.correction_inputs(fields)
    values = page.values()
    field = values.get("field", "")

    def call(args: dict[str, Any]) -> Any:
        new = correction_value(args["field"], args["value"])
        return sv.correct_record(page.ctx, entity, entity_id, {args["field"]: new}, reason=args["reason"], category=args["category"])  # fmt: skip

    result, refused = attempt(values, inputs, call, aliases=correction_aliases(field))
    if refused is not None:
        return _show_correction(page, facts, refused=refused)
    return page.render(
        "correction.html",
        title="Correction saved",
        patient=facts["patient"],
        record_title=facts["title"],
        record_url=f"/patients/{patient_id}/records/{entity}/{entity_id}",
        result=result,
    )


VERIFY = RECORD + "/verify"


@router.post(VERIFY, response_class=HTMLResponse, **page("POST", VERIFY, "verify_form"))
def verify(page: PageDep, patient_id: PatientId, entity: Entity, entity_id: RowId) -> Response:
    """A monitor marks the form as verified against the source documents."""
    rec.find(sv.patient_timeline(page.ctx, patient_id)["records"], entity, entity_id)
    _, refused = attempt({}, (), lambda _: sv.verify_form(page.ctx, entity, entity_id))
    if refused is not None:
        return show_record(page, record_facts(page, patient_id, entity, entity_id), refused=refused, form="verify")  # fmt: skip
    return see_other(f"/patients/{patient_id}/records/{entity}/{entity_id}?done=verified")


LOCK = RECORD + "/lock"


@router.post(LOCK, response_class=HTMLResponse, **page("POST", LOCK, "lock_records"))
def lock(page: PageDep, patient_id: PatientId, entity: Entity, entity_id: RowId) -> Response:
    """A data manager locks this form (with the reason)."""
    rec.find(sv.patient_timeline(page.ctx, patient_id)["records"], entity, entity_id)

    def call(args: dict[str, Any]) -> Any:
        return sv.lock_records(page.ctx, "record", reason=args["reason"], entity=entity, entity_id=entity_id)  # fmt: skip

    _, refused = attempt(page.values(), rec.LOCK_INPUTS, call)
    if refused is not None:
        return show_record(page, record_facts(page, patient_id, entity, entity_id), refused=refused, form="lock")  # fmt: skip
    return see_other(f"/patients/{patient_id}/records/{entity}/{entity_id}?done=locked")


RAISE = RECORD + "/query"


@router.post(RAISE, response_class=HTMLResponse, **page("POST", RAISE, "raise_query"))
def raise_query(page: PageDep, patient_id: PatientId, entity: Entity, entity_id: RowId) -> Response:  # fmt: skip
    """A monitor or data manager asks the site about one field of this record."""
    facts = record_facts(page, patient_id, entity, entity_id)
    inputs = rec.query_inputs(facts["query_fields"])

    def call(args: dict[str, Any]) -> Any:
        return sv.raise_query(page.ctx, entity, entity_id, args["field"], args["text"])

    result, refused = attempt(page.values(), inputs, call)
    if refused is not None:
        return show_record(page, facts, refused=refused, form="query")
    return see_other(f"/patients/{patient_id}/queries/{result['query_id']}?done=raised")
