"""The audit trail for people: one patient's history readably (what, who, when, old and new
value, why) and its export (CSV here; CDISC ODM 1.3.2 with ``AuditRecord``s in
``talentop.services.odm_audit``); every export is itself an audited event."""

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


def changes_of(entry: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(field, old, new) per field an audit entry changed, by field name: a creation gives
    its non-empty fields, a deletion the fields it removed (the row id is the record's key,
    not a field), an update the fields whose value differs."""
    before, after = entry.get("before") or {}, entry.get("after") or {}
    if entry["action"] == "create":
        return [(k, None, v) for k, v in sorted(after.items()) if v is not None and k != "id"]
    if entry["action"] == "delete":
        return [(k, v, None) for k, v in sorted(before.items()) if v is not None and k != "id"]
    return [
        (k, before.get(k), after.get(k))
        for k in sorted(set(before) | set(after))
        if before.get(k) != after.get(k)
    ]


def _field_root(field: str) -> str:
    """The stored column a correction's field lives in: ``record.ecog`` -> ``record`` (the
    screening's ``record_json``), ``value`` -> ``value``."""
    return field.split(".")[0]


def correction_reasons(entries: list[dict[str, Any]], corrections: list[Any]) -> dict:
    """(seq of the audit entry that wrote the correction, field) -> "category: reason".

    A correction's row is written in the same transaction as the update it explains, right
    after it: its update is the nearest audit entry before the correction's own creation
    entry that changed that field of that record. So a value corrected twice shows each
    correction's reason on its own change, and a later update of the same field that was
    not a correction (a re-derivation, a state change) shows none."""
    created = {
        e["entity_id"]: e["seq"]
        for e in entries
        if e["entity"] == "corrections" and e["action"] == "create"
    }
    updates = [e for e in entries if e["action"] == "update"]
    out: dict[tuple[int, str], str] = {}
    for correction in corrections:
        limit = created.get(str(correction.id))
        root = _field_root(correction.field)
        for entry in reversed(updates):
            if limit is not None and entry["seq"] > limit:
                continue
            if (entry["entity"], entry["entity_id"]) != (correction.entity, correction.entity_id):
                continue
            fields = [f for f, _, _ in changes_of(entry) if f.removesuffix("_json") == root]
            if fields:
                for field in fields:
                    out[(entry["seq"], field)] = f"{correction.category}: {correction.reason}"
                break
    return out


def patient_entries(ctx: Context, patient_id: int) -> tuple[list[dict[str, Any]], dict]:
    """The patient's audit entries oldest first (as the caller may read them) and the
    correction reason of each corrected change (``correction_reasons``)."""
    entries = audit_history(ctx, patient_id=patient_id, limit=1_000_000).items
    entries = sorted(entries, key=lambda e: e["seq"] or 0)
    with ctx.store.read_only() as session:
        reasons = correction_reasons(entries, dm_queries.corrections_of(session, patient_id))
    return entries, reasons


def history_rows(ctx: Context, patient_id: int) -> list[dict[str, Any]]:
    """One row per changed field of every audit entry of the patient, oldest first, with the
    correction reason where the change was a correction."""
    entries, reasons = patient_entries(ctx, patient_id)
    rows = []
    for entry in entries:
        for field, old, new in changes_of(entry):
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
                    "reason": reasons.get((entry["seq"], field)),
                }
            )
    return rows


def log_export(ctx: Context, detail: str) -> None:
    """Record an export of the audit trail as an audited event (``auth_events`` row, kind
    ``audit_exported``) in its own transaction."""
    with ctx.store.unit_of_work() as session:
        user = acting_user(session, ctx.actor)
        auth_event(session, ctx.actor, "audit_exported", ctx.actor, user, detail, None, ctx.now())


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
    log_export(ctx, f"patient {patient_id}: {len(rows)} rows (CSV)")
    return buffer.getvalue()
