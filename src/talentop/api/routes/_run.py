"""What every write route shares: one transaction per request, idempotency, 201 responses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Depends
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from talentop.api.deps import AuthDep
from talentop.services import Context
from talentop.services.data.checks import check_patient, prefetch_when_locked
from talentop.services.idempotency import once
from talentop.services.permissions import SERVICE_ACTIONS, check_role, roles_for
from talentop.store.writes import WRITTEN_PATIENTS


def needs(service: str) -> dict[str, Any]:
    """Route options for a route that calls ``service``: a dependency that refuses a role
    without the service's action (403 before the body is even read; the service checks
    again, with the site) and an OpenAPI extension naming the service, the action and the
    roles that have it (the authorisation tests derive each route's expected status per
    role from it and the permission table)."""
    action = SERVICE_ACTIONS[service]

    async def permitted(auth: AuthDep) -> None:  # no I/O: on the event loop
        check_role(auth.principal.username, auth.principal.role, service)

    return {
        "dependencies": [Depends(permitted)],
        "openapi_extra": {
            "x-talentop-service": service,
            "x-talentop-action": action,
            "x-talentop-roles": roles_for(action),
        },
    }


_SCALARS = (str, int, float, bool, type(None))


def _plain_json(value: Any) -> bool:
    """Whether ``value`` is already JSON as ``json.dumps`` writes it (dicts with string
    keys, lists, scalars): then ``jsonable_encoder``'s walk (a few hundred microseconds
    for a service's result) is skipped."""
    kind = type(value)
    if kind in _SCALARS:
        return True
    if kind is dict:
        return all(type(k) is str and _plain_json(v) for k, v in value.items())
    if kind is list:
        return all(_plain_json(v) for v in value)
    return False


def act(
    ctx: Context,
    operation: str,
    body: BaseModel | dict[str, Any] | None,
    key: str | None,
    call: Callable[[], Any],
    *,
    status: int = 201,
    location: Callable[[Any], str] | None = None,
    prefetch: tuple[int, frozenset[str]] | None = None,
) -> JSONResponse:
    """Run ``call`` (one or more service calls) in one transaction the request owns, once
    per idempotency ``key``; answer ``status`` with the JSON result (``Idempotent-Replayed:
    true`` when an earlier result is returned). The protocol's edit checks that read what the
    request wrote then run on every patient whose clinical records it wrote (``edit_checks``
    in the result; in "warn" mode without a comment a finding refuses the whole request:
    409, nothing kept). ``prefetch``: (patient id, the marks ``call`` writes): the checks'
    records are read as soon as the call has locked that patient (``checks.prefetch``),
    not after its writes."""
    payload = body.model_dump(mode="json") if isinstance(body, BaseModel) else (body or {})

    def run() -> Any:
        if prefetch is not None and ctx.edit_checks != "off":
            prefetch_when_locked(ctx, *prefetch)
        result = call()
        if not _plain_json(result):
            result = jsonable_encoder(result)
        session = ctx.store.current_session()
        written = session.info.get(WRITTEN_PATIENTS, {}) if session is not None else {}
        if written:
            findings = [
                finding
                for patient_id in sorted(written)
                for finding in check_patient(
                    ctx,
                    patient_id,
                    comment=ctx.check_comment,
                    mode=ctx.edit_checks,
                    written=written[patient_id],
                )
            ]
            if isinstance(result, dict):
                result = {**result, "edit_checks": findings}
        return result

    # No savepoint per service call: any error fails the whole request (problem+json, all
    # rolled back), so nothing would be kept after a failed call anyway (two round trips
    # fewer per call; the idempotency claim keeps its own savepoint).
    with ctx.store.transaction(savepoints=False):
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
