"""/api/v1 ADTTE export (CSV, SAS XPT) and the audit trail (entries, verify)."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from talentop import services as sv
from talentop.api.deps import CtxDep, PagingDep
from talentop.api.routes._run import needs, read

router = APIRouter(tags=["analysis and audit"])

MEDIA = {"csv": "text/csv", "xpt": "application/octet-stream"}


def _export(ctx: Any, fmt: str, cutoff: dt.date | None) -> Response:
    with tempfile.TemporaryDirectory() as folder:
        sv.export_adtte(ctx, folder, formats=(fmt,), cutoff_date=cutoff)
        content = (Path(folder) / f"adtte.{fmt}").read_bytes()
    return Response(
        content,
        media_type=MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="adtte.{fmt}"'},
    )


@router.get(
    "/exports/adtte.csv",
    summary="ADTTE (TTF, OS, PFS) as CSV, CDISC names",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
    **needs("export_adtte"),
)
def adtte_csv(
    ctx: CtxDep, cutoff: Annotated[dt.date | None, Query(description="Data cut-off")] = None
) -> Response:
    return _export(ctx, "csv", cutoff)


@router.get(
    "/exports/adtte.xpt",
    summary="ADTTE as SAS transport (XPT v5)",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
    **needs("export_adtte"),
)
def adtte_xpt(
    ctx: CtxDep, cutoff: Annotated[dt.date | None, Query(description="Data cut-off")] = None
) -> Response:
    return _export(ctx, "xpt", cutoff)


@router.get(
    "/audit/entries",
    summary="Audit entries, newest first (one table or row)",
    **needs("audit_entries"),
)
def audit_entries(
    ctx: CtxDep,
    paging: PagingDep,
    patient_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
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
    "/audit/verify",
    summary="Verify the audit trail against the tables",
    **needs("verify"),
)
def audit_verify(ctx: CtxDep) -> dict[str, Any]:
    return read(lambda: sv.verify(ctx))
