"""Screening: every protocol field with its unit, each criterion's verdict shown live while
the form is filled (htmx posts the form to ``/screening/check``; without JavaScript the
"Check eligibility" button does the same), and the overall verdict before saving.

The verdicts come from ``talentop.clinical.evaluate_eligibility``, the pure function the
``screen_patient`` service runs, so what the page shows is what the service will store.
A field the protocol needs but left empty is marked next to it, with the criterion it
decides, and nothing is stored until the record is complete.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from talentop import services as sv
from talentop.api.deps import PatientId
from talentop.clinical import FIELDS, evaluate_eligibility
from talentop.clinical.fields import coerce_patient
from talentop.errors import InvalidInput, ProtocolViolation
from talentop.protocol import Protocol
from talentop.web.forms import Input, choices, errors_by_field, plain_problems
from talentop.web.render import fragment
from talentop.web.routes.steps import not_now, violation_of
from talentop.web.session import Page, PageDep, page, see_other
from talentop.web.steps import by_slug, steps

router = APIRouter(include_in_schema=False)

#: Field groups as a screening CRF orders them (fields not listed go to "Other").
GROUPS = (
    (
        "Diagnosis and history",
        (
            "hcc_confirmed",
            "prior_anticancer_therapy",
            "tcm_used",
            "tcm_stopped_days_before_induction",
            "measurable_lesions",
            "largest_tumour_diameter_cm",
            "tumour_count",
        ),
    ),  # fmt: skip
    (
        "Vascular invasion and spread",
        ("vp_grade", "vv_grade", "right_atrial_thrombus", "extrahepatic_spread"),
    ),  # fmt: skip
    ("Liver volume", ("future_liver_remnant_ml", "total_functional_liver_volume_ml", "rlv_pct")),
    (
        "Liver function (one unit per lab)",
        (
            "bilirubin_umol_l",
            "bilirubin_mg_dl",
            "bilirubin_uln_umol_l",
            "bilirubin_uln_mg_dl",
            "albumin_g_l",
            "albumin_g_dl",
            "inr",
            "ascites",
            "encephalopathy",
        ),
    ),  # fmt: skip
    ("Performance", ("ecog", "life_expectancy_weeks")),
    (
        "Blood counts and enzymes",
        (
            "anc_10e9_l",
            "lymphocytes_10e9_l",
            "platelets_10e9_l",
            "haemoglobin_g_l",
            "ast_u_l",
            "ast_uln_u_l",
            "alt_u_l",
            "alt_uln_u_l",
            "alp_u_l",
            "alp_uln_u_l",
        ),
    ),  # fmt: skip
    (
        "Timing before induction",
        (
            "ecog_days_before_induction",
            "child_pugh_days_before_induction",
            "labs_days_before_induction",
        ),
    ),  # fmt: skip
)
#: Not typed on the form: ``informed_consent`` comes from the consent records (the services
#: fill it at screening; ``consented`` here for the live verdicts).
SKIP = frozenset({"patient_id", "site", "informed_consent"})
DATE = Input("screened_on", "Screening date", "date", required=True, hint="year-month-day")


def _input(name: str) -> Input:
    spec = FIELDS[name]
    label, unit = spec.description, ""
    head, _, tail = spec.description.rpartition(", ")
    if head and len(tail) <= 12:
        label, unit = head, tail
    label = label[:1].upper() + label[1:]
    if spec.kind == "bool":
        return Input(name, label, "yesno")
    if spec.kind == "choice":
        return Input(name, label, "select", choices=choices(*spec.choices))
    hint = f"plausible {spec.low:g} to {spec.high:g}" if spec.low is not None else ""
    return Input(name, label, "number", unit=unit, hint=hint)


def groups() -> list[tuple[str, list[Input]]]:
    """(title, inputs) per group, every screening field once."""
    placed = {n for _, names in GROUPS for n in names}
    out = [(title, [_input(n) for n in names if n in FIELDS]) for title, names in GROUPS]
    rest = [n for n in FIELDS if n not in placed and n not in SKIP]
    if rest:
        out.append(("Other", [_input(n) for n in rest]))
    return out


def record_from(values: dict[str, str]) -> dict[str, Any]:
    """The screening record: the fields typed (blank ones left out), yes/no as booleans."""
    record: dict[str, Any] = {}
    for name in FIELDS:
        if name in SKIP:
            continue
        text = (values.get(name) or "").strip()
        if text:
            record[name] = {"yes": True, "no": False}.get(text, text)
    return record


def consented(page: Page, patient_id: int) -> bool:
    """Whether the consent records cover every scope the protocol requires for entry."""
    in_force = sv.consent_status(page.ctx, patient_id)["in_force"]
    return all(in_force.get(scope) for scope in page.ctx.protocol.consent.required_scopes)


def verdicts(protocol: Protocol, values: dict[str, str], consent: bool = False) -> dict[str, Any]:
    """Each criterion's verdict for what is typed so far, or the typing problems."""
    record = {**record_from(values), "informed_consent": consent}
    try:
        result = evaluate_eligibility(record, protocol)
    except InvalidInput as error:
        return {"problems": plain_problems(error), "result": None}
    return {"problems": [], "result": result}


def missing_errors(protocol: Protocol, result: Any) -> dict[str, str]:
    """Field -> 'needed to decide: <criterion>' for every field an undecided criterion needs."""
    texts = {c.id: c.text for c in protocol.eligibility}
    out: dict[str, str] = {}
    for criterion in result.criteria:
        if criterion.status != "missing":
            continue
        for name in criterion.missing_fields:
            out.setdefault(name, f"Needed to decide: {texts.get(criterion.id, criterion.id)}.")
    return out


def _show(
    page: Page,
    patient: dict[str, Any],
    *,
    status: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    other: list | None = None,
    violation: dict[str, str] | None = None,
    checked: bool = False,
) -> HTMLResponse:
    values = values or {}
    step = by_slug(steps(page.ctx.protocol))["screening"]
    consent = consented(page, patient["patient_id"])
    live = verdicts(page.ctx.protocol, values, consent) if (values or checked) else None
    return page.render(
        "screening.html",
        status=status,
        title="Screening",
        patient=patient,
        date_input=DATE,
        groups=groups(),
        values=values,
        errors=errors or {},
        other=other or [],
        violation=violation if violation is not None else not_now(step, patient["state"]),
        verdicts=fragment("_verdicts.html", live=live),
    )


PATH = "/patients/{patient_id}/screening"


@router.get(PATH, response_class=HTMLResponse, **page("GET", PATH, "screen_patient"))
def screening_form(page: PageDep, patient_id: PatientId) -> Response:
    return _show(page, sv.patient_summary(page.ctx, patient_id))


@router.post(PATH + "/check", response_class=HTMLResponse, **page("POST", PATH + "/check", "screen_patient"))  # fmt: skip
def check(page: PageDep, patient_id: PatientId) -> Response:
    """The verdicts fragment (htmx), or the whole form with them (no JavaScript)."""
    patient = sv.patient_summary(page.ctx, patient_id)
    if page.htmx:
        live = verdicts(page.ctx.protocol, page.values(), consented(page, patient_id))
        return HTMLResponse(fragment("_verdicts.html", live=live))
    return _show(page, patient, values=page.values(), checked=True)


@router.post(PATH, response_class=HTMLResponse, **page("POST", PATH, "screen_patient"))
def screen(page: PageDep, patient_id: PatientId) -> Response:
    values = page.values()
    known = {"screened_on", *FIELDS}
    patient = sv.patient_summary(page.ctx, patient_id)
    try:
        record = coerce_patient(
            {**record_from(values), "informed_consent": consented(page, patient_id)}
        )
        result = evaluate_eligibility(record, page.ctx.protocol)
        if result.status == "incomplete":
            return _show(
                page,
                patient,
                status=422,
                values=values,
                errors=missing_errors(page.ctx.protocol, result),
                other=[],
                violation={},
            )
        if not values.get("screened_on"):
            raise InvalidInput("screened_on=None: expected a date (YYYY-MM-DD)")
        sv.screen_patient(page.ctx, patient_id, record, values["screened_on"])
    except InvalidInput as error:
        errors, other = errors_by_field(error, known)
        return _show(page, patient, status=422, values=values, errors=errors, other=other, violation={})  # fmt: skip
    except ProtocolViolation as error:
        return _show(page, patient, status=409, values=values, violation=violation_of(error))
    return see_other(f"/patients/{patient_id}?saved=screening")
