"""/api/v1/patients: register, list (filter, sort, page), one patient's summary, timeline,
audit history and allocation record."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from talentop import services as sv
from talentop.api.deps import CtxDep, IdempotencyKey, PagingDep, PatientId
from talentop.api.routes._run import act, needs, read
from talentop.api.schemas import PatientIn
from talentop.services.states import STATES

router = APIRouter(prefix="/patients", tags=["patients"])

StateFilter = Literal[STATES]  # type: ignore[valid-type]


@router.get(
    "",
    summary="Patients the caller may see: filter, sort, page",
    **needs("list_patients"),
)
def list_patients(
    ctx: CtxDep,
    paging: PagingDep,
    site: Annotated[str | None, Query(max_length=32, description="Site code")] = None,
    state: Annotated[list[StateFilter] | None, Query(description="One or more states")] = None,
    arm: Annotated[str | None, Query(max_length=16)] = None,
    q: Annotated[
        str | None, Query(max_length=64, description="Text the pseudo id contains")
    ] = None,
    sort: Literal["id", "pseudo_id", "registered_on", "state", "site", "arm"] = "id",
    descending: bool = False,
) -> dict[str, Any]:
    return read(
        lambda: sv.list_patients(
            ctx,
            site=site,
            state=state,
            arm=arm,
            q=q,
            sort=sort,
            descending=descending,
            limit=paging.limit,
            offset=paging.offset,
        )
    )


@router.post(
    "",
    summary="Register a patient (-> registered)",
    status_code=201,
    **needs("register_patient"),
)
def register(body: PatientIn, ctx: CtxDep, idempotency_key: IdempotencyKey = None) -> Any:
    return act(
        ctx,
        "register_patient",
        body,
        idempotency_key,
        lambda: {
            "patient_id": sv.register_patient(
                ctx,
                body.site_code,
                body.pseudo_id,
                registered_on=body.registered_on,
                sex=body.sex,
                birth_year=body.birth_year,
            ),
            "state": "registered",
        },
        location=lambda result: f"/api/v1/patients/{result['patient_id']}",
    )


@router.get(
    "/{patient_id}",
    summary="State, arm, site and the path so far",
    **needs("patient_summary"),
)
def summary(patient_id: PatientId, ctx: CtxDep) -> dict[str, Any]:
    return read(lambda: sv.patient_summary(ctx, patient_id))


@router.get(
    "/{patient_id}/timeline",
    summary="Every record, who entered it and when",
    **needs("patient_timeline"),
)
def timeline(
    patient_id: PatientId,
    ctx: CtxDep,
    kind: Annotated[
        str | None, Query(max_length=64, description="Only records of one table")
    ] = None,
) -> dict[str, Any]:
    result = sv.patient_timeline(ctx, patient_id)
    if kind is not None:
        result["records"] = [r for r in result["records"] if r["kind"] == kind]
    return read(lambda: result)


@router.get(
    "/{patient_id}/audit",
    summary="The patient's audit history, newest first",
    **needs("audit_entries"),
)
def audit(
    patient_id: PatientId,
    ctx: CtxDep,
    paging: PagingDep,
    entity: Annotated[str | None, Query(max_length=64)] = None,
    entity_id: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    return read(
        lambda: sv.audit_history(
            ctx,
            patient_id=patient_id,
            entity=entity,
            entity_id=entity_id,
            limit=paging.limit,
            offset=paging.offset,
        )
    )


@router.get(
    "/{patient_id}/randomisation",
    summary="The allocation record (after randomisation)",
    **needs("allocation_record"),
)
def allocation(patient_id: PatientId, ctx: CtxDep) -> dict[str, Any]:
    return read(lambda: sv.allocation_record(ctx, patient_id))
