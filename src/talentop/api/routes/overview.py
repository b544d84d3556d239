"""/api/v1 lists and dashboard numbers: screening log, CONSORT funnel, recruitment, MDT
queue, open resectability flags, overdue doses and visits (all within the caller's scope)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from talentop import services as sv
from talentop.api.deps import CtxDep, PagingDep
from talentop.api.routes._run import needs, read

router = APIRouter(tags=["overview"])


@router.get(
    "/screening-log",
    summary="Screenings with the criteria not met",
    **needs("screening_log"),
)
def screening_log(
    ctx: CtxDep,
    paging: PagingDep,
    site: Annotated[str | None, Query(max_length=32)] = None,
    verdict: Literal["eligible", "ineligible"] | None = None,
) -> dict[str, Any]:
    return read(
        lambda: sv.screening_log(
            ctx, site=site, verdict=verdict, limit=paging.limit, offset=paging.offset
        )
    )


@router.get("/consort", summary="The live CONSORT funnel", **needs("consort_funnel"))
def consort(ctx: CtxDep) -> dict[str, Any]:
    return read(lambda: sv.consort_funnel(ctx))


@router.get("/recruitment", summary="Registrations by site and month", **needs("recruitment"))
def recruitment(ctx: CtxDep) -> dict[str, Any]:
    return read(lambda: sv.recruitment(ctx))


@router.get(
    "/mdt-queue",
    summary="Patients awaiting an MDT resectability review",
    **needs("mdt_queue"),
)
def mdt_queue(ctx: CtxDep) -> list[dict[str, Any]]:
    return read(lambda: sv.mdt_queue(ctx))


@router.get(
    "/resectability-flags",
    summary="Open arm-B resectability flags",
    **needs("open_resectability_flags"),
)
def flags(ctx: CtxDep) -> list[dict[str, Any]]:
    return read(lambda: sv.open_resectability_flags(ctx))


@router.get(
    "/overdue",
    summary="Doses, scans and contacts overdue against the calendar",
    **needs("overdue"),
)
def overdue(
    ctx: CtxDep,
    on: Annotated[dt.date | None, Query(description="Day to judge (default today)")] = None,
) -> list[dict[str, Any]]:
    return read(lambda: sv.overdue(ctx, on=on))
