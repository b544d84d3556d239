"""Canonical JSON and the audit-row hash (pure functions, no database)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

#: prev_hash of the first row of the chain.
GENESIS_HASH = "0" * 64


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        # Never put raw bytes (e.g. the allocation secret) in the trail.
        return "<bytes redacted>"
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"cannot serialise {type(value).__name__} in the audit trail")


def canonical_json(value: Any) -> str:
    """JSON with sorted keys, no spaces, ASCII only: the same bytes on every machine."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=_default
    )


def row_hash(
    *,
    seq: int,
    at: dt.datetime,
    actor: str,
    entity: str,
    entity_id: str,
    action: str,
    before_json: str | None,
    after_json: str | None,
    prev_hash: str,
) -> str:
    """SHA-256 over the canonical JSON of the row's content and the previous row's hash."""
    payload = canonical_json(
        {
            "seq": seq,
            "at": at.isoformat(timespec="microseconds"),
            "actor": actor,
            "entity": entity,
            "entity_id": entity_id,
            "action": action,
            "before": before_json,
            "after": after_json,
            "prev_hash": prev_hash,
        }
    )
    return hashlib.sha256(payload.encode("ascii")).hexdigest()
