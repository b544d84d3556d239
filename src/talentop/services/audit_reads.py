"""Audit entries for people: one patient's, one table's or one row's history, newest first
(never the randomisation key, the stratum counters or a credential)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import Field

from talentop.errors import InvalidInput, PermissionDenied
from talentop.services._context import Context
from talentop.services._validate import RecordId, service
from talentop.services.access import read_scope, redact, require_patient
from talentop.services.audit import integrate, store_context
from talentop.services.permissions import SYSTEM
from talentop.services.reads import Offset, Page
from talentop.store import Store, read_queries
from talentop.store.read_queries import HIDDEN_ENTITIES

#: Audit pages may be long (an export reads thousands of rows at once).
AuditLimit = Annotated[int, Field(ge=1, le=1_000_000)]


def entry_dict(row: Any, scope: Any = None) -> dict[str, Any]:
    """One audit row as JSON (free text dropped for pseudonymised readers)."""
    before = json.loads(row.before_json) if row.before_json else None
    after = json.loads(row.after_json) if row.after_json else None
    if scope is not None:
        before = None if before is None else redact(scope, before)
        after = None if after is None else redact(scope, after)
    return {
        "seq": row.seq,
        "at": row.at.isoformat(),
        "actor": row.actor,
        "entity": row.entity,
        "entity_id": row.entity_id,
        "action": row.action,
        "before": before,
        "after": after,
    }


@service
def audit_entries(
    target: Context | Store, *, entity: str | None = None, limit: AuditLimit = 100
) -> list[dict[str, Any]]:
    """The newest ``limit`` audit rows (optionally of one entity), newest first."""
    return audit_history(store_context(target), entity=entity, limit=limit).items


@service
def audit_history(
    ctx: Context,
    *,
    patient_id: RecordId | None = None,
    entity: str | None = None,
    entity_id: str | None = None,
    limit: AuditLimit = 100,
    offset: Offset = 0,
) -> Page:
    """Audit entries newest first: of one patient (every record tied to them), of one
    table or one row. Readers scoped to sites (monitors, data managers of a site) must
    name a patient they may read; the tables holding secrets, counters and credentials
    are never listed."""
    if entity is not None and entity in HIDDEN_ENTITIES and ctx.actor != SYSTEM:
        raise InvalidInput.field("entity", entity, "a table of trial records")
    integrate(ctx.store)  # entries written since the last sequencer run get their positions
    with ctx.store.read_only() as session:
        if patient_id is not None:
            patient, scope = require_patient(session, ctx, "audit_entries", patient_id)
            rows = [("patients", patient), *read_queries.patient_records(session, patient.id)]
            keys = [
                (table, str(row.id))
                for table, row in rows
                if (entity is None or table == entity)
                and (entity_id is None or str(row.id) == entity_id)
            ]
            entries, total = read_queries.audit_for_keys(session, keys, limit=limit, offset=offset)
        else:
            scope = read_scope(session, ctx, "audit_entries")
            if not scope.everything:
                raise PermissionDenied(
                    f"audit_entries refused: user {scope.username!r} ({scope.role}) reads the "
                    "audit trail of one patient at a time; give patient_id"
                )
            entries, total = read_queries.audit_page(
                session,
                entity=entity,
                entity_id=entity_id,
                limit=limit,
                offset=offset,
                show_hidden=scope.role is None,
            )
        return Page([entry_dict(row, scope) for row in entries], total, limit, offset)
