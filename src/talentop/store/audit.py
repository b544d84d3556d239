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
import functools
import hashlib
import weakref
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, event, insert, inspect
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.util import find_tables

from talentop.store import direct
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


@functools.cache
def _snapshot_plan(cls: type) -> tuple[tuple[str, str], ...]:
    """(attribute, how) per audited column of a model, computed once per class:
    how is "redact" (fingerprint), "skip" (volatile) or "plain"."""
    mapper = inspect(cls)
    redacted = getattr(cls, "__redacted__", frozenset())
    volatile = getattr(cls, "__volatile__", frozenset())
    plan = []
    for column in mapper.column_attrs:
        if column.key in volatile:
            continue
        plan.append((column.key, "redact" if column.key in redacted else "plain"))
    return tuple(plan)


def snapshot(obj: Any) -> dict[str, Any]:
    """A model row as a JSON-safe dict of its columns (bytes are redacted, never logged).

    A model's ``__redacted__`` columns appear as ``fingerprint``s; its ``__volatile__``
    columns (last use of a session or token) are left out, so using a credential is not
    an audited change of it."""
    loaded = obj.__dict__  # an attribute not in it (expired, deferred) is read as the ORM does
    return _snapshot(type(obj), lambda key: loaded[key] if key in loaded else getattr(obj, key))


def snapshot_values(cls: type, values: dict[str, Any]) -> dict[str, Any]:
    """``snapshot`` of a ``cls`` row given as {attribute: value} (absent: None), without
    building the ORM object."""
    return _snapshot(cls, values.get)


def _snapshot(cls: type, value_of: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, how in _snapshot_plan(cls):
        value = value_of(key)
        if how == "redact":
            value = fingerprint(value)
        elif isinstance(value, bytes):
            value = "<redacted>"
        elif isinstance(value, dt.datetime | dt.date):
            value = value.isoformat()
        out[key] = value
    return out


#: ``session.info`` key: audit rows appended in this transaction, not yet inserted.
PENDING = "talentop_audit_pending"
#: ``session.info`` key: open savepoint -> [rows pending when it began, rows to re-queue
#: if it rolls back]; see ``flush_audit``.
MARKS = "talentop_audit_marks"


class PendingEntry(dict):
    """An appended audit row (its columns), inserted with the transaction's others at
    commit (or before anything in the transaction reads the log). Columns read as
    attributes: ``entry.after_json``."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def append_audit(
    session: Session,
    *,
    actor: str,
    entity: str,
    entity_id: object,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> PendingEntry:
    """Append one entry to the caller's transaction.

    The rows of one transaction are inserted together (one ``executemany``) just before
    it commits, or earlier if a statement in the transaction reads the log; rows appended
    in a savepoint that rolls back are dropped with it (``_install_events``). Its ``id``
    comes from the database's sequence at that insert; its position (``seq``) and leaf hash
    come later from the sequencer (``talentop.store.log``)."""
    entry = PendingEntry(
        at=utcnow(),
        actor=actor,
        entity=entity,
        entity_id=str(entity_id),
        action=action,
        before_json=None if before is None else canonical_json(before),
        after_json=None if after is None else canonical_json(after),
    )
    pending = session.info.get(PENDING)
    if pending is None:
        pending = session.info[PENDING] = []
    pending.append(entry)
    return entry


#: The columns an appended entry sets (``append_audit``); the rest come later.
_ENTRY_COLUMNS = ("at", "actor", "entity", "entity_id", "action", "before_json", "after_json")
_INSERT_ENTRIES = insert(AuditEntry.__table__).values({c: bindparam(c) for c in _ENTRY_COLUMNS})
#: Up to this many entries go in one multi-row INSERT (one statement, no pipeline).
_ONE_STATEMENT = 32


@functools.cache
def _insert_rows(n: int) -> Any:
    """``INSERT ... VALUES (...), ... (...)`` of ``n`` entries (parameters ``<column>_<i>``)."""
    return insert(AuditEntry.__table__).values(
        [{c: bindparam(f"{c}_{i}") for c in _ENTRY_COLUMNS} for i in range(n)]
    )


_AUDIT_TABLE = AuditEntry.__table__


def flush_audit(session: Session) -> int:
    """Insert the transaction's pending audit rows now (one ``executemany``); returns how
    many. Called before the outermost commit and before any statement that reads the log.

    A flush inside a savepoint also inserts the rows appended before it; a rollback of that
    savepoint undoes them in the database, so each open savepoint keeps those rows and puts
    them back in the queue if it rolls back (``_rolled_back``): nothing the enclosing
    transaction wrote is lost, nothing the savepoint wrote survives."""
    rows = _take_pending(session)
    if len(rows) > _ONE_STATEMENT:
        direct.execute_many(session, _INSERT_ENTRIES, rows)
    elif rows:
        direct.execute(session, *_one_statement(rows), flush=False)
    return len(rows)


def _take_pending(session: Session) -> list[PendingEntry]:
    """The queued rows, taken off the queue (each open savepoint keeps those it will
    re-queue if it rolls back)."""
    pending = session.info.get(PENDING)
    if not pending:
        return []
    rows = list(pending)
    for mark in (session.info.get(MARKS) or {}).values():
        mark[1].extend(rows[: mark[0]])
        mark[0] = 0
    pending.clear()
    return rows


def _one_statement(rows: list[PendingEntry]) -> tuple[Any, dict[str, Any]]:
    params = {f"{c}_{i}": row[c] for i, row in enumerate(rows) for c in _ENTRY_COLUMNS}
    return _insert_rows(len(rows)), params


_TOUCHES: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


def _touches_log(statement: Any) -> bool:
    """Whether a statement reads or writes the audit table (statements built once are
    looked at once)."""
    try:
        return _TOUCHES[statement]
    except (KeyError, TypeError):
        pass
    if isinstance(statement, TextClause):
        touches = "audit_trail" in statement.text
    else:
        touches = _AUDIT_TABLE in find_tables(statement, include_joins=True, include_selects=True)
    try:
        _TOUCHES[statement] = touches
    except TypeError:
        pass
    return touches


def _install_events() -> None:
    """Session hooks (on every Session, so no code path can leave rows unwritten): insert
    the pending rows before the outermost commit and before a statement that touches the
    log; drop the rows of a savepoint that rolls back, and all of them on a rollback."""

    @event.listens_for(Session, "before_commit")
    def _before_commit(session: Session) -> None:
        if session.get_nested_transaction() is None:  # the outermost transaction commits
            flush_audit(session)

    @event.listens_for(Session, "do_orm_execute")
    def _before_execute(state: Any) -> None:
        if state.session.info.get(PENDING) and _touches_log(state.statement):
            flush_audit(state.session)

    @event.listens_for(Session, "after_transaction_create")
    def _savepoint_begins(session: Session, transaction: Any) -> None:
        if transaction.nested:
            marks = session.info.setdefault(MARKS, {})
            marks[transaction] = [len(session.info.get(PENDING) or ()), []]

    @event.listens_for(Session, "after_rollback")
    def _rolled_back(session: Session) -> None:
        # Fired right after the database rolled back the innermost savepoint (the session's
        # nested transaction is still that savepoint) or the whole transaction (none).
        pending = session.info.get(PENDING)
        savepoint = session.get_nested_transaction()
        if savepoint is None:
            if pending:
                pending.clear()
            return
        mark = (session.info.get(MARKS) or {}).get(savepoint)
        if mark is not None and (pending or mark[1]):
            session.info[PENDING] = [*mark[1], *(pending or [])[: mark[0]]]

    @event.listens_for(Session, "after_transaction_end")
    def _ended(session: Session, transaction: Any) -> None:
        if transaction.nested:
            marks = session.info.get(MARKS)
            if marks:
                marks.pop(transaction, None)
        elif transaction.parent is None:
            session.info.pop(PENDING, None)
            session.info.pop(MARKS, None)


_install_events()


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
