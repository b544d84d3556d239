"""Canonical JSON: the bytes an audit entry's leaf hash covers (pure, no database)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any


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
