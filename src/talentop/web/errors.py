"""Errors on the pages: the same error tree as the API (``talentop.api.problems``), shown as
a page instead of problem+json. Paths under ``/api/`` keep their problem details.

=========================  ======  ==========================================================
error                      status  page
=========================  ======  ==========================================================
``NotAuthenticated``       303     the login page, saying why (expired, logged out)
``PermissionDenied``       403     "Not allowed", the reason (role, site, CSRF)
``NotFound`` / no route    404     "Not found"
``ProtocolViolation``      409     the rule (forms show it above the form instead)
``InvalidInput``           422     the problems (forms show them next to the fields instead)
``DatabaseUnavailable``    503     "try again"
anything else              500     the request id to quote; the traceback only in the log
=========================  ======  ==========================================================
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from talentop.api import problems
from talentop.api.deps import SESSION_COOKIE
from talentop.errors import InvalidInput, NotAuthenticated, ProtocolViolation, TalentopError
from talentop.web.forms import plain_problems
from talentop.web.render import render
from talentop.web.session import see_other

#: Why a session stopped working (``authenticate``'s reasons) -> a code for the login page.
EXPIRY_CODES = {
    "session expired after 12 hours; log in again": "absolute",
    "session expired after 30 minutes without activity; log in again": "idle",
    "session ended (logged out or revoked); log in again": "ended",
    "account disabled": "ended",
}


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def login_redirect(request: Request, error: NotAuthenticated) -> Response:
    """To the login page, coming back here afterwards (GET pages only)."""
    why = EXPIRY_CODES.get(error.reason, "login")
    back = request.url.path if request.method == "GET" else "/"
    url = f"/login?why={why}&next={quote(back, safe='/')}"
    if request.headers.get("hx-request") == "true":
        response: Response = Response(status_code=204, headers={"HX-Redirect": url})
    else:
        response = see_other(url)
    if request.cookies.get(SESSION_COOKIE):
        response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def error_page(request: Request, status: int, title: str, detail: str, **extra: Any) -> Response:
    return render(
        "error.html",
        status=status,
        path=request.url.path,
        title=title,
        detail=detail,
        request_id=getattr(request.state, "request_id", None),
        **extra,
    )


def html_for(request: Request, error: BaseException) -> Response:
    """The page for a talentop error (the one mapping of the error tree, as the API's)."""
    if isinstance(error, NotAuthenticated):
        return login_redirect(request, error)
    for cls, status, _slug, title in problems.MAPPING:
        if isinstance(error, cls):
            extra: dict[str, Any] = {}
            if isinstance(error, InvalidInput):
                extra["problems"] = plain_problems(error)
            if isinstance(error, ProtocolViolation):
                extra["rule"] = error.rule
            return error_page(request, status, title, str(error), **extra)
    problems.log.error(
        "unhandled %s on %s %s",
        type(error).__name__,
        request.method,
        request.url.path,
        exc_info=(type(error), error, error.__traceback__),
    )
    return error_page(
        request,
        500,
        "Something went wrong",
        "The server could not complete the request. Quote the request id when reporting it.",
    )


def install(app: FastAPI) -> None:
    """Replace the app's error handlers with ones that answer pages with pages and the API
    with problem details (``problems.install`` must have run first)."""
    api_handlers = dict(app.exception_handlers)

    async def dispatch(request: Request, error: Exception) -> Response:
        if is_api(request):
            handler = api_handlers.get(type(error)) or _api_handler(api_handlers, error)
            return await handler(request, error)
        if isinstance(error, TalentopError):
            return html_for(request, error)
        if isinstance(error, RequestValidationError):
            return error_page(
                request,
                422,
                "Invalid address",
                "The page address has a value that is not valid (e.g. a patient number).",
            )
        if isinstance(error, StarletteHTTPException):
            titles = {404: "Not found", 405: "Not allowed here"}
            return error_page(
                request,
                error.status_code,
                titles.get(error.status_code, "Error"),
                "There is no page at this address."
                if error.status_code == 404
                else str(error.detail),
            )
        return html_for(request, error)

    for cls in (TalentopError, RequestValidationError, StarletteHTTPException, Exception):
        app.add_exception_handler(cls, dispatch)


def _api_handler(handlers: dict, error: Exception):
    for cls in type(error).__mro__:
        if cls in handlers:
            return handlers[cls]
    return handlers[Exception]
