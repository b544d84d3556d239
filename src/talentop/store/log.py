"""The audit log as a verifiable log: sequencing, signed checkpoints, inclusion proofs.

Three steps, as Trillian separates them:

1. **Write.** ``append_audit`` inserts the entry in the writer's own transaction; its ``id``
   comes from the database's sequence. No lock, no read of a chain head: writers never
   queue on each other for the log.
2. **Sequence.** ``sequence(session)`` gives every committed entry without a position the
   next positions ``seq`` = 1, 2, 3 ... in ``id`` order, and its leaf hash. One short
   transaction under one lock (PostgreSQL advisory lock; SQLite's write lock), so positions
   are gap-free and never handed out twice. An entry written after another committed (e.g.
   a later update of the same row) always gets a later position: its ``id`` is larger and
   it cannot be visible to the sequencer without the earlier one.
3. **Checkpoint.** ``checkpoint(store)`` integrates the sequenced entries into the
   RFC 6962 Merkle tree, checks that the tree still extends the previous checkpoint (a
   consistency proof), signs the new tree head with the Ed25519 key from the key folder and
   writes it, with the new leaf hashes, to the checkpoint folder outside the database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.orm import Session

from talentop.errors import IntegrityError, NotFound
from talentop.store.checkpoints import CheckpointFolder
from talentop.store.engine import Store
from talentop.store.hashing import canonical_json
from talentop.store.keys import KeyRing
from talentop.store.merkle import MerkleTree, leaf_hash, verify_consistency
from talentop.store.models import AuditEntry, utcnow
from talentop.store.note import Checkpoint, NoteVerifier

#: Key of the PostgreSQL advisory lock the sequencer holds ("TALA" in ASCII).
SEQUENCER_LOCK_KEY = 0x54414C41
#: Columns that make up an entry's content (its leaf hashes these and its position).
CONTENT = (
    AuditEntry.id,
    AuditEntry.seq,
    AuditEntry.at,
    AuditEntry.actor,
    AuditEntry.entity,
    AuditEntry.entity_id,
    AuditEntry.action,
    AuditEntry.before_json,
    AuditEntry.after_json,
)


def entry_document(row: Any, seq: int | None = None) -> dict[str, Any]:
    """What a leaf commits to: the entry's position and content (JSON-safe)."""
    return {
        "seq": row.seq if seq is None else seq,
        "id": row.id,
        "at": row.at.isoformat(timespec="microseconds"),
        "actor": row.actor,
        "entity": row.entity,
        "entity_id": row.entity_id,
        "action": row.action,
        "before": row.before_json,
        "after": row.after_json,
    }


def document_leaf_hash(document: dict[str, Any]) -> bytes:
    """The RFC 6962 leaf hash of an entry document: SHA-256(0x00 || its canonical JSON)."""
    return leaf_hash(canonical_json(document).encode("ascii"))


def entry_leaf_hash(row: Any, seq: int | None = None) -> bytes:
    """The leaf hash of an audit row (at position ``seq`` when it has none yet)."""
    return document_leaf_hash(entry_document(row, seq))


def lock_sequencer(session: Session) -> None:
    """One sequencer at a time (PostgreSQL advisory lock until commit; on SQLite the
    transaction already holds the write lock)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEQUENCER_LOCK_KEY})


def pending(session: Session) -> int:
    """Committed entries not yet given a position."""
    return int(
        session.execute(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.seq.is_(None))
        ).scalar_one()
    )


def sequence(session: Session) -> int:
    """Give every entry without a position the next positions, in ``id`` order, and its leaf
    hash; returns how many were sequenced. Cheap when there is nothing to do (no lock)."""
    if (
        session.execute(select(AuditEntry.id).where(AuditEntry.seq.is_(None)).limit(1)).first()
        is None
    ):
        return 0
    lock_sequencer(session)
    head = session.execute(select(func.max(AuditEntry.seq))).scalar_one() or 0
    rows = session.execute(
        select(*CONTENT).where(AuditEntry.seq.is_(None)).order_by(AuditEntry.id)
    ).all()
    if not rows:
        return 0
    table = AuditEntry.__table__
    session.execute(
        update(table)
        .where(table.c.id == bindparam("entry_id"))
        .values(seq=bindparam("new_seq"), leaf_hash=bindparam("new_leaf")),
        [
            {
                "entry_id": row.id,
                "new_seq": head + i,
                "new_leaf": entry_leaf_hash(row, head + i).hex(),
            }
            for i, row in enumerate(rows, start=1)
        ],
    )
    return len(rows)


def stored_leaves(session: Session) -> list[bytes]:
    """The sequenced entries' stored leaf hashes in log order (cheap: one column)."""
    rows = session.execute(
        select(AuditEntry.leaf_hash).where(AuditEntry.seq.is_not(None)).order_by(AuditEntry.seq)
    ).scalars()
    return [bytes.fromhex(value) if value else b"" for value in rows]


@dataclass(frozen=True)
class CheckpointResult:
    """A checkpoint just written (``path``) or skipped because the log had not grown."""

    head: Checkpoint
    path: str | None
    sequenced: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "written": self.path is not None,
            "path": self.path,
            "origin": self.head.origin,
            "size": self.head.size,
            "root_hash": self.head.root.hex(),
            "time": self.head.time.isoformat(),
            "sequenced": self.sequenced,
        }


def _latest_valid(folder: CheckpointFolder, verifier: NoteVerifier) -> Checkpoint | None:
    stored = folder.read(verifier)
    bad = [c for c in stored if c.head is None]
    if bad:
        raise IntegrityError(
            f"checkpoint {bad[0].path} does not verify ({bad[0].problem}): refusing to sign "
            "over it; run talentop audit verify"
        )
    return stored[-1].head if stored else None


def checkpoint(
    store: Store, *, only_if_grown: bool = False, now: dt.datetime | None = None
) -> CheckpointResult:
    """Sequence what is pending, then sign and write the tree head (see the module doc).

    Holds the checkpoint folder's lock around its own transaction, so a second
    checkpointer (thread or process) reads the log only after this one committed.
    Refuses (``IntegrityError``) to sign a tree that does not extend the previous checkpoint,
    so a rewritten history is never blessed by a later signature.
    """
    keys = store.keys
    signer = keys.signing_key()
    if signer is None:
        raise IntegrityError(
            f"no log signing key in {keys.key_dir}: run talentop db init (or restore "
            f"{keys.signing_key_path} from its backup)"
        )
    folder = CheckpointFolder(keys.checkpoint_dir)
    folder.pin(signer.verifier)
    with folder.locked(), store.unit_of_work() as session:
        sequenced = sequence(session)
        previous = _latest_valid(folder, signer.verifier)
        leaves = stored_leaves(session)
        tree = MerkleTree(leaves)
        size = tree.size
        if previous is not None:
            if size < previous.size:
                raise IntegrityError(
                    f"the log has {size} entries but checkpoint of size {previous.size} was "
                    "signed: entries were deleted; refusing to sign (run talentop audit verify)"
                )
            proof = tree.consistency_proof(previous.size, size)
            if not verify_consistency(previous.size, size, previous.root, tree.root(), proof):
                raise IntegrityError(
                    f"the log's first {previous.size} entries no longer match the checkpoint "
                    "that covers them: refusing to sign (run talentop audit verify)"
                )
            if only_if_grown and size == previous.size:
                return CheckpointResult(previous, None, sequenced)
        # Leaves beyond the last checkpoint are recomputed from their content before signing:
        # those an earlier transaction sequenced. The last ``sequenced`` leaves were computed
        # a moment ago in this transaction from the content it read, so they are not hashed
        # again (that was a third of a checkpoint's work: docs/benchmarks.md, round 6).
        start = previous.size if previous is not None else 0
        for row in session.execute(
            select(*CONTENT)
            .where(AuditEntry.seq > start, AuditEntry.seq <= size - sequenced)
            .order_by(AuditEntry.seq)
        ):
            if entry_leaf_hash(row) != leaves[row.seq - 1]:
                raise IntegrityError(
                    f"audit entry #{row.seq} does not match its leaf hash: refusing to sign"
                )
        head = Checkpoint(signer.name, size, tree.root(), now or utcnow())
        archived = folder.archived_count()
        path = folder.append(signer, head, leaves[archived:size])
    return CheckpointResult(head, str(path), sequenced)


def inclusion_proof(
    session: Session,
    keys: KeyRing,
    *,
    seq: int | None = None,
    entity: str | None = None,
    entity_id: str | None = None,
) -> dict[str, Any]:
    """Everything a monitor needs to show that one entry was in the log at the time of the
    newest checkpoint that covers it: the entry, its leaf hash, the audit path and that
    checkpoint's signed note (check it with ``verify_inclusion_document``)."""
    sequence(session)
    stmt = select(*CONTENT).where(AuditEntry.seq.is_not(None))
    if seq is not None:
        stmt = stmt.where(AuditEntry.seq == seq)
    else:
        stmt = stmt.where(AuditEntry.entity == entity, AuditEntry.entity_id == str(entity_id))
    row = session.execute(stmt.order_by(AuditEntry.seq).limit(1)).first()
    if row is None:
        what = f"#{seq}" if seq is not None else f"of {entity} {entity_id}"
        raise NotFound(f"no audit entry {what}")
    folder = CheckpointFolder(keys.checkpoint_dir)
    verifier = folder.verifier()
    covering = [c for c in folder.read(verifier) if c.head is not None and c.head.size >= row.seq]
    if not covering:
        raise NotFound(
            f"audit entry #{row.seq} is not covered by a checkpoint yet: run talentop audit "
            "checkpoint first"
        )
    chosen = covering[0]
    tree = MerkleTree(stored_leaves(session))
    if tree.size < chosen.head.size or tree.root(chosen.head.size) != chosen.head.root:
        raise IntegrityError(
            f"the log no longer matches checkpoint {chosen.number}: run talentop audit verify"
        )
    return {
        "format": "talentop inclusion proof v1 (RFC 9162 section 2.1.3)",
        "entry": entry_document(row),
        "leaf_index": row.seq - 1,
        "leaf_hash": entry_leaf_hash(row).hex(),
        "tree_size": chosen.head.size,
        "root_hash": chosen.head.root.hex(),
        "audit_path": [h.hex() for h in tree.inclusion_proof(row.seq - 1, chosen.head.size)],
        "checkpoint": chosen.note,
        "public_key": verifier.encode() if verifier else None,
    }


def verify_inclusion_document(proof: dict[str, Any], verifier: NoteVerifier) -> Checkpoint:
    """Check an exported inclusion proof with the log's public key (no database): the
    checkpoint's signature, the entry's leaf hash and its audit path to the signed root.
    Returns the checkpoint (its ``time`` is when the entry was known to be in the log)."""
    from talentop.store.merkle import verify_inclusion
    from talentop.store.note import open_note

    try:
        head = Checkpoint.parse(open_note(proof["checkpoint"], verifier))
        leaf = document_leaf_hash(proof["entry"])
        path = [bytes.fromhex(h) for h in proof["audit_path"]]
        index = int(proof["entry"]["seq"]) - 1
    except (KeyError, TypeError, ValueError) as error:
        raise IntegrityError(f"malformed inclusion proof: {error}") from None
    if head.origin != verifier.name:
        raise IntegrityError(f"the checkpoint is of log {head.origin!r}, not {verifier.name!r}")
    if not verify_inclusion(index, head.size, leaf, path, head.root):
        raise IntegrityError(
            f"entry #{index + 1} is not in the signed tree of size {head.size}: the entry or "
            "its audit path was altered"
        )
    return head


__all__ = [
    "CheckpointResult",
    "checkpoint",
    "document_leaf_hash",
    "entry_document",
    "entry_leaf_hash",
    "inclusion_proof",
    "pending",
    "sequence",
    "stored_leaves",
    "verify_inclusion_document",
]
