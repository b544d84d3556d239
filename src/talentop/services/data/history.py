"""The audit trail for people: one patient's history readably (what, who, when, old and new
value, why) and its export (CSV); every export is itself an audited event."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from talentop.services._context import Context
from talentop.services._validate import RecordId, service
from talentop.services.audit_reads import audit_history
from talentop.services.identity.events import auth_event
from talentop.services.permissions import acting_user
from talentop.store import dm_queries

COLUMNS = (
    "seq",
    "at_utc",
    "actor",
    "entity",
    "entity_id",
    "action",
    "field",
    "old",
    "new",
    "reason",
)


def _changes(entry: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    before, after = entry.get("before") or {}, entry.get("after") or {}
    if entry["action"] == "create":
        return [(k, None, v) for k, v in sorted(after.items()) if v is not None and k != "id"]
    if entry["action"] == "delete":
        return [(k, v, None) for k, v in sorted(before.items())]
    return [
        (k, before.get(k), after.get(k))
        for k in sorted(set(before) | set(after))
        if before.get(k) != after.get(k)
    ]


def history_rows(ctx: Context, patient_id: int) -> list[dict[str, Any]]:
    """One row per changed field of every audit entry of the patient, oldest first, with the
    correction reason where the change was a correction."""
    entries = sorted(
        audit_history(ctx, patient_id=patient_id, limit=1_000_000).items,
        key=lambda e: e["seq"] or 0,
    )
    with ctx.store.read_only() as session:
        reasons = {
            str(c.id): f"{c.category}: {c.reason}"
            for c in dm_queries.corrections_of(session, patient_id)
        }
    rows = []
    for index, entry in enumerate(entries):
        for field, old, new in _changes(entry):
            rows.append(
                {
                    "seq": entry["seq"],
                    "at_utc": entry["at"],
                    "actor": entry["actor"],
                    "entity": entry["entity"],
                    "entity_id": entry["entity_id"],
                    "action": entry["action"],
                    "field": field,
                    "old": old,
                    "new": new,
                    "reason": _reason(entries, index, field, reasons)
                    if entry["action"] == "update"
                    else None,
                }
            )
    return rows


def _reason(entries: list[dict[str, Any]], index: int, field: str, reasons: dict) -> Any:
    """The reason of the correction that made this update: its ``corrections`` row is
    created after the update in the same transaction (the next such row of this record and
    field), so each of several corrections of one field keeps its own reason."""
    entry = entries[index]
    name = field.replace("_json", "")
    for later in entries[index + 1 :]:
        after = later.get("after") or {}
        if later["entity"] != "corrections" or later["action"] != "create":
            continue
        same_record = (after.get("entity"), after.get("entity_id")) == (
            entry["entity"],
            entry["entity_id"],
        )
        if same_record and str(after.get("field", "")).split(".")[0] == name:
            return reasons.get(str(later["entity_id"]))
        if same_record:
            continue
    return None


@service
def export_audit(ctx: Context, patient_id: RecordId) -> str:
    """One patient's audit history as CSV (``COLUMNS``). The export is an audited event."""
    rows = history_rows(ctx, patient_id)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in row.items()}
        )
    with ctx.store.unit_of_work() as session:
        user = acting_user(session, ctx.actor)
        auth_event(
            session,
            ctx.actor,
            "audit_exported",
            ctx.actor,
            user,
            f"patient {patient_id}: {len(rows)} rows (CSV)",
            None,
            ctx.now(),
        )
    return buffer.getvalue()
