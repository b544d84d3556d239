"""Electronic signatures (21 CFR Part 11, ``services.data.signatures``): the investigator
signs a patient's case report at a milestone, an MDT member their own vote, the
statistician the interim analysis at a data cut-off. Each form asks for the password again
(and the two-factor code where the user has set it up: 11.200); the signature then shows
the printed name, the UTC time, the meaning and whether it is still valid."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from talentop import services as sv
from talentop.api.deps import PatientId, RowId
from talentop.services import identity
from talentop.services.data.signatures import CASE_REPORT_ROLES, MEANINGS, MILESTONES
from talentop.web.forms import Input
from talentop.web.session import Page, PageDep, page, see_other
from talentop.web.submit import Refused, attempt, form_state

router = APIRouter(include_in_schema=False)

MEANING_LABELS = {
    "entered": "entered: I entered these data",
    "reviewed": "reviewed: I reviewed these data",
    "approved": "approved: I approve these data",
}
assert set(MEANING_LABELS) == set(MEANINGS)
MILESTONE_LABELS = {
    "end_of_induction": "End of induction",
    "randomisation": "Randomisation",
    "end_of_treatment": "End of treatment",
    "end_of_study": "End of study",
}
assert set(MILESTONE_LABELS) == set(MILESTONES)


def credentials(page: Page) -> tuple[Input, ...]:
    """Meaning, the password again and, if the user has it, the two-factor code."""
    inputs = [
        Input(
            "meaning",
            "Meaning of your signature",
            "select",
            choices=tuple(MEANING_LABELS.items()),
            required=True,
        ),  # fmt: skip
        Input(
            "password",
            "Your password, again",
            "password",
            required=True,
            hint="a signature needs your password each time",
        ),  # fmt: skip
    ]
    if identity.whoami(page.ctx)["totp_enabled"]:
        inputs.append(Input("totp", "Two-factor code", required=True, hint="the 6 digits your app shows now", attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}))  # fmt: skip
    return tuple(inputs)


def _sign(page: Page, target: str, args: dict[str, Any], **where: Any) -> Any:
    return sv.sign(page.ctx, target, meaning=args["meaning"], password=args["password"] or "", totp=args.get("totp"), **where)  # fmt: skip


def _form(page: Page, *, title: str, action: str, inputs: tuple[Input, ...], intro: str, patient: Any = None, refused: Refused | None = None, defaults: dict[str, str] | None = None, violation: Any = None) -> HTMLResponse:  # fmt: skip
    return page.render_form(
        form_state(refused, defaults, violation),
        title=title,
        action=action,
        inputs=inputs,
        patient=patient,
        submit="Sign",
        intro=intro,
    )


# --- the case report ---------------------------------------------------------------------
SIGN_CASE = "/patients/{patient_id}/sign"


def reached(summary: dict[str, Any]) -> list[str]:
    """The milestones the patient has reached (their states entered)."""
    states = {h["to"] for h in summary["history"]}
    return [name for name, ends in MILESTONES.items() if states & set(ends)]


def _case_form(page: Page, patient_id: int, refused: Refused | None = None) -> HTMLResponse:
    summary = sv.patient_summary(page.ctx, patient_id)
    milestones = reached(summary)
    violation = None
    if page.user.role not in CASE_REPORT_ROLES:
        violation = {"rule": "the site's investigator signs the case report", "message": f"A {page.user.role.replace('_', ' ')} does not sign case reports."}  # fmt: skip
    elif not milestones:
        violation = {"rule": "a case report is signed at a milestone: end of induction, randomisation, end of treatment, end of study", "message": "The patient has reached none yet."}  # fmt: skip
    inputs = (
        Input(
            "milestone",
            "Milestone",
            "select",
            choices=tuple((m, MILESTONE_LABELS[m]) for m in milestones),
            required=True,
        ),  # fmt: skip
        *credentials(page),
    )
    defaults = {"meaning": "approved", "milestone": milestones[-1] if milestones else ""}
    return _form(
        page,
        title="Sign the case report",
        action=f"/patients/{patient_id}/sign",
        inputs=inputs,
        intro="Your signature covers every clinical record of this patient as it is now "
        "(its SHA-256 is kept with it): a later change shows the signature as broken "
        "wherever it is listed.",
        patient=summary,
        refused=refused,
        defaults=defaults,
        violation=violation,
    )


@router.get(SIGN_CASE, response_class=HTMLResponse, **page("GET", SIGN_CASE, "sign"))
def case_form(page: PageDep, patient_id: PatientId) -> Response:
    return _case_form(page, patient_id)


@router.post(SIGN_CASE, response_class=HTMLResponse, **page("POST", SIGN_CASE, "sign"))
def sign_case(page: PageDep, patient_id: PatientId) -> Response:
    inputs = (Input("milestone", "Milestone", "select", required=True), *credentials(page))  # fmt: skip
    _, refused = attempt(page.values(), inputs, lambda a: _sign(page, "case_report", a, patient_id=patient_id, milestone=a["milestone"]))  # fmt: skip
    if refused is not None:
        return _case_form(page, patient_id, refused)
    return see_other(f"/patients/{patient_id}?saved=signed")


# --- an MDT member's own vote --------------------------------------------------------------
SIGN_VOTE = "/mdt-votes/{ballot_id}/sign"


def _vote_form(page: Page, ballot_id: int, refused: Refused | None = None) -> HTMLResponse:
    return _form(
        page,
        title=f"Sign your MDT vote (vote {ballot_id})",
        action=f"/mdt-votes/{ballot_id}/sign",
        inputs=credentials(page),
        intro="Members sign their own vote: your name, the time and the meaning are shown "
        "with it, and a change of the vote afterwards shows the signature as broken.",
        refused=refused,
        defaults={"meaning": "entered"},
    )


@router.get(SIGN_VOTE, response_class=HTMLResponse, **page("GET", SIGN_VOTE, "sign"))
def vote_form(page: PageDep, ballot_id: RowId) -> Response:
    return _vote_form(page, ballot_id)


@router.post(SIGN_VOTE, response_class=HTMLResponse, **page("POST", SIGN_VOTE, "sign"))
def sign_vote(page: PageDep, ballot_id: RowId) -> Response:
    _, refused = attempt(page.values(), credentials(page), lambda a: _sign(page, "mdt_vote", a, target_id=str(ballot_id)), aliases={"target_id": "meaning"})  # fmt: skip
    if refused is not None:
        return _vote_form(page, ballot_id, refused)
    return see_other(f"/mdt-queue?signed={ballot_id}")


# --- the interim analysis ------------------------------------------------------------------
SIGN_INTERIM = "/analysis/sign"


def _interim_form(page: Page, refused: Refused | None = None) -> HTMLResponse:
    inputs = (
        Input(
            "cutoff", "Data cut-off of the analysis", "date", required=True, hint="year-month-day"
        ),  # fmt: skip
        *credentials(page),
    )
    return _form(
        page,
        title="Sign the interim analysis",
        action="/analysis/sign",
        inputs=inputs,
        intro="Your signature covers the ADTTE data set of the live database at the cut-off "
        "(its SHA-256 is kept): a later change of the data shows it as broken.",
        refused=refused,
        defaults={"meaning": "approved", "cutoff": dt.date.today().isoformat()},
    )


@router.get(SIGN_INTERIM, response_class=HTMLResponse, **page("GET", SIGN_INTERIM, "derive_endpoints"))  # fmt: skip
def interim_form(page: PageDep) -> Response:
    return _interim_form(page)


@router.post(SIGN_INTERIM, response_class=HTMLResponse, **page("POST", SIGN_INTERIM, "sign"))
def sign_interim(page: PageDep) -> Response:
    inputs = (Input("cutoff", "Data cut-off", "date", required=True), *credentials(page))  # fmt: skip
    values = page.values()
    _, refused = attempt(values, inputs, lambda a: _sign(page, "interim", a, target_id=a["cutoff"]), aliases={"target_id": "cutoff", "cutoff_date": "cutoff"})  # fmt: skip
    if refused is not None:
        return _interim_form(page, refused)
    return see_other(f"/analysis?cutoff={quote(values.get('cutoff', ''))}&signed=1")
