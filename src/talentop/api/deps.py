"""The one dependency that turns a request into a ``Context``: a bearer token (API token or
session id) or the session cookie -> ``identity.authenticate`` -> ``Context.authenticated``.

``system`` is never reachable from here: a principal always comes from a user row. A
session that may only set up TOTP (its role requires TOTP and the user has none yet) is
refused everything else with 403. Cookie-authenticated writes must carry the session's CSRF
token in ``X-CSRF-Token`` (or a form field, for the pages); bearer requests need none.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Path, Query, Request

from talentop.errors import InvalidInput, NotAuthenticated, PermissionDenied
from talentop.protocol import Protocol
from talentop.services import Context
from talentop.services.identity import Authenticated, authenticate, csrf_token
from talentop.store import Store

SESSION_COOKIE = "talentop_session"
CSRF_HEADER = "X-CSRF-Token"
#: Edit checks on save: "query" (default: findings open queries) or "warn" (findings refuse
#: the save, nothing is written, unless a comment comes in ``X-Check-Comment``).
EDIT_CHECKS_HEADER = "X-Edit-Checks"
CHECK_COMMENT_HEADER = "X-Check-Comment"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Paths a TOTP-setup-only session may use (the API's and the account page's).
TOTP_SETUP_PATHS = (
    "/api/v1/auth/totp",
    "/api/v1/auth/logout",
    "/api/v1/auth/me",
    "/account",
    "/logout",
)


@dataclass(frozen=True)
class AppState:
    """What the app serves: one database, one protocol."""

    store: Store
    protocol: Protocol


# The dependencies that do no I/O are ``async def``: FastAPI runs a plain ``def``
# dependency in a worker thread (a hop through the thread pool and its limiter per
# dependency, per request); only ``authenticated`` reads the database.
def app_state(request: Request) -> AppState:
    return request.app.state.talentop


async def _app_state(request: Request) -> AppState:
    return app_state(request)


def credential(request: Request) -> tuple[str | None, str]:
    """The credential sent and how: ("bearer" | "cookie")."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), "bearer"
    cookie = request.cookies.get(SESSION_COOKIE)
    return (cookie, "cookie") if cookie else (None, "none")


def authenticated(request: Request) -> Authenticated:
    """The caller's principal, or ``NotAuthenticated`` (401)."""
    token, how = credential(request)
    if token is None:
        raise NotAuthenticated(
            "not authenticated: log in with POST /api/v1/auth/login, then send "
            "'Authorization: Bearer <token>' (or use an API token)"
        )
    auth = authenticate(app_state(request).store, token)
    if how == "cookie" and request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER) or getattr(request.state, "form_csrf", None)
        if not sent or not hmac.compare_digest(sent, csrf_token(token)):
            raise PermissionDenied(
                f"CSRF token missing or wrong: a cookie-authenticated {request.method} needs "
                f"the session's token in the {CSRF_HEADER} header"
            )
    if auth.totp_setup_only and not request.url.path.startswith(TOTP_SETUP_PATHS):
        raise PermissionDenied(
            f"role {auth.principal.role!r} requires a TOTP second factor: set it up first "
            "(POST /api/v1/auth/totp/setup, then /api/v1/auth/totp/confirm)"
        )
    request.state.username = auth.principal.username
    return auth


def make_context(request: Request, auth: Authenticated) -> Context:
    """The service ``Context`` of the authenticated caller."""
    state = app_state(request)
    mode = request.headers.get(EDIT_CHECKS_HEADER, "query").strip().lower()
    if mode not in ("query", "warn"):
        raise InvalidInput.field(EDIT_CHECKS_HEADER, mode, "query or warn")
    comment = request.headers.get(CHECK_COMMENT_HEADER)
    return Context.authenticated(
        state.store,
        state.protocol,
        auth.principal,
        edit_checks=mode,
        check_comment=comment.strip()[:2000] if comment and comment.strip() else None,
    )


async def context(
    request: Request, auth: Annotated[Authenticated, Depends(authenticated)]
) -> Context:
    return make_context(request, auth)


CtxDep = Annotated[Context, Depends(context)]
AuthDep = Annotated[Authenticated, Depends(authenticated)]
StateDep = Annotated[AppState, Depends(_app_state)]


@dataclass(frozen=True)
class Paging:
    limit: int
    offset: int


async def paging(
    limit: Annotated[int, Query(ge=1, le=500, description="Items per page (1-500).")] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9, description="Items to skip.")] = 0,
) -> Paging:
    return Paging(limit, offset)


PagingDep = Annotated[Paging, Depends(paging)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=128,
        description="Makes a create request safe to retry: a retry with the same key returns "
        "the first result instead of acting twice (e.g. never two allocations).",
    ),
]

PatientId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The patient's id.")]
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
