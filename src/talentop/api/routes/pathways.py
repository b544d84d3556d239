"""/api/v1/patients/{id}/...: the experts' pathway records: structured resectability
assessments and local therapy (TACE) with its response."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from talentop import services as sv
from talentop.api.deps import CtxDep, IdempotencyKey, PatientId, RowId
from talentop.api.routes._run import act, needs
from talentop.api.routes.steps import _id
from talentop.api.schemas import LocalTherapyIn, LocalTherapyResponseIn, ResectabilityIn

router = APIRouter(prefix="/patients/{patient_id}", tags=["patient path"])


@router.post(
    "/resectability",
    summary="A structured resectability assessment (baseline class at screening)",
    status_code=201,
    **needs("record_resectability"),
)
def resectability(
    patient_id: PatientId,
    body: ResectabilityIn,
    ctx: CtxDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    return act(
        ctx,
        f"resectability:{patient_id}",
        body,
        idempotency_key,
        lambda: sv.record_resectability(
            ctx,
            patient_id,
            body.assessed_on,
            criteria=body.criteria,
            context=body.context,
            resectability_class=body.resectability_class,
            reason=body.reason,
        ),
    )


@router.post(
    "/local-therapies",
    summary="A local therapy procedure (e.g. TACE) on baseline lesions",
    status_code=201,
    **needs("record_local_therapy"),
)
def local_therapy(
    patient_id: PatientId, body: LocalTherapyIn, ctx: CtxDep, idempotency_key: IdempotencyKey = None
) -> Any:
    return act(
        ctx,
        f"local_therapy:{patient_id}",
        body,
        idempotency_key,
        lambda: _id(
            "therapy_id",
            sv.record_local_therapy(
                ctx,
                patient_id,
                body.performed_on,
                therapy=body.therapy,
                target_lesions=body.target_lesions,
                technique=body.technique,
            ),
        ),
    )


@router.post(
    "/local-therapies/{therapy_id}/response",
    summary="The mRECIST response of a local therapy's treated lesions",
    status_code=201,
    **needs("record_local_therapy_response"),
)
def local_therapy_response(
    patient_id: PatientId, therapy_id: RowId, body: LocalTherapyResponseIn, ctx: CtxDep
) -> Any:
    return act(
        ctx,
        f"local_therapy_response:{patient_id}",
        body,
        None,
        lambda: (
            sv.record_local_therapy_response(
                ctx, patient_id, therapy_id, body.assessed_on, response=body.response
            ),
            {"therapy_id": therapy_id, "response": body.response},
        )[1],
    )
