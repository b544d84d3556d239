"""The dashboard: the live CONSORT funnel (each number links to the list of patients behind
it), recruitment by site and month (a chart), the MDT queue, overdue doses and visits, open
resectability flags, data queries by state, site, patient and age, SAEs overdue against
their clocks and the patients who must re-consent, all within the caller's read scope; and
the MDT queue page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from talentop import services as sv
from talentop.services.permissions import allowed
from talentop.web.charts import recruitment_svg
from talentop.web.session import PageDep, page

router = APIRouter(include_in_schema=False)

#: Funnel row -> (label, the patient-list query that lists exactly those patients).
FUNNEL = (
    ("registered", "Registered", ""),
    ("screened", "Screened", "reached=screened&reached=screen_failed"),
    ("screen_failed", "Screen failures", "reached=screen_failed"),
    ("eligible", "Eligible", "reached=screened"),
    ("induction", "Started induction", "reached=induction"),
    ("assessed", "Assessed after induction", "reached=assessed"),
    ("mdt_reviewed", "MDT decision", "reached=mdt_reviewed"),
    ("not_randomised", "Not randomised", "reached=not_randomised"),
    ("randomised", "Randomised", "reached=randomised"),
    ("operated", "Operated", "reached=operated"),
)


def funnel_rows(funnel: dict[str, Any]) -> list[dict[str, Any]]:
    """(key, label, count, link) per funnel number, arms after 'randomised'."""
    rows = []
    for key, label, query in FUNNEL:
        rows.append({"key": key, "label": label, "count": funnel[key], "href": f"/patients?{query}" if query else "/patients"})  # fmt: skip
        if key == "randomised":
            for arm, n in funnel["randomised_by_arm"].items():
                rows.append({"key": f"arm_{arm}", "label": f"arm {arm}", "count": n, "href": f"/patients?arm={arm}", "sub": True})  # fmt: skip
    return rows


@router.get("/", response_class=HTMLResponse, **page("GET", "/", "consort_funnel"))
def dashboard(page: PageDep) -> Response:
    ctx = page.ctx
    role = page.user.role
    queue = sv.mdt_queue(ctx) if allowed(role, "read_mdt_queue") else None
    recruitment = sv.recruitment(ctx)
    return page.render(
        "dashboard.html",
        title="Dashboard",
        funnel=funnel_rows(sv.consort_funnel(ctx)),
        chart=recruitment_svg(recruitment),
        recruitment=recruitment,
        queue=queue,
        overdue=sv.overdue(ctx)[:50],
        flags=sv.open_resectability_flags(ctx),
        query_counts=sv.query_counts(ctx),
        sae_overdue=sv.overdue_saes(ctx)[:50],
        reconsent=sv.reconsent_due(ctx),
    )


@router.get("/mdt-queue", response_class=HTMLResponse, **page("GET", "/mdt-queue", "mdt_queue"))
def mdt_queue(page: PageDep, signed: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> Response:  # fmt: skip
    can_vote = allowed(page.user.role, "vote")
    return page.render("mdt_queue.html", title="MDT queue", queue=sv.mdt_queue(page.ctx), can_vote=can_vote, signed=signed)  # fmt: skip
