"""The MDT vote (each member logs in and casts their own, with a reason; the decision appears
when the protocol's quorum and rule are met) and randomisation (a form, a confirmation step
that shows the stratum values, then the arm and the printable allocation record)."""

from __future__ import annotations

import json
import secrets
from fractions import Fraction
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from talentop import services as sv
from talentop.api.deps import PatientId
from talentop.clinical.rules import patient_value
from talentop.errors import AllocationError, InvalidInput, ProtocolViolation
from talentop.services.idempotency import once
from talentop.web.forms import Input, choices, errors_by_field, parse, required_problems
from talentop.web.routes.steps import not_now, violation_of
from talentop.web.session import Page, PageDep, page, see_other
from talentop.web.steps import by_slug, steps

router = APIRouter(include_in_schema=False)
VOTE = "/patients/{patient_id}/vote"
RANDOMISE = "/patients/{patient_id}/randomise"

#: The structured criteria a vote rests on (``clinical.resectability.Findings``; required when
#: the protocol sets ``mdt.criteria_required``): why the member votes as they do.
CRITERIA_INPUTS = (
    Input("r0_feasible", "R0 resection feasible?", "yesno", group="criteria"),
    Input(
        "remnant_liver_pct",
        "Future liver remnant",
        "number",
        unit="%",
        group="criteria",
        hint="of the functional liver volume",
    ),  # fmt: skip
    Input(
        "vp_grade",
        "Portal vein thrombus (Vp)",
        "select",
        choices=choices("Vp0", "Vp1", "Vp2", "Vp3", "Vp4"),
        group="criteria",
    ),  # fmt: skip
    Input(
        "vv_grade",
        "Hepatic vein thrombus (Vv)",
        "select",
        choices=choices("Vv0", "Vv1", "Vv2", "Vv3"),
        group="criteria",
    ),  # fmt: skip
    Input(
        "child_pugh_grade",
        "Child-Pugh class",
        "select",
        choices=choices("A", "B", "C"),
        group="criteria",
    ),  # fmt: skip
    Input("albi_grade", "ALBI grade", "select", choices=choices("1", "2", "3"), group="criteria"),
)
VOTE_INPUTS = (
    Input("vote_date", "Date of your vote", "date", required=True, hint="year-month-day"),
    Input("resectable", "Is the tumour resectable (R0 feasible)?", "yesno", required=True),
    Input(
        "reason", "Your reason", "textarea", required=True, hint="e.g. R0 feasible; remnant 38%"
    ),  # fmt: skip
    *CRITERIA_INPUTS,
)


def _criteria(args: dict[str, Any]) -> dict[str, Any] | None:
    """The vote's criteria from the form (None when none was filled in)."""
    out = {i.name: args.get(i.name) for i in CRITERIA_INPUTS if args.get(i.name) not in (None, "")}
    for name, kind in (("remnant_liver_pct", float), ("albi_grade", int)):
        if name in out:
            try:
                out[name] = kind(out[name])
            except (TypeError, ValueError):
                pass  # left as typed: the service names the field and what it expects
    return out or None


def _queue_entry(page: Page, patient_id: int) -> dict[str, Any] | None:
    return next((q for q in sv.mdt_queue(page.ctx) if q["patient_id"] == patient_id), None)


def _show_vote(page: Page, patient_id: int, *, status=200, values=None, errors=None, other=None, violation=None) -> HTMLResponse:  # fmt: skip
    patient = sv.patient_summary(page.ctx, patient_id)
    records = sv.patient_timeline(page.ctx, patient_id)["records"]
    responses = [r for r in records if r["kind"] == "response_assessments"][-2:]
    step = by_slug(steps(page.ctx.protocol))["vote"]
    return page.render(
        "vote.html",
        status=status,
        title="MDT vote",
        patient=patient,
        queue=_queue_entry(page, patient_id),
        responses=responses,
        rules=page.ctx.protocol.mdt,
        inputs=VOTE_INPUTS,
        values=values or {},
        errors=errors or {},
        other=other or [],
        violation=violation if violation is not None else not_now(step, patient["state"]),
    )


@router.get(VOTE, response_class=HTMLResponse, **page("GET", VOTE, "cast_mdt_vote"))
def vote_form(page: PageDep, patient_id: PatientId) -> Response:
    return _show_vote(page, patient_id)


@router.post(VOTE, response_class=HTMLResponse, **page("POST", VOTE, "cast_mdt_vote"))
def vote(page: PageDep, patient_id: PatientId) -> Response:
    values = page.values()
    args = parse(VOTE_INPUTS, values)
    try:
        problems = required_problems(VOTE_INPUTS, args)
        if problems:
            raise InvalidInput(problems)
        result = sv.cast_mdt_vote(
            page.ctx,
            patient_id,
            args["vote_date"],
            resectable=args["resectable"],
            reason=args["reason"],
            criteria=_criteria(args),
        )
    except InvalidInput as error:
        errors, other = errors_by_field(error, {i.name for i in VOTE_INPUTS})
        if "member" in {p.field for p in other}:
            other = []
            errors = {"resectable": "You have already voted on this review."}
        return _show_vote(page, patient_id, status=422, values=values, errors=errors, other=other, violation={})  # fmt: skip
    except ProtocolViolation as error:
        return _show_vote(page, patient_id, status=409, values=values, violation=violation_of(error))  # fmt: skip
    # Shown here, not redirected: once decided, the patient leaves the MDT member's scope
    # (no longer awaiting a review), so the patient page would refuse them.
    return page.render(
        "vote_done.html", title="Vote recorded", patient_id=patient_id, result=result
    )


# --- randomisation ----------------------------------------------------------------------
def stratum_preview(page: Page, patient_id: int, overrides: dict[str, str]) -> list[dict[str, Any]]:
    """Each protocol stratum: the variable, its value and where it comes from, the level.
    The same sources as ``services.randomise.stratum_levels`` (which decides at commit)."""
    protocol = page.ctx.protocol
    records = sv.patient_timeline(page.ctx, patient_id)["records"]
    responses = [
        r["data"]
        for r in records
        if r["kind"] == "response_assessments"
        and r["data"].get("criteria") == protocol.assessment.criteria
    ]
    screenings = [r["data"] for r in records if r["kind"] == "screenings"]
    record = json.loads(screenings[-1]["record_json"]) if screenings else {}
    out = []
    for stratum in protocol.strata:
        source, value, shown = "", None, None
        if stratum.variable in overrides:
            value = shown = overrides[stratum.variable]
            source = "typed here"
        elif stratum.variable == "depth_of_response_pct" and responses:
            result = json.loads(responses[-1].get("result_json") or "{}")
            exact = result.get("depth_of_response_exact")
            value = Fraction(exact) if exact is not None else responses[-1]["depth_of_response_pct"]
            shown = responses[-1]["depth_of_response_pct"]
            source = "latest response assessment"
        else:
            value = shown = patient_value(record, stratum.variable)
            source = "screening record"
        level = None
        if value is not None:
            try:
                level = stratum.level_for(value)
            except (InvalidInput, ValueError, TypeError):
                level = None
        labels = {lvl.id: lvl.label or lvl.id for lvl in stratum.levels}
        out.append(
            {
                "id": stratum.id,
                "label": stratum.label or stratum.id,
                "variable": stratum.variable,
                "value": shown,
                "source": source,
                "level": labels.get(level, "cannot be decided") if level else "cannot be decided",
            }
        )
    return out


def _overridable(page: Page) -> list[Input]:
    return [
        Input(
            f"stratum-{s.variable}",
            f"{s.label or s.id}: current value",
            "number",
            hint="optional: only if it changed since screening",
        )  # fmt: skip
        for s in page.ctx.protocol.strata
        if s.variable != "depth_of_response_pct"
    ]


def _overrides(values: dict[str, str]) -> dict[str, Any]:
    """Stratum variables typed on the form (numbers as numbers; the service checks them)."""
    out: dict[str, Any] = {}
    for key, text in values.items():
        if key.startswith("stratum-") and text.strip():
            try:
                out[key[len("stratum-") :]] = float(text)
            except ValueError:
                out[key[len("stratum-") :]] = text.strip()
    return out


def _show_randomise(page: Page, patient_id: int, *, stage="form", status=200, values=None, errors=None, other=None, violation=None) -> HTMLResponse:  # fmt: skip
    patient = sv.patient_summary(page.ctx, patient_id)
    values = values or {}
    step = by_slug(steps(page.ctx.protocol))["randomise"]
    return page.render(
        "randomise.html",
        status=status,
        title="Randomise",
        stage=stage,
        patient=patient,
        date_input=Input(
            "randomised_on", "Date of randomisation", "date", required=True, hint="year-month-day"
        ),  # fmt: skip
        overridable=_overridable(page),
        strata=stratum_preview(page, patient_id, _overrides(values)),
        values=values,
        key=values.get("idempotency_key") or secrets.token_urlsafe(16),
        errors=errors or {},
        other=other or [],
        violation=violation if violation is not None else not_now(step, patient["state"]),
        arms=page.ctx.protocol.arms,
    )


@router.get(RANDOMISE, response_class=HTMLResponse, **page("GET", RANDOMISE, "randomise"))
def randomise_form(page: PageDep, patient_id: PatientId) -> Response:
    return _show_randomise(page, patient_id)


@router.post(RANDOMISE + "/confirm", response_class=HTMLResponse, **page("POST", RANDOMISE + "/confirm", "randomise"))  # fmt: skip
def randomise_confirm(page: PageDep, patient_id: PatientId) -> Response:
    """Step two: the date and the stratum values the allocation will use, to confirm."""
    values = page.values()
    if not values.get("randomised_on"):
        errors = {"randomised_on": "Enter the date of randomisation."}
        return _show_randomise(page, patient_id, status=422, values=values, errors=errors)
    return _show_randomise(page, patient_id, stage="confirm", values=values)


@router.post(RANDOMISE, response_class=HTMLResponse, **page("POST", RANDOMISE, "randomise"))
def randomise(page: PageDep, patient_id: PatientId) -> Response:
    """Allocate (once per confirmation: a resubmitted form returns the same allocation)."""
    values = page.values()
    overrides = _overrides(values)
    args = {"randomised_on": values.get("randomised_on") or None, "stratum_values": overrides or None}  # fmt: skip
    try:
        problems = required_problems([Input("randomised_on", "Date of randomisation", required=True)], args)  # fmt: skip
        if problems:
            raise InvalidInput(problems)
        with page.ctx.store.transaction():
            once(
                page.ctx,
                values.get("idempotency_key") or None,
                f"randomise:{patient_id}",
                args,
                lambda: sv.randomise(
                    page.ctx,
                    patient_id,
                    args["randomised_on"],
                    stratum_values=args["stratum_values"],
                ),
            )
    except InvalidInput as error:
        known = {"randomised_on"} | {f"stratum-{k}" for k in overrides}
        errors, other = errors_by_field(error, known)
        return _show_randomise(page, patient_id, status=422, values=values, errors=errors, other=other, violation={})  # fmt: skip
    except (ProtocolViolation, AllocationError) as error:
        return _show_randomise(page, patient_id, status=409, values=values, violation=violation_of(error))  # fmt: skip
    return see_other(f"/patients/{patient_id}/allocation")
