"""What every write route shares: one transaction per request, idempotency, 201 responses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from talentop.services import Context
from talentop.services.idempotency import once
from talentop.services.permissions import SERVICE_ACTIONS, roles_for


def needs(service: str) -> dict[str, Any]:
    """OpenAPI extension naming the service a route calls and the permission it needs (the
    authorisation tests read it to derive each route's expected status per role)."""
    action = SERVICE_ACTIONS[service]
    return {
        "x-talentop-service": service,
        "x-talentop-action": action,
        "x-talentop-roles": roles_for(action),
    }


def act(
    ctx: Context,
    operation: str,
    body: BaseModel | dict[str, Any] | None,
    key: str | None,
    call: Callable[[], Any],
    *,
    status: int = 201,
    location: Callable[[Any], str] | None = None,
) -> JSONResponse:
    """Run ``call`` (one or more service calls) in one transaction the request owns, once
    per idempotency ``key``; answer ``status`` with the JSON result (``Idempotent-Replayed:
    true`` when an earlier result is returned)."""
    payload = body.model_dump(mode="json") if isinstance(body, BaseModel) else (body or {})

    def run() -> Any:
        return jsonable_encoder(call())

    with ctx.store.transaction():
        result, replayed = once(ctx, key, operation, payload, run)
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    if location is not None:
        headers["Location"] = location(result)
    return JSONResponse(result, status_code=status, headers=headers)


def read(call: Callable[[], Any]) -> Any:
    """A read's JSON-able result (pages become dicts)."""
    result = call()
    if hasattr(result, "to_dict"):
        result = result.to_dict()
    return jsonable_encoder(result)
