"""The web pages: sites, MDT members, monitors and statisticians run the trial in a browser.

Server-rendered pages (FastAPI + Jinja2) in the same app as the REST API, over the same
services, database and permission table; htmx 2 (vendored, ``static/``) only enhances
them (live eligibility verdicts, the RECIST response before saving, the protocol dose,
partial refresh of the patient list), every form works without JavaScript.

=========================  =================================================================
module                     what
=========================  =================================================================
``session``                the request -> ``Page`` dependency (session cookie, CSRF token)
``errors``                 the error tree as pages (the API keeps its problem details)
``render``                 templates and their filters
``forms``                  inputs as data, typed text -> service arguments, plain messages
``steps``                  the patient path's forms and which buttons a user gets
``charts``                 recruitment as an inline SVG chart
``routes/account``         login (lock-out, expiry), logout (everywhere), password, TOTP
``routes/overview``        dashboard (CONSORT funnel, recruitment, MDT queue, overdue, flags)
``routes/patients``        list, register, patient page, allocation record, audit history
``routes/screening``       screening with live verdicts
``routes/tumour``          baseline lesions, assessment with RECIST/mRECIST before saving
``routes/decisions``       MDT vote, randomisation with a confirmation step
``routes/steps``           every other step of the path (one generic form each)
``routes/analysis``        statistician's interim report, ADTTE; audit verification
=========================  =================================================================
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    """Mount the pages and their static files on ``app`` (after the API and its error
    handlers: the pages' handlers answer pages with pages and leave the API's alone)."""
    from talentop.web import errors
    from talentop.web.routes import (
        account,
        analysis,
        decisions,
        overview,
        patients,
        screening,
        steps,
        tumour,
    )

    protocol = app.state.talentop.protocol
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in (
        account.router,
        overview.router,
        patients.router,
        screening.router,
        tumour.router,
        decisions.router,
        steps.build(protocol),
        analysis.router,
    ):
        app.include_router(router)
    errors.install(app)
