"""Append to and verify the hash-chained audit trail.

Each write appends one row in the same transaction as the change. Rows carry a gap-free
sequence number and the SHA-256 of (their content + the previous row's hash), so an edited
row no longer matches its hash, a deleted row leaves a sequence gap and a broken link, and
swapped rows break the links. Appends are serialised so concurrent writers never fork the
chain: PostgreSQL takes a transaction-scoped advisory lock before reading the chain head;
SQLite transactions already hold the write lock (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from talentop.store.hashing import GENESIS_HASH, canonical_json, row_hash
from talentop.store.models import AuditEntry, utcnow

#: Key of the PostgreSQL advisory lock that guards the chain head ("TALA" in ASCII).
AUDIT_LOCK_KEY = 0x54414C41


def fingerprint(value: str | None) -> str | None:
    """What the trail keeps of a credential column: a short SHA-256 of the stored (already
    hashed or encrypted) value, so a change is seen and nothing usable is copied."""
    if value is None:
        return None
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:16]


def snapshot(obj: Any) -> dict[str, Any]:
    """A model row as a JSON-safe dict of its columns (bytes are redacted, never logged).

    A model's ``__redacted__`` columns appear as ``fingerprint``s; its ``__volatile__``
    columns (last use of a session or token) are left out, so using a credential is not
    an audited change of it."""
    mapper = inspect(obj).mapper
    redacted = getattr(mapper.class_, "__redacted__", frozenset())
    volatile = getattr(mapper.class_, "__volatile__", frozenset())
    out: dict[str, Any] = {}
    for column in mapper.column_attrs:
        if column.key in volatile:
            continue
        value = getattr(obj, column.key)
        if column.key in redacted:
            value = fingerprint(value)
        elif isinstance(value, bytes):
            value = "<redacted>"
        elif isinstance(value, dt.datetime | dt.date):
            value = value.isoformat()
        out[column.key] = value
    return out


def lock_chain_head(session: Session) -> None:
    """Serialise audit appends (PostgreSQL advisory lock until commit; no-op on SQLite,
    whose ``BEGIN IMMEDIATE`` already holds the write lock). Writers that call this first
    queue in arrival order instead of convoying on row locks taken before it."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})


def append_audit(
    session: Session,
    *,
    actor: str,
    entity: str,
    entity_id: object,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> AuditEntry:
    """Append one audit row (in the caller's transaction) chained to the current head."""
    lock_chain_head(session)
    head = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    seq = 1 if head is None else head.seq + 1
    prev_hash = GENESIS_HASH if head is None else head.hash
    at = utcnow()
    before_json = None if before is None else canonical_json(before)
    after_json = None if after is None else canonical_json(after)
    fields = {
        "seq": seq,
        "at": at,
        "actor": actor,
        "entity": entity,
        "entity_id": str(entity_id),
        "action": action,
        "before_json": before_json,
        "after_json": after_json,
        "prev_hash": prev_hash,
    }
    entry = AuditEntry(**fields, hash=row_hash(**fields))
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class AuditProblem:
    """One failed check: the audit row's sequence number (0 for a table row that has no
    audit entry), the kind of problem and a sentence naming what differs.

    Chain kinds: "edited" | "gap" | "broken_link" | "bad_start". Reconciliation kinds
    (``entity``/``entity_id`` name the table row): "unaudited_row" | "row_differs" |
    "row_missing".
    """

    seq: int
    kind: str
    detail: str
    entity: str | None = None
    entity_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "kind": self.kind,
            "detail": self.detail,
            "entity": self.entity,
            "entity_id": self.entity_id,
        }


@dataclass
class AuditReport:
    """Result of ``verify_audit``: audit rows and table rows checked, head hash, every
    problem found."""

    rows: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    problems: list[AuditProblem] = field(default_factory=list)
    table_rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "rows": self.rows,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "table_rows": self.table_rows,
            "problems": [p.to_dict() for p in self.problems],
        }


def verify_audit(session: Session, *, reconcile_tables: bool = True) -> AuditReport:
    """Recompute every hash and link in sequence order; name each row that fails. Then
    (``reconcile_tables``) check every table row against its latest audit entry
    (``talentop.store.reconcile``: tail truncation, direct table edits, deleted rows)."""
    # Imported here: reconcile builds on this module's AuditProblem and snapshot.
    from talentop.store.reconcile import LatestEntry, reconcile

    report = AuditReport()
    expected_seq = 1
    prev_hash = GENESIS_HASH
    latest: dict[tuple[str, str], LatestEntry] = {}
    rows = session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars()
    for row in rows:
        report.rows += 1
        latest[(row.entity, row.entity_id)] = LatestEntry(row.seq, row.action, row.after_json)
        if row.seq != expected_seq:
            if row.seq > expected_seq:
                missing = (
                    f"{expected_seq}"
                    if row.seq == expected_seq + 1
                    else f"{expected_seq}..{row.seq - 1}"
                )
                report.problems.append(
                    AuditProblem(row.seq, "gap", f"row(s) {missing} missing before row {row.seq}")
                )
            else:
                report.problems.append(
                    AuditProblem(row.seq, "bad_start", f"sequence restarts at {row.seq}")
                )
        recomputed = row_hash(
            seq=row.seq,
            at=row.at,
            actor=row.actor,
            entity=row.entity,
            entity_id=row.entity_id,
            action=row.action,
            before_json=row.before_json,
            after_json=row.after_json,
            prev_hash=row.prev_hash,
        )
        if recomputed != row.hash:
            report.problems.append(
                AuditProblem(
                    row.seq,
                    "edited",
                    f"row {row.seq} ({row.entity} {row.entity_id} {row.action}) does not match "
                    f"its hash: its content was changed after it was written",
                )
            )
        if row.prev_hash != prev_hash:
            report.problems.append(
                AuditProblem(
                    row.seq,
                    "broken_link",
                    f"row {row.seq} points to previous hash {row.prev_hash[:12]}..., but the "
                    f"row before it has {prev_hash[:12]}... (a row was deleted, inserted or "
                    f"moved)",
                )
            )
        prev_hash = row.hash
        expected_seq = row.seq + 1
        report.head_seq = row.seq
        report.head_hash = row.hash
    if reconcile_tables:
        session.expunge_all()
        report.table_rows, found = reconcile(session, latest)
        report.problems.extend(found)
    return report
