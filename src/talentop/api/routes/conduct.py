"""/api/v1 consent, SAE reports, deviation log, medication: writes under the patient (or the
SAE report), reads within the caller's scope. The printable SAE form is HTML."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from talentop import services as sv
from talentop.api.deps import CtxDep, IdempotencyKey, PatientId, RowId
from talentop.api.long_running import long_running
from talentop.api.routes._run import act, needs, read
from talentop.api.schemas_conduct import (
    ConmedIn,
    ConsentIn,
    ExpeditedIn,
    HistoryIn,
    SaeFollowUpIn,
    SaeReportIn,
    WithdrawalIn,
)

router = APIRouter(tags=["consent, safety, deviations, medication"])


@router.post(
    "/patients/{patient_id}/consents",
    summary="A signed informed-consent form (version, scopes, who took it)",
    status_code=201,
    **needs("record_consent"),
)
def consent(
    patient_id: PatientId, body: ConsentIn, ctx: CtxDep, idempotency_key: IdempotencyKey = None
) -> Any:
    fields = body.model_dump()
    on = fields.pop("consented_on")
    return act(
        ctx,
        f"consent:{patient_id}",
        body,
        idempotency_key,
        lambda: sv.record_consent(ctx, patient_id, on, **fields),
    )


@router.post(
    "/patients/{patient_id}/consent-withdrawals",
    summary="Withdraw consent to some scopes (and those they imply)",
    status_code=201,
    **needs("withdraw_consent"),
)
def withdraw(patient_id: PatientId, body: WithdrawalIn, ctx: CtxDep) -> Any:
    return act(
        ctx,
        f"withdraw:{patient_id}",
        body,
        None,
        lambda: sv.withdraw_consent(
            ctx, patient_id, body.withdrawn_on, scopes=body.scopes, reason=body.reason
        ),
    )


@router.get(
    "/patients/{patient_id}/consent",
    summary="Signed forms, withdrawals, scopes in force, re-consent due",
    **needs("consent_status"),
)
def consent_status(patient_id: PatientId, ctx: CtxDep) -> dict[str, Any]:
    return read(lambda: sv.consent_status(ctx, patient_id))


@router.get(
    "/reconsent-due",
    summary="Patients on study who must sign a newer consent form",
    **needs("reconsent_due"),
)
def reconsent_due(ctx: CtxDep) -> list[dict[str, Any]]:
    return read(lambda: sv.reconsent_due(ctx))


@router.post(
    "/sae-reports",
    summary="The initial SAE report of an adverse event (criteria, clock, causality)",
    status_code=201,
    **needs("report_sae"),
)
def report_sae(body: SaeReportIn, ctx: CtxDep, idempotency_key: IdempotencyKey = None) -> Any:
    """The response gives the 24-hour clock (due, hours taken, on time), expectedness per
    product against the protocol's reference safety information and the SUSAR flag."""
    fields = body.model_dump()
    ae = fields.pop("adverse_event_id")
    return act(
        ctx,
        f"sae:{ae}",
        body,
        idempotency_key,
        lambda: sv.report_sae(ctx, ae, **fields),
        location=lambda result: f"/api/v1/sae-reports/{result['sae_id']}",
    )


@router.post(
    "/sae-reports/{sae_id}/follow-ups",
    summary="A follow-up report of an SAE (new information, outcome, causality)",
    status_code=201,
    **needs("record_sae_follow_up"),
)
def sae_follow_up(
    sae_id: RowId, body: SaeFollowUpIn, ctx: CtxDep, idempotency_key: IdempotencyKey = None
) -> Any:
    return act(
        ctx,
        f"sae-follow-up:{sae_id}",
        body,
        idempotency_key,
        lambda: sv.record_sae_follow_up(ctx, sae_id, **body.model_dump()),
    )


@router.post(
    "/sae-reports/{sae_id}/expedited-report",
    summary="The sponsor's expedited report of a SUSAR (7/15-day clock)",
    status_code=201,
    **needs("record_expedited_report"),
)
def expedited(sae_id: RowId, body: ExpeditedIn, ctx: CtxDep) -> Any:
    return act(
        ctx,
        f"expedited:{sae_id}",
        body,
        None,
        lambda: sv.record_expedited_report(ctx, sae_id, body.reported_on),
    )


@router.get("/sae-reports", summary="The SAE listing, by arm", **needs("sae_listing"))
def sae_listing(
    ctx: CtxDep, arm: Annotated[str | None, Query(max_length=16)] = None
) -> list[dict[str, Any]]:
    return read(lambda: sv.sae_listing(ctx, arm=arm))


@router.get(
    "/sae-reports/overdue",
    summary="Safety clocks run out with nothing sent",
    **needs("overdue_saes"),
)
def sae_overdue(ctx: CtxDep) -> list[dict[str, Any]]:
    return read(lambda: sv.overdue_saes(ctx))


@router.get("/sae-reports/{sae_id}", summary="One SAE report", **needs("sae_form"))
def sae_report(sae_id: RowId, ctx: CtxDep) -> dict[str, Any]:
    return read(lambda: sv.sae_form(ctx, sae_id))


@router.get(
    "/sae-reports/{sae_id}/form",
    summary="The printable SAE form (HTML)",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {}}}},
    **needs("sae_form"),
)
def sae_form_html(sae_id: RowId, ctx: CtxDep) -> HTMLResponse:
    from talentop.reports.sae_form import render_sae_form

    return HTMLResponse(render_sae_form(sv.sae_form(ctx, sae_id)))


@router.get("/deviations", summary="The deviation log, by site", **needs("deviation_log"))
def deviation_log(
    ctx: CtxDep, site: Annotated[str | None, Query(max_length=32)] = None
) -> list[dict[str, Any]]:
    return read(lambda: sv.deviation_log(ctx, site=site))


@router.get(
    "/deviations/summary",
    summary="Deviations by category and arm",
    **needs("deviation_summary"),
)
def deviation_summary(ctx: CtxDep) -> dict[str, Any]:
    return read(lambda: sv.deviation_summary(ctx))


@router.get(
    "/conduct/summary",
    summary="Consent, withdrawals, concomitant medication and medication findings by arm",
    **needs("conduct_summary"),
)
@long_running
def conduct_summary(ctx: CtxDep) -> dict[str, Any]:
    return read(lambda: sv.conduct_summary(ctx))


@router.post(
    "/patients/{patient_id}/conmeds",
    summary="A concomitant medication (the protocol's medication rules are checked)",
    status_code=201,
    **needs("record_conmed"),
)
def conmed(
    patient_id: PatientId, body: ConmedIn, ctx: CtxDep, idempotency_key: IdempotencyKey = None
) -> Any:
    fields = body.model_dump()
    start = fields.pop("start_date")
    return act(
        ctx,
        f"conmed:{patient_id}",
        body,
        idempotency_key,
        lambda: sv.record_conmed(ctx, patient_id, start, **fields),
    )


@router.post(
    "/patients/{patient_id}/medical-history",
    summary="A prior or ongoing condition",
    status_code=201,
    **needs("record_medical_history"),
)
def history(
    patient_id: PatientId, body: HistoryIn, ctx: CtxDep, idempotency_key: IdempotencyKey = None
) -> Any:
    fields = body.model_dump()
    on = fields.pop("recorded_on")
    return act(
        ctx,
        f"history:{patient_id}",
        body,
        idempotency_key,
        lambda: {"history_id": sv.record_medical_history(ctx, patient_id, on, **fields)},
    )


@router.get(
    "/patients/{patient_id}/medication",
    summary="Medication, medical history and rule findings",
    **needs("medication_checks"),
)
def medication(patient_id: PatientId, ctx: CtxDep) -> dict[str, Any]:
    return read(lambda: sv.medication_checks(ctx, patient_id))


@router.get(
    "/medication-alerts",
    summary="Every medication rule finding in scope",
    **needs("medication_alerts"),
)
def medication_alerts(ctx: CtxDep) -> list[dict[str, Any]]:
    return read(lambda: sv.medication_alerts(ctx))
