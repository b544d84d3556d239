"""Baseline lesions (target and non-target rows, added and removed) and the follow-up
assessment, whose RECIST 1.1 and mRECIST response is computed and explained before saving.

The preview runs the services' own case builder (``services.assessment.build_case``) and
the RECIST engine on the stored baseline and visits (read through ``patient_timeline``)
plus the visit being typed, so it shows exactly what ``record_assessment`` will store.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from talentop import services as sv
from talentop.api.deps import PatientId
from talentop.errors import InvalidInput, ProtocolViolation
from talentop.services.assessment import NEW_LESION_STATUSES, NON_TARGET_STATUSES, build_case
from talentop.web.forms import Input, choices, errors_by_field, plain_problems
from talentop.web.render import fragment
from talentop.web.routes.steps import not_now, violation_of
from talentop.web.session import Page, PageDep, page, see_other
from talentop.web.steps import by_slug, steps

router = APIRouter(include_in_schema=False)
LESIONS = "/patients/{patient_id}/lesions"
ASSESS = "/patients/{patient_id}/assessment"
DEFAULT_ROWS = (("T1", "target"), ("T2", "target"), ("N1", "non_target"))
MAX_ROWS = 30
NEW = choices(*NEW_LESION_STATUSES)


# --- baseline lesions ------------------------------------------------------------------
def _number(text: str) -> Any:
    """A typed diameter as a number; anything else as typed (the service says what is wrong)."""
    text = text.strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return text


def lesion_rows(values: dict[str, str]) -> int:
    try:
        rows = int(values.get("rows", ""))
    except ValueError:
        rows = len(DEFAULT_ROWS)
    return max(1, min(rows, MAX_ROWS))


def lesions_from(values: dict[str, str], rows: int) -> tuple[list[dict[str, Any]], list[int]]:
    """The lesions typed (blank rows skipped) and the form row of each."""
    lesions, where = [], []
    for i in range(rows):
        get = lambda k, i=i: (values.get(f"lesion-{i}-{k}") or "").strip()  # noqa: E731
        if not any(get(k) for k in ("id", "organ", "diameter_mm", "viable_diameter_mm")):
            continue
        lesion = {
            "id": get("id"),
            "kind": get("kind") or None,
            "organ": get("organ") or None,
            "nodal": get("nodal") == "on",
        }
        for key in ("diameter_mm", "viable_diameter_mm"):
            if get(key):
                lesion[key] = _number(get(key))
        lesions.append(lesion)
        where.append(i)
    return lesions, where


def _renumber(errors: dict[str, str], where: list[int]) -> dict[str, str]:
    out = {}
    for key, message in errors.items():
        parts = key.split("-", 2)
        if len(parts) == 3 and parts[0] == "lesion" and parts[1].isdigit():
            j = int(parts[1])
            key = f"lesion-{where[j] if j < len(where) else j}-{parts[2]}"
        out[key] = message
    return out


def _lesion_inputs() -> tuple[Input, ...]:
    return (
        Input("id", "Lesion code", hint="e.g. T1, N1"),
        Input(
            "kind",
            "Kind",
            "select",
            choices=choices("target", "non_target", labels={"non_target": "non-target"}),
        ),  # fmt: skip
        Input("organ", "Organ or site", hint="e.g. liver, portal_vein"),
        Input(
            "diameter_mm",
            "Longest diameter",
            "number",
            unit="mm",
            hint="targets: short axis for lymph nodes",
        ),  # fmt: skip
        Input(
            "viable_diameter_mm",
            "Viable (enhancing) diameter",
            "number",
            unit="mm",
            hint="for mRECIST",
        ),  # fmt: skip
        Input("nodal", "Lymph node", "checkbox"),
    )


def _show_lesions(page: Page, patient: dict, *, status=200, values=None, rows=None, errors=None, other=None, violation=None) -> HTMLResponse:  # fmt: skip
    if values is None:
        values = {"baseline_date": ""}
        for i, (code, kind) in enumerate(DEFAULT_ROWS):
            values[f"lesion-{i}-id"], values[f"lesion-{i}-kind"] = code, kind
        rows = len(DEFAULT_ROWS)
    step = by_slug(steps(page.ctx.protocol))["lesions"]
    return page.render(
        "lesions.html",
        status=status,
        title="Baseline lesions",
        patient=patient,
        date_input=Input(
            "baseline_date", "Baseline scan date", "date", required=True, hint="year-month-day"
        ),  # fmt: skip
        lesion_inputs=_lesion_inputs(),
        rows=rows or lesion_rows(values),
        max_rows=MAX_ROWS,
        values=values,
        errors=errors or {},
        other=other or [],
        violation=violation if violation is not None else not_now(step, patient["state"]),
    )


@router.get(LESIONS, response_class=HTMLResponse, **page("GET", LESIONS, "record_lesions_baseline"))  # fmt: skip
def lesions_form(page: PageDep, patient_id: PatientId) -> Response:
    return _show_lesions(page, sv.patient_summary(page.ctx, patient_id))


@router.post(LESIONS, response_class=HTMLResponse, **page("POST", LESIONS, "record_lesions_baseline"))  # fmt: skip
def lesions_save(page: PageDep, patient_id: PatientId) -> Response:
    """Save; or add a row / remove row ``i`` (buttons that work without JavaScript)."""
    values = page.values()
    rows = lesion_rows(values)
    patient = sv.patient_summary(page.ctx, patient_id)
    action = values.get("action", "save")
    if action == "add":
        values["rows"] = str(min(rows + 1, MAX_ROWS))
        return _show_lesions(page, patient, values=values, rows=min(rows + 1, MAX_ROWS))
    if action.startswith("remove-") and action[7:].isdigit():
        gone = int(action[7:])
        shifted = {k: v for k, v in values.items() if not k.startswith("lesion-")}
        for i in range(rows):
            if i == gone:
                continue
            j = i if i < gone else i - 1
            for key in ("id", "kind", "organ", "diameter_mm", "viable_diameter_mm", "nodal"):
                if f"lesion-{i}-{key}" in values:
                    shifted[f"lesion-{j}-{key}"] = values[f"lesion-{i}-{key}"]
        return _show_lesions(page, patient, values=shifted, rows=max(rows - 1, 1))
    lesions, where = lesions_from(values, rows)
    try:
        sv.record_lesions_baseline(
            page.ctx, patient_id, values.get("baseline_date") or None, lesions
        )
    except InvalidInput as error:
        known = {"baseline_date"} | {
            f"lesion-{j}-{i.name}" for j in range(len(lesions)) for i in _lesion_inputs()
        }
        errors, other = errors_by_field(error, known)
        return _show_lesions(page, patient, status=422, values=values, rows=rows, errors=_renumber(errors, where), other=other, violation={})  # fmt: skip
    except ProtocolViolation as error:
        return _show_lesions(page, patient, status=409, values=values, rows=rows, violation=violation_of(error))  # fmt: skip
    return see_other(f"/patients/{patient_id}?saved=lesions")


# --- follow-up assessment --------------------------------------------------------------
def _date(text: Any) -> Any:
    return dt.date.fromisoformat(text) if isinstance(text, str) else text


def stored(page: Page, patient_id: int) -> dict[str, Any]:
    """The baseline lesions and earlier visits with their measurements, as rows."""
    records = sv.patient_timeline(page.ctx, patient_id)["records"]
    lesions = [
        SimpleNamespace(**{**r["data"], "baseline_date": _date(r["data"]["baseline_date"])})
        for r in records
        if r["kind"] == "lesions"
    ]
    measurements = [SimpleNamespace(**r["data"]) for r in records if r["kind"] == "lesion_measurements"]  # fmt: skip
    visits = sorted(
        (
            SimpleNamespace(**{**r["data"], "visit_date": _date(r["data"]["visit_date"])})
            for r in records
            if r["kind"] == "assessment_visits"
        ),
        key=lambda v: v.visit_date,
    )
    history = [(v, [m for m in measurements if m.visit_id == v.id]) for v in visits]
    return {"lesions": lesions, "history": history}


def _value(text: str) -> Any:
    """A target value as typed: mm, "too small", "absent", or blank (not evaluated)."""
    text = text.strip().lower().replace(" ", "_")
    if not text or text == "not_evaluated":
        return None
    if text in ("too_small", "absent"):
        return text
    return _number(text)


def assessment_args(values: dict[str, str], lesions: list[Any]) -> dict[str, Any]:
    """The ``record_assessment`` arguments from the form."""
    target, viable, non_target = {}, {}, {}
    for lesion in lesions:
        if lesion.kind == "target":
            target[lesion.code] = _value(values.get(f"target-{lesion.code}", ""))
            if (values.get(f"viable-{lesion.code}") or "").strip():
                viable[lesion.code] = _value(values[f"viable-{lesion.code}"])
        else:
            non_target[lesion.code] = values.get(f"non_target-{lesion.code}") or "not_evaluated"
    return {
        "visit_date": values.get("visit_date") or None,
        "target": target,
        "non_target": non_target,
        "new_lesions": values.get("new_lesions") or "none",
        "viable": viable or None,
        "new_lesions_mrecist": values.get("new_lesions_mrecist") or None,
    }


def _split(value: Any) -> tuple[float | None, str | None]:
    if value is None:
        return None, "not_evaluated"
    if isinstance(value, str):
        return None, value
    return float(value), None


def preview(page: Page, facts: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    """RECIST 1.1 and mRECIST over the stored visits plus the typed one, not stored."""
    from talentop.recist import evaluate

    if not facts["lesions"]:
        return {"error": "No baseline lesions are recorded yet: record them first."}
    try:
        on = dt.date.fromisoformat(args["visit_date"] or "")
    except ValueError:
        return {"error": "Enter the visit date to compute the response."}
    visit = SimpleNamespace(id=0, visit_date=on, new_lesions=args["new_lesions"],
                            new_lesions_mrecist=args["new_lesions_mrecist"] or args["new_lesions"])  # fmt: skip
    rows = []
    for lesion in facts["lesions"]:
        if lesion.kind == "target":
            number, token = _split(args["target"].get(lesion.code))
            v_number, v_token = (
                _split(args["viable"][lesion.code])
                if args["viable"] and lesion.code in args["viable"]
                else (number, token)
            )
        else:
            number, token = None, args["non_target"].get(lesion.code, "not_evaluated")
            v_number, v_token = None, None
        rows.append(SimpleNamespace(visit_id=0, lesion_id=lesion.id, diameter_mm=number, status=token, viable_diameter_mm=v_number, viable_status=v_token))  # fmt: skip
    criteria = [page.ctx.protocol.assessment.criteria]
    if page.ctx.protocol.assessment.record_mrecist and "mrecist" not in criteria:
        criteria.append("mrecist")
    results = {}
    try:
        for name in criteria:
            case = build_case(page.ctx, facts["lesions"], [*facts["history"], (visit, rows)], name)
            results[name] = evaluate(case)
    except InvalidInput as error:
        return {"error": " ".join(p.message for p in plain_problems(error))}
    return {"results": results}


def _assessment_inputs(lesions: list[Any]) -> dict[str, Any]:
    targets = [lesion for lesion in lesions if lesion.kind == "target"]
    others = [lesion for lesion in lesions if lesion.kind != "target"]
    return {
        "date_input": Input(
            "visit_date", "Visit (scan) date", "date", required=True, hint="year-month-day"
        ),  # fmt: skip
        "target_inputs": [
            (
                lesion,
                Input(
                    f"target-{lesion.code}",
                    f"{lesion.code} ({lesion.organ}), baseline {lesion.diameter_mm:g} mm",
                    "number",
                    unit="mm",
                    hint='a number, "too small" or "absent"; blank: not evaluated',
                ),  # fmt: skip
                Input(
                    f"viable-{lesion.code}",
                    f"{lesion.code} viable diameter (mRECIST)",
                    "number",
                    unit="mm",
                    hint="blank: the same as measured",
                ),  # fmt: skip
            )
            for lesion in targets
        ],
        "non_target_inputs": [
            Input(
                f"non_target-{lesion.code}",
                f"{lesion.code} ({lesion.organ})",
                "select",
                choices=choices(*NON_TARGET_STATUSES),
            )  # fmt: skip
            for lesion in others
        ],
        "new_inputs": [
            Input("new_lesions", "New lesions (RECIST 1.1)", "select", choices=NEW, required=True),
            Input(
                "new_lesions_mrecist",
                "New lesions (mRECIST)",
                "select",
                choices=NEW,
                hint="blank: as RECIST 1.1",
            ),  # fmt: skip
        ],
    }


def _show_assessment(page: Page, patient_id: int, *, status=200, values=None, errors=None, other=None, violation=None, computed=False) -> HTMLResponse:  # fmt: skip
    patient = sv.patient_summary(page.ctx, patient_id)
    facts = stored(page, patient_id)
    values = values or {"new_lesions": "none"}
    result = preview(page, facts, assessment_args(values, facts["lesions"])) if computed else None
    step = by_slug(steps(page.ctx.protocol))["assessment"]
    return page.render(
        "assessment.html",
        status=status,
        title="Tumour assessment",
        patient=patient,
        values=values,
        errors=errors or {},
        other=other or [],
        violation=violation if violation is not None else not_now(step, patient["state"]),
        preview=fragment("_response.html", result=result),
        **_assessment_inputs(facts["lesions"]),
    )


@router.get(ASSESS, response_class=HTMLResponse, **page("GET", ASSESS, "record_assessment"))
def assessment_form(page: PageDep, patient_id: PatientId) -> Response:
    return _show_assessment(page, patient_id)


@router.post(ASSESS + "/preview", response_class=HTMLResponse, **page("POST", ASSESS + "/preview", "record_assessment"))  # fmt: skip
def assessment_preview(page: PageDep, patient_id: PatientId) -> Response:
    """The computed responses (htmx fragment), or the whole form with them."""
    if not page.htmx:
        return _show_assessment(page, patient_id, values=page.values(), computed=True)
    facts = stored(page, patient_id)
    result = preview(page, facts, assessment_args(page.values(), facts["lesions"]))
    return HTMLResponse(fragment("_response.html", result=result))


@router.post(ASSESS, response_class=HTMLResponse, **page("POST", ASSESS, "record_assessment"))
def assessment_save(page: PageDep, patient_id: PatientId) -> Response:
    values = page.values()
    facts = stored(page, patient_id)
    args = assessment_args(values, facts["lesions"])
    try:
        sv.record_assessment(page.ctx, patient_id, args.pop("visit_date"), **args)
    except InvalidInput as error:
        errors, other = errors_by_field(error, set(values) | {"visit_date"})
        return _show_assessment(page, patient_id, status=422, values=values, errors=errors, other=other, violation={}, computed=True)  # fmt: skip
    except ProtocolViolation as error:
        return _show_assessment(page, patient_id, status=409, values=values, violation=violation_of(error))  # fmt: skip
    return see_other(f"/patients/{patient_id}?saved=assessment")
