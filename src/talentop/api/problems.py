"""Errors as RFC 9457 problem details (``application/problem+json``), in one place.

=====================================  ======  ==================================================
error                                  status  body beyond type/title/status/detail/instance
=====================================  ======  ==================================================
``InvalidInput`` (and request shape)   422     ``errors``: one ``{field, value, expected}`` each
``NotAuthenticated``                   401     (``WWW-Authenticate: Bearer``)
``PermissionDenied`` / CSRF refused    403
``NotFound`` / unknown route           404
``ProtocolViolation``                  409     ``state``, ``rule``
``AllocationError``                    409
``IntegrityError``                     409
``ConvergenceError``                   422
body too large                         413
``DatabaseUnavailable``                503     (``Retry-After``)
anything else                          500     a generic detail; the traceback only in the log
=====================================  ======  ==================================================

Every body carries ``request_id``, also in the ``X-Request-ID`` header and the server log.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from talentop.errors import (
    AllocationError,
    ConvergenceError,
    DatabaseUnavailable,
    IntegrityError,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ProtocolViolation,
    TalentopError,
)

log = logging.getLogger("talentop.api")
MEDIA_TYPE = "application/problem+json"

#: error class -> (status, slug, title); the first matching class in order wins.
MAPPING: list[tuple[type[BaseException], int, str, str]] = [
    (NotAuthenticated, 401, "not-authenticated", "Not authenticated"),
    (PermissionDenied, 403, "forbidden", "Not allowed"),
    (NotFound, 404, "not-found", "Not found"),
    (ProtocolViolation, 409, "protocol-violation", "Not allowed by the protocol now"),
    (AllocationError, 409, "allocation", "Randomisation could not allocate"),
    (IntegrityError, 409, "integrity", "Stored data failed verification"),
    (ConvergenceError, 422, "no-convergence", "The model did not converge"),
    (InvalidInput, 422, "invalid-input", "Invalid input"),
    (DatabaseUnavailable, 503, "database-unavailable", "Database unavailable"),
]


class ProblemItem(BaseModel):
    """One problem with the input: the field (dotted path), the value sent, what was expected."""

    field: str | None = None
    value: Any = None
    expected: str


class Problem(BaseModel):
    """An RFC 9457 problem detail."""

    type: str = Field(examples=["urn:talentop:problem:invalid-input"])
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[ProblemItem] | None = None
    state: str | None = None
    rule: str | None = None
    warnings: list[dict[str, Any]] | None = None


#: The error responses every API route may give (documented in OpenAPI for each route).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {MEDIA_TYPE: {}}, "description": title}
    for status, title in (
        (400, "The body is not readable (not JSON, or not UTF-8)"),
        (401, "Not authenticated (no, expired or revoked session or token)"),
        (403, "Not allowed for this role or site (or CSRF token missing)"),
        (404, "Not found"),
        (409, "Not allowed by the protocol in the current state"),
        (413, "Request body too large"),
        (422, "Invalid input: one entry per problem"),
        (503, "Database unavailable"),
    )
}


def problem_response(
    request: Request,
    status: int,
    slug: str,
    title: str,
    detail: str,
    **extra: Any,
) -> JSONResponse:
    """A problem+json response carrying the request id."""
    request_id = getattr(request.state, "request_id", None)
    body: dict[str, Any] = {
        "type": f"urn:talentop:problem:{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "request_id": request_id,
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = {"X-Request-ID": request_id} if request_id else {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="talentop"'
    if status == 503:
        headers["Retry-After"] = "5"
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def from_error(request: Request, error: BaseException) -> JSONResponse:
    """The problem response for a talentop error (the one mapping of the error tree)."""
    for cls, status, slug, title in MAPPING:
        if isinstance(error, cls):
            extra: dict[str, Any] = {}
            if isinstance(error, InvalidInput):
                extra["errors"] = [_jsonable_item(item) for item in error.details]
            if isinstance(error, ProtocolViolation):
                extra["state"], extra["rule"] = error.state, error.rule
                findings = getattr(error, "findings", None)
                if findings:
                    extra["warnings"] = [f.to_dict() for f in findings]
            detail = str(error)
            if isinstance(error, NotAuthenticated):
                log.info("not authenticated: %s", error.reason or detail)
            return problem_response(request, status, slug, title, detail, **extra)
    return _internal(request, error)


def _jsonable_item(item: dict[str, Any]) -> dict[str, Any]:
    value = item.get("value")
    if isinstance(value, float) and not math.isfinite(value):
        value = str(value)  # NaN and infinity are not JSON: quote them back as text
    if isinstance(value, str) and len(value) > 200:
        value = value[:197] + "..."
    return {"field": item.get("field"), "value": value, "expected": item.get("expected") or ""}


def _internal(request: Request, error: BaseException) -> JSONResponse:
    log.error(
        "unhandled %s on %s %s",
        type(error).__name__,
        request.method,
        request.url.path,
        exc_info=(type(error), error, error.__traceback__),
    )
    return problem_response(
        request,
        500,
        "internal",
        "Internal error",
        "the server could not complete the request; quote the request_id when reporting it",
    )


def _validation_items(error: RequestValidationError) -> list[dict[str, Any]]:
    items = []
    for item in error.errors():
        loc = [str(p) for p in item.get("loc", ()) if p not in ("body",)]
        value = item.get("input")
        if not isinstance(value, str | int | float | bool | type(None)):
            value = type(value).__name__
        message = str(item.get("msg", "a valid value"))
        items.append(
            _jsonable_item({"field": ".".join(loc) or "body", "value": value, "expected": message})
        )
    return items


def install(app: FastAPI) -> None:
    """Register the handlers: the error tree, request validation, HTTP errors, the rest."""

    @app.exception_handler(TalentopError)
    async def _talentop(request: Request, error: TalentopError) -> JSONResponse:
        return from_error(request, error)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        items = _validation_items(error)
        detail = "; ".join(f"{i['field']}: {i['expected']}" for i in items[:5])
        return problem_response(
            request,
            422,
            "invalid-input",
            "Invalid input",
            detail or "invalid request",
            errors=items,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        slug = {404: "not-found", 405: "method-not-allowed", 413: "too-large"}.get(
            error.status_code, "http"
        )
        return problem_response(
            request, error.status_code, slug, str(error.detail), str(error.detail)
        )

    @app.exception_handler(Exception)
    async def _other(request: Request, error: Exception) -> JSONResponse:
        return _internal(request, error)
