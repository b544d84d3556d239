"""The statistician's view: the interim analysis computed from the live database with the
demo's report code (``talentop.demo.live``: CONSORT, KM with numbers at risk, forest plot,
published vs this trial), the ADTTE downloads (CSV, XPT), the stratification errors (the
analysis keeps the level as randomised), the interim's e-signatures; and the audit
verification the monitors, data managers and statisticians run."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from talentop import services as sv
from talentop.api.long_running import long_running
from talentop.errors import InvalidInput
from talentop.services.data.signatures import INTERIM_ROLES
from talentop.web.forms import plain_problems
from talentop.web.session import PageDep, page

router = APIRouter(include_in_schema=False)


def _cutoff(text: str | None) -> dt.date:
    if not text:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput.field("cutoff", text, "a date (YYYY-MM-DD)") from None


@router.get("/analysis", response_class=HTMLResponse, **page("GET", "/analysis", "derive_endpoints"))  # fmt: skip
@long_running
def analysis(page: PageDep, cutoff: Annotated[str | None, Query(max_length=10)] = None, signed: Annotated[str | None, Query(max_length=2)] = None) -> Response:  # fmt: skip
    """The interim report of the live trial at the data cut-off (default today), the
    stratification errors (analysed as randomised) and the interim's signatures."""
    from talentop.demo.live import live_report

    on = _cutoff(cutoff)
    try:
        report, problem = live_report(page.ctx, on), None
    except InvalidInput as error:
        report, problem = None, plain_problems(error)
    return page.render(
        "analysis.html",
        title="Interim analysis",
        report=report,
        problem=problem,
        cutoff=on.isoformat(),
        table_html=table_html,
        strata=sv.stratification_errors(page.ctx),
        signatures=sv.list_signatures(page.ctx),
        can_sign=page.user.role in INTERIM_ROLES,
        signed=signed == "1",
    )


#: pandas puts ``style`` attributes in its tables; the Content Security Policy refuses inline
#: styles (the stylesheet aligns the cells instead).
_STYLE_ATTR = re.compile(r'\sstyle="[^"]*"')


def table_html(table) -> Markup:
    """A report table's escaped HTML without inline styles."""
    return Markup(_STYLE_ATTR.sub("", table.to_html()))


@router.get("/analysis/report.html", **page("GET", "/analysis/report.html", "derive_endpoints"))
@long_running
def report_download(page: PageDep, cutoff: Annotated[str | None, Query(max_length=10)] = None) -> Response:  # fmt: skip
    """The same report as one self-contained HTML file (as ``talentop demo`` writes it)."""
    from talentop.demo.live import live_report
    from talentop.reports import render_html

    on = _cutoff(cutoff)
    html = render_html(live_report(page.ctx, on))
    return Response(
        html,
        media_type="text/html",
        headers={"Content-Disposition": f'attachment; filename="interim-{on.isoformat()}.html"'},
    )


@router.get("/audit", response_class=HTMLResponse, **page("GET", "/audit", "verify"))
@long_running
def audit_verify(page: PageDep) -> Response:
    """``audit verify``: the hash chain recomputed and every table row reconciled."""
    report = sv.verify(page.ctx)
    return page.render("verify.html", title="Audit trail", report=report.to_dict())
