"""The simple steps of the path (``talentop.web.steps``): one form page each, GET shows it,
POST calls the service. A problem is shown next to its input with everything typed kept
(422); a step the protocol forbids now shows its rule (409); the protocol's edit checks run
on the saved records before the transaction commits: a finding is shown as a warning
(409, nothing kept) and the form saved again with a comment keeps the values and records
the comment (``talentop.web.submit``); success goes back to the patient page (303)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from talentop import services as sv
from talentop.api.deps import PatientId
from talentop.errors import InvalidInput, ProtocolViolation
from talentop.protocol import Protocol
from talentop.services.data.checks import check_patient
from talentop.services.induction import protocol_dose_mg
from talentop.web.forms import plain_problems
from talentop.web.session import Page, PageDep, page, see_other
from talentop.web.steps import Step, state_allows, steps
from talentop.web.submit import CHECK_COMMENT, attempt, violation_of

__all__ = ["build", "not_now", "show_step", "submit_step", "violation_of"]


def not_now(step: Step, state: str) -> dict[str, str] | None:
    """The rule, when the patient's state does not allow the step (shown before typing)."""
    if state_allows(step.service, state):
        return None
    from talentop.services.states import ARROWS

    rule = ARROWS[step.service][1] if step.service in ARROWS else "no new records after death"
    return {"rule": rule, "message": f"The patient is '{state}' now."}


def show_step(
    page: Page,
    step: Step,
    patient: dict[str, Any],
    *,
    status: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    other: list | None = None,
    violation: dict[str, str] | None = None,
    warnings: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> HTMLResponse:
    return page.render(
        "form.html",
        status=status,
        title=step.title,
        action=f"/patients/{patient['patient_id']}/{step.slug}",
        inputs=step.inputs,
        values=values or {},
        errors=errors or {},
        other=other or [],
        violation=violation if violation is not None else not_now(step, patient["state"]),
        warnings=warnings or [],
        comment=CHECK_COMMENT,
        patient=patient,
        submit="Save",
        intro=step.intro,
        **extra,
    )


def submit_step(page: Page, step: Step, patient_id: int) -> Response:
    """Run the step's service with the typed values and the protocol's edit checks in one
    transaction; the form again on any problem or warning."""
    assert step.call is not None
    values = page.values()
    comment = values.get(CHECK_COMMENT.name, "").strip() or None

    def save(args: dict[str, Any]) -> Any:
        with page.ctx.store.transaction():
            result = step.call(page.ctx, patient_id, args)
            check_patient(page.ctx, patient_id, comment=comment, mode="warn")
        return result

    _, refused = attempt(values, step.inputs, save, aliases=dict(step.aliases))
    if refused is not None:
        patient = sv.patient_summary(page.ctx, patient_id)
        return show_step(page, step, patient, **refused.shown())
    return see_other(f"/patients/{patient_id}?saved={step.slug}")


def _routes(router: APIRouter, step: Step) -> None:
    path = f"/patients/{{patient_id}}/{step.slug}"
    slug = step.slug

    def get(page: PageDep, patient_id: PatientId) -> Response:
        patient = sv.patient_summary(page.ctx, patient_id)
        return show_step(page, _step(page, slug), patient, **_extra(page, slug, patient_id))

    def post(page: PageDep, patient_id: PatientId) -> Response:
        return submit_step(page, _step(page, slug), patient_id)

    router.add_api_route(path, get, methods=["GET"], response_class=HTMLResponse, name=f"{slug}_form", **page("GET", path, step.service))  # fmt: skip
    router.add_api_route(path, post, methods=["POST"], response_class=HTMLResponse, name=f"{slug}_save", **page("POST", path, step.service))  # fmt: skip


def _step(page: Page, slug: str) -> Step:
    return next(s for s in steps(page.ctx.protocol) if s.slug == slug)


def _extra(page: Page, slug: str, patient_id: int) -> dict[str, Any]:
    if slug != "doses":
        return {}
    return {
        "live": {
            "url": f"/patients/{patient_id}/doses/preview",
            "target": "dose-preview",
            "initial": "The protocol dose appears here once cycle, drug and weight are filled.",
        }
    }


def dose_preview_text(protocol: Protocol, state: str, values: dict[str, str]) -> str:
    """The protocol dose for the typed cycle, drug, phase and weight, in words."""
    phase = values.get("phase") or {"induction": "induction", "maintenance": "maintenance"}.get(
        state, "continued"
    )
    try:
        cycle = int(values.get("cycle", ""))
        weight = float(values["weight_kg"]) if values.get("weight_kg") else None
    except ValueError:
        return "Type the cycle as a whole number and the weight in kg to see the protocol dose."
    drug = values.get("drug") or ""
    if not drug:
        return "Choose the drug to see the protocol dose."
    try:
        dose = protocol_dose_mg(protocol, phase, cycle, drug, weight)
    except (InvalidInput, ProtocolViolation) as error:
        if isinstance(error, InvalidInput):
            return " ".join(p.message for p in plain_problems(error))
        return f"Not given by the protocol: {error}"
    text = f"Protocol dose: {dose:g} mg ({phase} cycle {cycle}, {drug}"
    text += f", {weight:g} kg)." if weight else ")."
    given = values.get("dose_given_mg")
    try:
        if given and abs(float(given) - dose) > 0.1 * dose:
            text += " The dose given differs by more than 10%: it will be recorded as a deviation."
    except ValueError:
        pass
    return text


def build(protocol: Protocol) -> APIRouter:
    """The routes of every simple step of ``protocol``'s forms."""
    router = APIRouter(include_in_schema=False)
    preview_path = "/patients/{patient_id}/doses/preview"

    @router.post(preview_path, response_class=HTMLResponse, **page("POST", preview_path, "record_dose"))  # fmt: skip
    def dose_preview(page: PageDep, patient_id: PatientId) -> Response:
        patient = sv.patient_summary(page.ctx, patient_id)
        text = dose_preview_text(page.ctx.protocol, patient["state"], page.values())
        return HTMLResponse(_escape(text))

    for step in steps(protocol):
        if step.call is not None:
            _routes(router, step)
    return router


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))
