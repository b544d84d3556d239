"""The ASGI application: the REST API under ``/api/v1`` and the web pages (``talentop.web``),
over the services, one database and one protocol."""

from __future__ import annotations

import logging

from fastapi import APIRouter, FastAPI

from talentop import __version__
from talentop.api import problems
from talentop.api.deps import AppState
from talentop.api.middleware import RequestContext
from talentop.api.routes import (
    admin,
    analysis,
    auth,
    conduct,
    data,
    overview,
    pathways,
    patients,
    steps,
)
from talentop.protocol import Protocol, load_protocol
from talentop.store import Store, require_schema
from talentop.web import install as install_pages

API_PREFIX = "/api/v1"

DESCRIPTION = """The TALENTOP trial platform's REST API.

Log in with `POST /api/v1/auth/login` (username, password, TOTP code where set up) and send
the returned token as `Authorization: Bearer <token>`, or create an API token
(`POST /api/v1/auth/tokens`) for an integration. Every route checks the caller's role and
site against the permission table. Errors are RFC 9457 problem details; every response
carries an `X-Request-ID`. Create requests accept an `Idempotency-Key` header.
"""


def create_app(
    store: Store | None = None,
    protocol: Protocol | str = "talentop",
    *,
    max_body_bytes: int | None = None,
) -> FastAPI:
    """The app for ``store`` (default: ``TALENTOP_DATABASE_URL`` / ``talentop.db``), which
    must be initialised (``talentop db init``), running ``protocol``."""
    store = store or Store()
    require_schema(store)
    if isinstance(protocol, str):
        protocol = load_protocol(protocol)
    app = FastAPI(
        title="talentop",
        version=__version__,
        description=DESCRIPTION,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # Swagger/ReDoc load scripts from a CDN: not on a trial network
        redoc_url=None,
        responses=problems.ERROR_RESPONSES,
    )
    app.state.talentop = AppState(store, protocol)
    api = APIRouter(prefix=API_PREFIX)
    for module in (auth, admin, patients, steps, pathways, conduct, overview, analysis, data):
        api.include_router(module.router)
    app.include_router(api)
    problems.install(app)
    install_pages(app)
    kwargs = {} if max_body_bytes is None else {"max_body_bytes": max_body_bytes}
    app.add_middleware(RequestContext, **kwargs)
    logging.getLogger("talentop").setLevel(logging.INFO)
    return app


def create_app_from_env() -> FastAPI:
    """The app for ``TALENTOP_DATABASE_URL`` and ``TALENTOP_PROTOCOL`` (uvicorn ``--factory``
    entry point, so several worker processes can each build their own)."""
    import os

    return create_app(Store(), os.environ.get("TALENTOP_PROTOCOL", "talentop"))
