"""Idempotent creates: a retried request with the same key returns the first result.

The key is claimed (a unique row per user and key) in the caller's transaction before the
work runs, so two concurrent requests with one key cannot both act: the second waits on
the first's row (PostgreSQL unique index; SQLite's single writer) and then returns its
stored result. A failed request stores nothing, so its retry runs again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from talentop.errors import InvalidInput
from talentop.services._context import Context
from talentop.store import auth_queries, writes
from talentop.store.hashing import canonical_json

MAX_KEY = 128


def request_hash(operation: str, request: Any) -> str:
    return hashlib.sha256((operation + canonical_json(request)).encode()).hexdigest()


def once(
    ctx: Context, key: str | None, operation: str, request: Any, run: Callable[[], Any]
) -> tuple[Any, bool]:
    """``run()``'s result, or the stored result of an earlier call with the same ``key``
    (then ``True`` as second value). ``InvalidInput`` if the key was used for a different
    request."""
    if key is None:
        return run(), False
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY:
        raise InvalidInput.field("Idempotency-Key", key, f"1-{MAX_KEY} characters")
    digest = request_hash(operation, request)
    user_id = ctx.principal.user_id if ctx.principal is not None else None
    scoped = f"u{user_id}:{key}" if user_id is not None else f"a:{ctx.actor}:{key}"
    with ctx.store.atomic() as session:
        claim = auth_queries.claim_idempotency(session, user_id, scoped, operation, digest)
        if claim is None:
            stored = auth_queries.idempotent_result(session, scoped)
            if stored is None:  # the other request failed and stored nothing: act now
                return run(), False
            if stored.request_hash != digest or stored.operation != operation:
                raise InvalidInput.field(
                    "Idempotency-Key", key, "a new key: this one was used for another request"
                )
            return json.loads(stored.response_json), True
        writes.insert_audit_only(session, ctx.actor, claim)
        result = run()
        writes.update(session, ctx.actor, claim, response_json=json.dumps(result, default=str))
        return result, False
