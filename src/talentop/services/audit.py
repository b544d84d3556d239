"""Audit trail read-outs: verify the hash chain, list entries (never the allocation secret)."""

from __future__ import annotations

import json
from typing import Any

from talentop.store import AuditReport, Store, queries, require_schema, verify_audit


def verify(store: Store) -> AuditReport:
    """Recompute the whole chain and reconcile it with the entity tables; the report names
    each audit row (sequence number) or table row that fails. ``DatabaseUnavailable`` for a
    database never initialised (no SQLite file is created)."""
    require_schema(store)
    with store.unit_of_work() as session:
        return verify_audit(session)


def audit_entries(
    store: Store, *, entity: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """The newest ``limit`` audit rows (optionally of one entity), newest first."""
    with store.unit_of_work() as session:
        rows = queries.audit_rows(session, entity=entity, limit=limit)
        return [
            {
                "seq": row.seq,
                "at": row.at.isoformat(),
                "actor": row.actor,
                "entity": row.entity,
                "entity_id": row.entity_id,
                "action": row.action,
                "before": json.loads(row.before_json) if row.before_json else None,
                "after": json.loads(row.after_json) if row.after_json else None,
            }
            for row in rows
        ]
