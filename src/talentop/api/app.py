"""The ASGI application: the REST API under ``/api/v1`` and the web pages (``talentop.web``),
over the services, one database and one protocol."""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
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
from talentop.services.identity.passwords import prepare_logins
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
        lifespan=_lifespan,
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


#: Requests a worker process runs at once (the routes are synchronous: each runs in a
#: thread; long ones, such as exports, on threads of their own: api.long_running). The
#: short requests are CPU work in one GIL: more threads only lengthen the queue inside it.
#: anyio's default of 40 gave the same throughput with a p99 two to three times as long;
#: with the connections spread evenly over the workers (api.balance), 32 clients
#: randomising on PostgreSQL gave 198-222/s, p99 194-222 ms with 2 threads against
#: 186-205/s, 228-263 ms with 4 (benchmarks/api_load.py, docs/benchmarks.md). The other
#: requests wait in the event loop. ``TALENTOP_API_THREADS`` overrides it.
THREADS = 2

#: The collector's thresholds in a server process (Python's default: 700, 10, 10).
GC_THRESHOLDS = (20_000, 20, 20)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    threads = int(os.environ.get("TALENTOP_API_THREADS", THREADS))
    anyio.to_thread.current_default_thread_limiter().total_tokens = threads
    prepare_logins()
    # What the server built to start (modules, routes, mappers, compiled statements) lives
    # as long as the process: frozen out of the collector's scans, and young collections
    # less often, a full collection no longer stops every request in the process for tens
    # of milliseconds (api_load p99 383 -> 263 ms at the same throughput).
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    yield


def create_app_from_env() -> FastAPI:
    """The app for ``TALENTOP_DATABASE_URL`` and ``TALENTOP_PROTOCOL`` (uvicorn ``--factory``
    entry point, so several worker processes can each build their own). A worker process
    starts with no logging set up: its access log is set up here, as ``talentop serve``'s."""
    from talentop.api.middleware import configure_logging

    configure_logging()
    return create_app(Store(), os.environ.get("TALENTOP_PROTOCOL", "talentop"))
