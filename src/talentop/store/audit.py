"""Append to and verify the audit log (a verifiable log: ``talentop.store.log``).

Each write appends one entry in the same transaction as the change: an INSERT, nothing
more (no lock, no read of a chain head). The sequencer later gives entries their position
and leaf hash; checkpoints signed with a key outside the database fix the Merkle tree over
them. ``verify_audit`` checks every entry against its leaf hash, the positions for gaps, the
tree against every checkpoint (consistency proofs between successive tree heads), the
randomisation keys against their fingerprints, and the tables against their latest entries.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from talentop.store.hashing import canonical_json
from talentop.store.keys import KeyRing
from talentop.store.merkle import EMPTY_ROOT
from talentop.store.models import AuditEntry, utcnow


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
    """Append one entry in the caller's transaction. Its ``id`` comes from the database's
    sequence; its position (``seq``) and leaf hash come later from the sequencer."""
    entry = AuditEntry(
        at=utcnow(),
        actor=actor,
        entity=entity,
        entity_id=str(entity_id),
        action=action,
        before_json=None if before is None else canonical_json(before),
        after_json=None if after is None else canonical_json(after),
    )
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class AuditProblem:
    """One failed check: the audit entry's position (0 when no entry can be named, e.g. a
    table row that has no audit entry), the kind of problem and a sentence naming it.

    Entry kinds: "edited" (content no longer matches its leaf hash) | "gap" | "bad_start".
    Checkpoint kinds: "rewritten" (the tree no longer matches a signed checkpoint: ``seq``
    is the first entry that differs when it can be named) | "truncated" (fewer entries than
    a checkpoint signed) | "bad_checkpoint" (signature or format) | "rollback" (a checkpoint
    older or smaller than one before it: a replay) | "inconsistent" (two checkpoints that
    are not one append-only log). Key kind: "key_mismatch". Reconciliation kinds
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
    """Result of ``verify_audit``: entries and table rows checked, the tree head, the
    checkpoints checked and how much of the log they cover, every problem found."""

    rows: int = 0
    head_seq: int = 0
    #: Root hash (hex) of the Merkle tree over every sequenced entry.
    head_hash: str = EMPTY_ROOT.hex()
    problems: list[AuditProblem] = field(default_factory=list)
    table_rows: int = 0
    #: Entries written but not sequenced (only when verifying without sequencing first).
    pending: int = 0
    #: Checkpoints whose signature verified.
    checkpoints: int = 0
    #: Entries covered by the newest checkpoint that the log still matches.
    covered: int = 0
    latest_checkpoint: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def uncovered(self) -> int:
        """Entries that no checkpoint covers yet: a rewrite of these goes unseen."""
        return max(self.rows - self.covered, 0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "rows": self.rows,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "table_rows": self.table_rows,
            "pending": self.pending,
            "checkpoints": self.checkpoints,
            "covered": self.covered,
            "uncovered": self.uncovered,
            "latest_checkpoint": self.latest_checkpoint,
            "problems": [p.to_dict() for p in self.problems],
        }


def verify_audit(
    session: Session,
    *,
    reconcile_tables: bool = True,
    keys: KeyRing | None = None,
    sequence_first: bool = True,
) -> AuditReport:
    """Verify the whole log (``talentop.store.verify``): entries against their leaf hashes,
    positions, the tree against every checkpoint in ``keys.checkpoint_dir``, randomisation
    keys against their fingerprints, then (``reconcile_tables``) every table row against its
    latest entry. Without ``keys`` only what the database alone can show is checked."""
    # Imported here: verify builds on this module's AuditProblem, AuditReport and snapshot.
    from talentop.store.verify import verify_log

    return verify_log(
        session, reconcile_tables=reconcile_tables, keys=keys, sequence_first=sequence_first
    )
