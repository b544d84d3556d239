"""/api/v1 exports (ADTTE as CSV, SAS XPT, Dataset-JSON; ADAE as Dataset-JSON; the clinical
data as CDISC ODM 1.3.2) and the audit trail (entries, verify)."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from talentop import services as sv
from talentop.api.deps import CtxDep, PagingDep
from talentop.api.long_running import long_running
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
@long_running
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
@long_running
def adtte_xpt(
    ctx: CtxDep, cutoff: Annotated[dt.date | None, Query(description="Data cut-off")] = None
) -> Response:
    return _export(ctx, "xpt", cutoff)


@router.get(
    "/exports/odm.xml",
    summary="The clinical data and metadata as CDISC ODM 1.3.2 XML",
    response_class=Response,
    responses={200: {"content": {"application/xml": {}}}},
    **needs("export_odm"),
)
@long_running
def odm_xml(ctx: CtxDep) -> Response:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "talentop-odm.xml"
        sv.export_odm(ctx, path)
        content = path.read_bytes()
    return Response(
        content,
        media_type="application/xml",
        headers={"Content-Disposition": 'attachment; filename="talentop-odm.xml"'},
    )


def _dataset_json(ctx: Any, name: str, cutoff: dt.date | None) -> Response:
    with tempfile.TemporaryDirectory() as folder:
        sv.export_dataset_json(ctx, folder, datasets=[name], cutoff_date=cutoff)
        content = (Path(folder) / f"{name}.json").read_bytes()
    return Response(
        content,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}.json"'},
    )


@router.get(
    "/exports/adtte.json",
    summary="ADTTE as CDISC Dataset-JSON 1.1",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}}},
    **needs("export_dataset_json"),
)
@long_running
def adtte_json(
    ctx: CtxDep, cutoff: Annotated[dt.date | None, Query(description="Data cut-off")] = None
) -> Response:
    return _dataset_json(ctx, "adtte", cutoff)


@router.get(
    "/exports/adae.json",
    summary="ADAE (adverse events with their SAE reports) as CDISC Dataset-JSON 1.1",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}}},
    **needs("export_dataset_json"),
)
@long_running
def adae_json(ctx: CtxDep) -> Response:
    return _dataset_json(ctx, "adae", None)


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
@long_running
def audit_verify(ctx: CtxDep) -> dict[str, Any]:
    return read(lambda: sv.verify(ctx))
