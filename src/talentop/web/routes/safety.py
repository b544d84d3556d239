"""Serious adverse events (``services.sae``, ``services.sae_reads``): the SAE report on an
adverse event (seriousness criteria, when the site became aware, causality per product,
outcome), follow-up reports, one SAE with its clocks, the printable SAE form, and the
safety desk's page (SAE listing by arm, SAEs overdue against their clocks, medication
findings). An SAE is an AE with its report: the AE record stays the source."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Annotated, Any, get_args

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from talentop import services as sv
from talentop.api.deps import PatientId, RowId
from talentop.errors import NotFound
from talentop.protocol import Protocol
from talentop.protocol.conduct import SAE_CRITERIA
from talentop.services.sae import OUTCOMES, Relatedness
from talentop.web.forms import Input, choices
from talentop.web.records import find
from talentop.web.session import Page, PageDep, page, see_other
from talentop.web.steps import may_write
from talentop.web.submit import Refused, attempt, form_state

router = APIRouter(include_in_schema=False)

CRITERION_LABELS = {
    "death": "Results in death",
    "life_threatening": "Life-threatening",
    "hospitalisation": "Requires or prolongs hospitalisation",
    "disability": "Persistent or significant disability or incapacity",
    "congenital_anomaly": "Congenital anomaly or birth defect",
    "important_medical_event": "Important medical event",
}
assert set(CRITERION_LABELS) == set(SAE_CRITERIA)
RELATEDNESS = get_args(Relatedness)
#: UTC offsets a site may give its times in (whole hours, and the common half hours).
OFFSETS = tuple(
    [(f"{h:+03d}:00", f"UTC{h:+03d}:00") for h in range(-12, 15)]
    + [("+05:30", "UTC+05:30"), ("+09:30", "UTC+09:30")]
)
OFFSET = Input(
    "utc_offset",
    "Time zone of the times above",
    "select",
    choices=OFFSETS,
    required=True,
    hint="the clocks run in UTC; e.g. UTC+08:00 for China",
)


def _criteria_inputs() -> tuple[Input, ...]:
    """A box per criterion (the service asks for at least one on the initial report)."""
    return tuple(Input(f"crit_{c}", label, "checkbox", group="criteria") for c, label in CRITERION_LABELS.items())  # fmt: skip


def _causality_inputs(protocol: Protocol, *, update: bool = False) -> tuple[Input, ...]:
    products = protocol.safety.products if protocol.safety else []
    hint_drug = "unchanged if empty" if update else ""
    return tuple(
        Input(
            f"causality_{p.product}",
            f"Related to {p.product}?",
            "select",
            choices=choices(*RELATEDNESS),
            group="causality",
            hint=hint_drug
            or (
                "only if the patient was operated before the onset" if p.kind == "procedure" else ""
            ),  # fmt: skip
        )
        for p in products
    )


def report_inputs(protocol: Protocol) -> tuple[Input, ...]:
    return (
        *_criteria_inputs(),
        Input(
            "awareness_at",
            "The site became aware of the event",
            "datetime",
            required=True,
            hint="date and time: the 24-hour clock starts here",
        ),  # fmt: skip
        Input("reported_at", "Report sent to the sponsor", "datetime", hint="empty: now"),
        OFFSET,
        *_causality_inputs(protocol),
        Input("outcome", "Outcome so far", "select", choices=choices(*OUTCOMES), required=True),
        Input("narrative", "Narrative", "textarea", hint="what happened, treatment, course"),
    )


def follow_up_inputs(protocol: Protocol) -> tuple[Input, ...]:
    return (
        Input(
            "info_received_at",
            "New information received",
            "datetime",
            required=True,
            hint="the follow-up clock starts here",
        ),  # fmt: skip
        Input("reported_at", "Follow-up sent to the sponsor", "datetime", hint="empty: now"),
        OFFSET,
        Input("description", "New information", "textarea", required=True),
        Input(
            "outcome", "Outcome now", "select", choices=choices(*OUTCOMES), hint="empty: unchanged"
        ),  # fmt: skip
        Input(
            "grade",
            "CTCAE grade now",
            "select",
            choices=tuple((str(g), f"grade {g}") for g in range(1, 6)),
            hint="empty: unchanged; the AE record is updated",
        ),  # fmt: skip
        *_criteria_inputs(),
        *_causality_inputs(protocol, update=True),
    )


def _at(value: str | None, offset: str | None) -> str | None:
    """A typed local date-time with its UTC offset ("2025-03-27T09:00+08:00")."""
    if value is None:
        return None
    return value + (offset or "")


def _causality(protocol: Protocol, args: dict[str, Any]) -> dict[str, str]:
    products = protocol.safety.products if protocol.safety else []
    return {p.product: args[f"causality_{p.product}"] for p in products if args.get(f"causality_{p.product}")}  # fmt: skip


def _criteria(args: dict[str, Any]) -> list[str]:
    return [c for c in SAE_CRITERIA if args.get(f"crit_{c}")]


def aliases(protocol: Protocol) -> dict[str, str]:
    """The service's whole-list problems -> the first input of their group; one product's
    causality (``causality.atezolizumab``) -> its own select."""
    products = protocol.safety.products if protocol.safety else []
    first = f"causality_{products[0].product}" if products else "outcome"
    each = {f"causality.{p.product}": f"causality_{p.product}" for p in products}
    return {"criteria": f"crit_{SAE_CRITERIA[0]}", "causality": first, **each}


def _patient_site(records: list[dict[str, Any]]) -> int:
    return next(r for r in records if r["kind"] == "patients")["data"]["site_id"]


# --- the initial report --------------------------------------------------------------------
REPORT = "/patients/{patient_id}/adverse-events/{ae_id}/sae"


def _report_form(page: Page, patient_id: int, ae_id: int, refused: Refused | None = None) -> HTMLResponse:  # fmt: skip
    timeline = sv.patient_timeline(page.ctx, patient_id)
    ae = find(timeline["records"], "adverse_events", ae_id)
    reported = [r for r in timeline["records"] if r["kind"] == "sae_reports" and r["data"].get("adverse_event_id") == ae_id]  # fmt: skip
    shown = form_state(refused, {"utc_offset": "+00:00", "outcome": "not_recovered"})
    violation = shown["violation"]
    if reported and not violation:
        violation = {"rule": "one SAE report per adverse event; new information is a follow-up report", "message": f"This event already has SAE report {reported[0]['id']}."}  # fmt: skip
    data = ae["data"]
    return page.render_form(
        shown,
        violation=violation,
        title=f"SAE report: {data.get('term')} (grade {data.get('grade')}, onset {data.get('onset_date')})",  # fmt: skip
        action=f"/patients/{patient_id}/adverse-events/{ae_id}/sae",
        inputs=report_inputs(page.ctx.protocol),
        patient=timeline,
        submit="Send the SAE report",
        intro=f"The initial report is due {page.ctx.protocol.safety.initial_report_hours if page.ctx.protocol.safety else 24} hours "  # fmt: skip
        "after the site became aware of the event (ICH E2A, E6(R3) 2.7). Expectedness is "
        "judged against the protocol's reference safety information; a related, unexpected "
        "serious event is a SUSAR.",
    )


@router.get(REPORT, response_class=HTMLResponse, **page("GET", REPORT, "report_sae"))
def report_form(page: PageDep, patient_id: PatientId, ae_id: RowId) -> Response:
    return _report_form(page, patient_id, ae_id)


@router.post(REPORT, response_class=HTMLResponse, **page("POST", REPORT, "report_sae"))
def report(page: PageDep, patient_id: PatientId, ae_id: RowId) -> Response:
    find(sv.patient_timeline(page.ctx, patient_id)["records"], "adverse_events", ae_id)
    protocol = page.ctx.protocol

    def call(args: dict[str, Any]) -> Any:
        return sv.report_sae(
            page.ctx,
            ae_id,
            criteria=_criteria(args),
            awareness_at=_at(args["awareness_at"], args["utc_offset"]),
            causality=_causality(protocol, args),
            outcome=args["outcome"],
            narrative=args["narrative"],
            reported_at=_at(args["reported_at"], args["utc_offset"]),
        )

    result, refused = attempt(
        page.values(), report_inputs(protocol), call, aliases=aliases(protocol)
    )
    if refused is not None:
        return _report_form(page, patient_id, ae_id, refused)
    return see_other(f"/patients/{patient_id}/sae/{result['sae_id']}?done=reported")


# --- one SAE, its printable form, its follow-ups --------------------------------------------
SAE = "/patients/{patient_id}/sae/{sae_id}"


def sae_of(page: Page, patient_id: int, sae_id: int) -> dict[str, Any]:
    record = sv.sae_form(page.ctx, sae_id)
    if record["patient_id"] != patient_id:
        raise NotFound(f"SAE report: no report {sae_id} of patient {patient_id}")
    return record


@router.get(SAE, response_class=HTMLResponse, **page("GET", SAE, "sae_form"))
def sae_page(page: PageDep, patient_id: PatientId, sae_id: RowId, done: Annotated[str | None, Query(max_length=16)] = None) -> Response:  # fmt: skip
    record = sae_of(page, patient_id, sae_id)
    timeline = sv.patient_timeline(page.ctx, patient_id)
    return page.render(
        "sae.html",
        title=f"SAE {sae_id}",
        patient=timeline,
        r=record,
        done=done,
        criteria=CRITERION_LABELS,
        can_follow_up=may_write(
            page.user.role,
            page.user.site_id,
            "record_sae_follow_up",
            _patient_site(timeline["records"]),
        ),  # fmt: skip
    )


FORM = SAE + "/form"


def _csp_for(html: str) -> str:
    """A Content Security Policy that lets exactly this document's own styles apply (their
    SHA-256; the form is one self-contained file for printing) and nothing else run."""
    blocks = re.findall(r"<style>(.*?)</style>", html, flags=re.S)
    attributes = re.findall(r'\sstyle="([^"]*)"', html)
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()}'"
        for text in sorted(set(blocks) | set(attributes))
    )
    unsafe_hashes = " 'unsafe-hashes'" if attributes else ""
    return (
        f"default-src 'none'; style-src {hashes}{unsafe_hashes}; img-src 'self' data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


@router.get(FORM, response_class=HTMLResponse, **page("GET", FORM, "sae_form"))
def printable(page: PageDep, patient_id: PatientId, sae_id: RowId) -> Response:
    """The printable SAE form (``talentop.reports.sae_form``, as the API and CLI give it)."""
    from talentop.reports.sae_form import render_sae_form

    html = render_sae_form(sae_of(page, patient_id, sae_id))
    return HTMLResponse(html, headers={"Content-Security-Policy": _csp_for(html)})


FOLLOW_UP = SAE + "/follow-up"


def _follow_up_form(page: Page, patient_id: int, sae_id: int, refused: Refused | None = None) -> HTMLResponse:  # fmt: skip
    record = sae_of(page, patient_id, sae_id)
    return page.render_form(
        form_state(refused, {"utc_offset": "+00:00"}),
        title=f"Follow-up report of SAE {sae_id}: {record['term']}",
        action=f"/patients/{patient_id}/sae/{sae_id}/follow-up",
        inputs=follow_up_inputs(page.ctx.protocol),
        patient=sv.patient_summary(page.ctx, patient_id),
        submit="Send the follow-up",
        intro="New information is reported within its own clock after it reached the site. "
        "Tick only criteria that now apply in addition; causality left empty is unchanged.",
        cancel=f"/patients/{patient_id}/sae/{sae_id}",
    )


@router.get(FOLLOW_UP, response_class=HTMLResponse, **page("GET", FOLLOW_UP, "record_sae_follow_up"))  # fmt: skip
def follow_up_form(page: PageDep, patient_id: PatientId, sae_id: RowId) -> Response:
    return _follow_up_form(page, patient_id, sae_id)


@router.post(FOLLOW_UP, response_class=HTMLResponse, **page("POST", FOLLOW_UP, "record_sae_follow_up"))  # fmt: skip
def follow_up(page: PageDep, patient_id: PatientId, sae_id: RowId) -> Response:
    sae_of(page, patient_id, sae_id)
    protocol = page.ctx.protocol

    def call(args: dict[str, Any]) -> Any:
        return sv.record_sae_follow_up(
            page.ctx,
            sae_id,
            info_received_at=_at(args["info_received_at"], args["utc_offset"]),
            description=args["description"],
            reported_at=_at(args["reported_at"], args["utc_offset"]),
            outcome=args["outcome"],
            grade=args["grade"],
            criteria=_criteria(args) or None,
            causality=_causality(protocol, args) or None,
        )

    _, refused = attempt(page.values(), follow_up_inputs(protocol), call, aliases=aliases(protocol))
    if refused is not None:
        return _follow_up_form(page, patient_id, sae_id, refused)
    return see_other(f"/patients/{patient_id}/sae/{sae_id}?done=follow-up")


# --- the safety desk -------------------------------------------------------------------------
@router.get("/safety", response_class=HTMLResponse, **page("GET", "/safety", "sae_listing"))
def safety(page: PageDep, arm: Annotated[str | None, Query(max_length=16)] = None) -> Response:
    """The SAE listing by arm, the SAEs overdue against their clocks, medication findings."""
    arms = [a.id for a in page.ctx.protocol.arms]
    arm = arm if arm in arms else None
    return page.render(
        "safety.html",
        title="Safety",
        listing=sv.sae_listing(page.ctx, arm=arm),
        overdue=sv.overdue_saes(page.ctx),
        alerts=sv.medication_alerts(page.ctx),
        arms=arms,
        arm=arm or "",
    )
