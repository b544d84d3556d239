"""The deviation log (``services.deviations``): every deviation the user may read, by site
then date, with its category, major/minor, corrective and preventive action and who
decided; and the summary by category and arm (as the report's safety section shows it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from talentop import services as sv
from talentop.web.session import PageDep, page

router = APIRouter(include_in_schema=False)


@router.get("/deviations", response_class=HTMLResponse, **page("GET", "/deviations", "deviation_log"))  # fmt: skip
def deviations(page: PageDep, site: Annotated[str | None, Query(max_length=32)] = None) -> Response:
    sites = sv.list_sites(page.ctx)
    if page.user.site_id is not None:
        sites = [s for s in sites if s["site_id"] == page.user.site_id]
    labels = {c.id: c.label or c.id for c in page.ctx.protocol.deviations.categories}
    return page.render(
        "deviations.html",
        title="Protocol deviations",
        log=sv.deviation_log(page.ctx, site=site or None),
        summary=sv.deviation_summary(page.ctx),
        sites=[s["code"] for s in sites],
        site=site or "",
        labels=labels,
    )
