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
``routes/analysis``        statistician's interim report, ADTTE, stratification errors; audit
                           verification
``records``, ``routes/records``   one record: values, SDV, locks, queries, corrections;
                           correct (what was re-derived), verify, lock, raise a query
``routes/queries``         queries list and counts, one query: answer (with a correction),
                           close, re-open
``routes/locks``           locks, patient lock, database freeze, unlock
``routes/signing``         e-signatures: case report, own MDT vote, interim analysis
``routes/safety``          SAE report, follow-ups, the SAE and its printable form, SAE
                           listing, overdue clocks, medication findings
``routes/conduct``         deviation log per site and summary by category and arm
``steps_conduct``          withdrawal of consent, deviation, medication, medical history
``patient_cards``          the patient page's data-management and conduct cards
``submit``                 a form's submission and how a refusal is shown
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
        conduct,
        decisions,
        locks,
        overview,
        patients,
        queries,
        records,
        safety,
        screening,
        signing,
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
        records.router,
        queries.router,
        locks.router,
        signing.router,
        safety.router,
        conduct.router,
    ):
        app.include_router(router)
    errors.install(app)
