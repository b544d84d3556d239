"""/api/v1 data management: corrections, data queries, edit checks, source-data
verification, locks, electronic signatures, stratification errors, audit export (CSV and
CDISC ODM 1.3.2)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from talentop import services as sv
from talentop.api.deps import CtxDep, PagingDep, PatientId, RowId
from talentop.api.long_running import long_running
from talentop.api.routes._run import act, needs, read
from talentop.api.schemas import (
    AnswerIn,
    ChecksIn,
    CorrectionIn,
    LockIn,
    QueryIn,
    QueryStepIn,
    SignIn,
    UnlockIn,
    VerifyIn,
)

router = APIRouter(tags=["data management"])


@router.post(
    "/records/{entity}/{entity_id}/corrections",
    summary="Correct fields of a saved record, with a reason (re-derives what depends on them)",
    status_code=201,
    **needs("correct_record"),
)
def correct(entity: str, entity_id: RowId, body: CorrectionIn, ctx: CtxDep) -> Any:
    """Needs the permission of the service that enters that record, at its site. The
    response says what changed and what was re-derived (responses, eligibility, ALBI,
    ADTTE), whether a source verification was cleared and any stratification error."""
    return act(
        ctx,
        "correct_record",
        None,
        None,
        lambda: sv.correct_record(
            ctx, entity, entity_id, body.changes, reason=body.reason, category=body.category
        ),
    )


@router.get("/queries", summary="Data queries the caller may see", **needs("list_queries"))
def queries(
    ctx: CtxDep,
    paging: PagingDep,
    site: Annotated[str | None, Query(max_length=32)] = None,
    patient_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    state: Annotated[list[Literal["open", "answered", "closed"]] | None, Query()] = None,
) -> dict[str, Any]:
    return read(
        lambda: sv.list_queries(
            ctx,
            site=site,
            patient_id=patient_id,
            state=state,
            limit=paging.limit,
            offset=paging.offset,
        )
    )


@router.get(
    "/queries/counts", summary="Query counts by state, site, patient, age", **needs("query_counts")
)
def query_counts(ctx: CtxDep) -> dict[str, Any]:
    return read(lambda: sv.query_counts(ctx))


@router.post(
    "/queries",
    summary="Raise a query on one field of one record",
    status_code=201,
    **needs("raise_query"),
)
def raise_query(body: QueryIn, ctx: CtxDep) -> Any:
    return act(
        ctx,
        "raise_query",
        None,
        None,
        lambda: sv.raise_query(ctx, body.entity, body.entity_id, body.field, body.text),
    )


@router.post(
    "/queries/{query_id}/answer",
    summary="Answer a query (optionally with a correction)",
    **needs("answer_query"),
)
def answer(query_id: RowId, body: AnswerIn, ctx: CtxDep) -> Any:
    return act(
        ctx,
        "answer_query",
        None,
        None,
        lambda: sv.answer_query(
            ctx, query_id, body.text, correction=body.correction, reason_category=body.category
        ),
        status=200,
    )


@router.post("/queries/{query_id}/close", summary="Close a query", **needs("close_query"))
def close(query_id: RowId, body: QueryStepIn, ctx: CtxDep) -> Any:
    return act(
        ctx, "close_query", None, None, lambda: sv.close_query(ctx, query_id, body.text), status=200
    )


@router.post("/queries/{query_id}/reopen", summary="Re-open a query", **needs("reopen_query"))
def reopen(query_id: RowId, body: QueryStepIn, ctx: CtxDep) -> Any:
    return act(
        ctx,
        "reopen_query",
        None,
        None,
        lambda: sv.reopen_query(ctx, query_id, body.text),
        status=200,
    )


@router.post(
    "/checks/run",
    summary="Run the protocol's edit checks in batch (queries for new findings)",
    **needs("run_checks"),
)
def run_checks(body: ChecksIn, ctx: CtxDep) -> Any:
    return act(
        ctx,
        "run_checks",
        None,
        None,
        lambda: sv.run_checks(ctx, site=body.site, patient_id=body.patient_id),
        status=200,
    )


@router.post(
    "/verifications",
    summary="Mark a form as source-verified (SDV)",
    status_code=201,
    **needs("verify_form"),
)
def verify(body: VerifyIn, ctx: CtxDep) -> Any:
    return act(
        ctx, "verify_form", None, None, lambda: sv.verify_form(ctx, body.entity, body.entity_id)
    )


@router.get(
    "/patients/{patient_id}/data-status",
    summary="Forms with SDV, locks, corrections",
    **needs("patient_data_status"),
)
def data_status(patient_id: PatientId, ctx: CtxDep) -> dict[str, Any]:
    return read(lambda: sv.patient_data_status(ctx, patient_id))


@router.get("/locks", summary="Active locks", **needs("list_locks"))
def locks(ctx: CtxDep, include_lifted: bool = False) -> list[dict[str, Any]]:
    return read(lambda: sv.list_locks(ctx, active_only=not include_lifted))


@router.post(
    "/locks",
    summary="Lock a form, a patient or the database",
    status_code=201,
    **needs("lock_records"),
)
def lock(body: LockIn, ctx: CtxDep) -> Any:
    return act(
        ctx,
        "lock_records",
        None,
        None,
        lambda: sv.lock_records(
            ctx,
            body.scope,
            reason=body.reason,
            patient_id=body.patient_id,
            entity=body.entity,
            entity_id=body.entity_id,
        ),
    )


@router.post(
    "/locks/{lock_id}/unlock", summary="Lift a lock, with the reason", **needs("unlock_records")
)
def unlock(lock_id: RowId, body: UnlockIn, ctx: CtxDep) -> Any:
    return act(
        ctx,
        "unlock_records",
        None,
        None,
        lambda: sv.unlock_records(ctx, lock_id, reason=body.reason),
        status=200,
    )


@router.post(
    "/signatures",
    summary="Sign (password again; TOTP where set up)",
    status_code=201,
    **needs("sign"),
)
def sign(body: SignIn, ctx: CtxDep) -> Any:
    """21 CFR Part 11: the signature shows the printed name, UTC time and meaning and is
    bound to a hash of the signed content."""
    return act(
        ctx,
        "sign",
        None,
        None,
        lambda: sv.sign(
            ctx,
            body.target,
            meaning=body.meaning,
            password=body.password,
            totp=body.totp,
            target_id=body.target_id,
            patient_id=body.patient_id,
            milestone=body.milestone,
        ),
    )


@router.get(
    "/signatures",
    summary="Signatures with their status (valid or broken)",
    **needs("list_signatures"),
)
def signatures(
    ctx: CtxDep, patient_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None
) -> list[dict[str, Any]]:
    return read(lambda: sv.list_signatures(ctx, patient_id=patient_id))


@router.get(
    "/stratification-errors",
    summary="Stratification errors (analysis as randomised)",
    **needs("stratification_errors"),
)
def strata(ctx: CtxDep) -> list[dict[str, Any]]:
    return read(lambda: sv.stratification_errors(ctx))


@router.get(
    "/patients/{patient_id}/audit.csv",
    summary="One patient's audit history as CSV (the export is logged)",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
    **needs("export_audit"),
)
def audit_csv(patient_id: PatientId, ctx: CtxDep) -> Response:
    return Response(
        sv.export_audit(ctx, patient_id),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="audit-patient-{patient_id}.csv"'},
    )


def _odm_response(result: dict[str, Any], filename: str) -> Response:
    return Response(
        result["xml"],
        media_type="application/xml",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/patients/{patient_id}/audit.odm.xml",
    summary="One patient's records with their audit trail as CDISC ODM 1.3.2 (logged)",
    response_class=Response,
    responses={200: {"content": {"application/xml": {}}}},
    **needs("export_audit_odm"),
)
def audit_odm(patient_id: PatientId, ctx: CtxDep, validate: bool = False) -> Response:
    """A Transactional ODM 1.3.2 file: every change of every record of the patient as an
    ODM transaction with its AuditRecord (who, where, when, why) and the users and
    locations they name. ``validate=true`` checks it against the ODM schema first."""
    result = sv.export_audit_odm(ctx, patient_id, validate=validate)
    return _odm_response(result, f"audit-patient-{patient_id}.odm.xml")


@router.get(
    "/audit/odm.xml",
    summary="The audit trail of a site's (or every readable) patient as CDISC ODM 1.3.2",
    response_class=Response,
    responses={200: {"content": {"application/xml": {}}}},
    **needs("export_audit_odm"),
)
@long_running
def audit_odm_site(
    ctx: CtxDep,
    site: Annotated[str | None, Query(max_length=32)] = None,
    validate: bool = False,
) -> Response:
    """As ``/patients/{id}/audit.odm.xml`` for the patients of ``site`` (or all the caller
    may read); the export is logged."""
    result = sv.export_audit_odm(ctx, site=site, validate=validate)
    return _odm_response(result, f"audit-{site or 'all'}.odm.xml")
