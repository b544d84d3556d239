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


@dataclass(frozen=True)
class Prepared:
    """Pending entries hashed ahead of the sequencer's lock (``prepare``): the head they were
    hashed after, their ids in order and their leaf hashes (hex) at positions head + 1, ..."""

    head: int
    ids: list[int]
    leaves: list[str]


def prepare(session: Session) -> Prepared:
    """Hash the pending entries at the positions they would get now, in a read transaction
    (no lock): the work of sequencing, done while writers go on. ``sequence(session,
    prepared)`` then only checks that nothing moved and writes the positions."""
    head = session.execute(select(func.max(AuditEntry.seq))).scalar_one() or 0
    rows = session.execute(
        select(*CONTENT).where(AuditEntry.seq.is_(None)).order_by(AuditEntry.id)
    ).all()
    return Prepared(
        head,
        [row.id for row in rows],
        [entry_leaf_hash(row, head + i).hex() for i, row in enumerate(rows, start=1)],
    )


@dataclass(frozen=True)
class Sequenced:
    """What one ``sequence`` call did: positions ``head + 1 .. head + len(leaves)``."""

    head: int
    leaves: list[str]


def _sequence(session: Session, prepared: Prepared | None = None) -> Sequenced:
    if (
        session.execute(select(AuditEntry.id).where(AuditEntry.seq.is_(None)).limit(1)).first()
        is None
    ):
        return Sequenced(0, [])
    lock_sequencer(session)
    head = session.execute(select(func.max(AuditEntry.seq))).scalar_one() or 0
    ids: list[int] = []
    leaves: list[str] = []
    after_id = None
    if prepared is not None and prepared.ids and prepared.head == head:
        pending = (
            session.execute(
                select(AuditEntry.id).where(AuditEntry.seq.is_(None)).order_by(AuditEntry.id)
            )
            .scalars()
            .all()
        )
        # Usable only if the same entries are still the first pending ones, in the same
        # order, after the same head: then they get exactly the positions they were hashed at.
        if pending[: len(prepared.ids)] == prepared.ids:
            ids, leaves, after_id = list(prepared.ids), list(prepared.leaves), prepared.ids[-1]
    stmt = select(*CONTENT).where(AuditEntry.seq.is_(None))
    if after_id is not None:
        stmt = stmt.where(AuditEntry.id > after_id)
    for row in session.execute(stmt.order_by(AuditEntry.id)):
        ids.append(row.id)
        leaves.append(entry_leaf_hash(row, head + len(ids)).hex())
    if not ids:
        return Sequenced(head, [])
    table = AuditEntry.__table__
    session.execute(
        update(table)
        .where(table.c.id == bindparam("entry_id"))
        .values(seq=bindparam("new_seq"), leaf_hash=bindparam("new_leaf")),
        [
            {"entry_id": entry_id, "new_seq": head + i, "new_leaf": leaf}
            for i, (entry_id, leaf) in enumerate(zip(ids, leaves, strict=True), start=1)
        ],
    )
    return Sequenced(head, leaves)


def sequence(session: Session, prepared: Prepared | None = None) -> int:
    """Give every entry without a position the next positions, in ``id`` order, and its leaf
    hash; returns how many were sequenced. Cheap when there is nothing to do (no lock).

    ``prepared`` (from ``prepare`` in an earlier read transaction): its hashes are used when
    its entries are still the first pending ones after the same head; entries beyond them
    are hashed here, and anything else moved means all are hashed here."""
    return len(_sequence(session, prepared).leaves)


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


class TreeCache:
    """The tree a periodic checkpointer signed last, kept between its ticks: the next tick
    reads only the leaves sequenced since and extends it (``checkpoint(cache=...)``),
    instead of reading every stored leaf and hashing the whole tree again. The cached
    leaves are those already signed, so a tick on the cache signs nothing it has not checked;
    a ``full`` tick (the first, every few, the last) reads and checks every stored leaf
    again, which is how a rewritten stored history is noticed."""

    def __init__(self) -> None:
        self.tree: MerkleTree | None = None


def _tree(session: Session, cache: TreeCache | None, full: bool) -> MerkleTree:
    """Every stored leaf, or (``cache`` and not ``full``) the cached tree extended by the
    leaves stored beyond it; ``IntegrityError`` if those are not the next positions."""
    if cache is None or cache.tree is None or full:
        return MerkleTree(stored_leaves(session))
    tree = cache.tree
    rows = session.execute(
        select(AuditEntry.seq, AuditEntry.leaf_hash)
        .where(AuditEntry.seq > tree.size)
        .order_by(AuditEntry.seq)
    ).all()
    for expected, row in enumerate(rows, start=tree.size + 1):
        if row.seq != expected:
            raise IntegrityError(
                f"audit entry #{expected} is missing from the log: refusing to sign (run "
                "talentop audit verify)"
            )
    tree.extend([bytes.fromhex(row.leaf_hash) if row.leaf_hash else b"" for row in rows])
    return tree


def checkpoint(
    store: Store,
    *,
    only_if_grown: bool = False,
    now: dt.datetime | None = None,
    cache: TreeCache | None = None,
    full: bool = True,
) -> CheckpointResult:
    """Sequence what is pending, then sign and write the tree head (see the module doc).

    Holds the checkpoint folder's lock throughout, so a second checkpointer (thread or
    process) reads the log only after this one wrote. Three transactions: the pending
    entries are hashed in a read transaction (``prepare``), their positions written in a
    short write transaction (``sequence``: writers wait only for that), and the tree is read,
    checked and signed in a read transaction. Refuses (``IntegrityError``) to sign a tree
    that does not extend the previous checkpoint, so a rewritten history is never blessed
    by a later signature. ``cache`` and ``full``: see ``TreeCache``.
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
    with folder.locked():
        with store.read_only() as session:
            prepared = prepare(session)
        with store.unit_of_work() as session:
            done = _sequence(session, prepared)
        try:
            with store.read_only() as session:
                result = _sign(session, folder, signer, done, only_if_grown, now, cache, full)
        except BaseException:
            if cache is not None:
                cache.tree = None  # it may hold leaves that were not signed
            raise
    return result


def _sign(
    session: Session,
    folder: CheckpointFolder,
    signer: Any,
    done: Sequenced,
    only_if_grown: bool,
    now: dt.datetime | None,
    cache: TreeCache | None,
    full: bool,
) -> CheckpointResult:
    previous = _latest_valid(folder, signer.verifier)
    tree = _tree(session, cache, full)
    leaves = tree.levels[0]
    size = tree.size
    sequenced = len(done.leaves)
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
            if cache is not None:
                cache.tree = tree
            return CheckpointResult(previous, None, sequenced)
    # Leaves beyond the last checkpoint are checked against their content before signing.
    # Those this call hashed itself (``done``: from the content it read moments ago) are
    # compared with what it computed; those an earlier call sequenced are hashed again
    # from their content (that recheck is what refuses an edited entry or leaf).
    start = previous.size if previous is not None else 0
    ours = range(done.head + 1, done.head + sequenced + 1)
    for seq in ours:
        if seq > start and (seq > size or leaves[seq - 1].hex() != done.leaves[seq - ours.start]):
            raise IntegrityError(
                f"audit entry #{seq} does not match its leaf hash: refusing to sign"
            )
    stmt = select(*CONTENT).where(AuditEntry.seq > start, AuditEntry.seq <= size)
    if sequenced:
        stmt = stmt.where((AuditEntry.seq < ours.start) | (AuditEntry.seq >= ours.stop))
    for row in session.execute(stmt.order_by(AuditEntry.seq)):
        if entry_leaf_hash(row) != leaves[row.seq - 1]:
            raise IntegrityError(
                f"audit entry #{row.seq} does not match its leaf hash: refusing to sign"
            )
    head = Checkpoint(signer.name, size, tree.root(), now or utcnow())
    archived = folder.archived_count()
    path = folder.append(signer, head, leaves[archived:size])
    if cache is not None:
        cache.tree = tree
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
    "Prepared",
    "TreeCache",
    "checkpoint",
    "document_leaf_hash",
    "entry_document",
    "entry_leaf_hash",
    "inclusion_proof",
    "pending",
    "prepare",
    "sequence",
    "stored_leaves",
    "verify_inclusion_document",
]
