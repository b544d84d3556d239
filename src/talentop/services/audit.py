"""The audit log's upkeep: sequencing, verify, checkpoints (on demand and at an interval),
inclusion proofs. Entries are read through ``talentop.services.audit_reads``.

``verify`` takes a ``Context`` (checked against the permission table: ``verify_audit``) or,
for in-process tools that own the database (the CLI, the demo), the ``Store`` itself, which
acts as ``system``.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from talentop.services._context import Context
from talentop.services._validate import service
from talentop.services.access import read_scope
from talentop.services.permissions import SYSTEM
from talentop.store import AuditReport, Store, require_schema, verify_audit
from talentop.store.log import CheckpointResult, inclusion_proof, sequence
from talentop.store.log import checkpoint as sign_checkpoint

#: Seconds between the checkpoints a running server or demo signs (when the log grew).
CHECKPOINT_INTERVAL_ENV = "TALENTOP_CHECKPOINT_INTERVAL_S"
DEFAULT_CHECKPOINT_INTERVAL_S = 300.0

log = logging.getLogger(__name__)


def integrate(store: Store) -> int:
    """Run the sequencer once (its own short transaction): entries written since the last
    run get their positions and leaf hashes. Returns how many."""
    with store.unit_of_work() as session:
        return sequence(session)


def store_context(target: Context | Store) -> Context:
    """The caller: a ``Context``, or ``system`` for an in-process ``Store``."""
    if isinstance(target, Context):
        return target
    from talentop.protocol import load_protocol

    return Context(target, load_protocol("talentop"), SYSTEM)


@service
def verify(target: Context | Store, *, reconcile_tables: bool = True) -> AuditReport:
    """Sequence what is pending, then check every entry against its leaf hash, the tree
    against every checkpoint in the store's checkpoint folder, the randomisation keys
    against their fingerprints and every table row against its latest entry. The report
    names each entry (position) or table row that fails and how much of the log no
    checkpoint covers. ``DatabaseUnavailable`` for a database never initialised (no SQLite
    file is created)."""
    ctx = store_context(target)
    store = ctx.store
    require_schema(store)
    with store.read_only() as session:
        read_scope(session, ctx, "verify")
    integrate(store)
    with store.unit_of_work() as session:
        return verify_audit(
            session, keys=store.keys, sequence_first=False, reconcile_tables=reconcile_tables
        )


def checkpoint(store: Store, *, only_if_grown: bool = False) -> CheckpointResult:
    """Sign the current tree head into the checkpoint folder (``IntegrityError`` if the
    log no longer extends the previous checkpoint: it is never signed over)."""
    require_schema(store)
    return sign_checkpoint(store, only_if_grown=only_if_grown)


def prove_inclusion(
    store: Store,
    *,
    seq: int | None = None,
    entity: str | None = None,
    entity_id: str | None = None,
) -> dict[str, Any]:
    """The inclusion proof of one entry (by position, or the first entry of a table row,
    e.g. ``entity="randomisations", entity_id="12"``: the allocation as made) in the
    first checkpoint that covers it, as a JSON-safe document a monitor checks offline."""
    require_schema(store)
    with store.unit_of_work() as session:
        return inclusion_proof(session, store.keys, seq=seq, entity=entity, entity_id=entity_id)


def checkpoint_interval(value: float | None = None) -> float:
    """Explicit seconds, else ``TALENTOP_CHECKPOINT_INTERVAL_S``, else 300."""
    if value is not None:
        return value
    text = os.environ.get(CHECKPOINT_INTERVAL_ENV)
    return float(text) if text else DEFAULT_CHECKPOINT_INTERVAL_S


class Checkpointer:
    """Signs a checkpoint every ``interval_s`` seconds (when the log grew) in a background
    thread, and a last one on ``stop()``: what a server or the demo runs while it writes.

    ``with Checkpointer(store):`` starts it and stops it (final checkpoint) on exit. A
    refused checkpoint (the log no longer extends the last one) is logged and kept in
    ``errors``; the thread goes on so that the next tick tries again.
    """

    def __init__(self, store: Store, interval_s: float | None = None):
        self.store = store
        self.interval_s = checkpoint_interval(interval_s)
        self.written: list[CheckpointResult] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> CheckpointResult | None:
        from talentop.errors import TalentopError

        try:
            result = checkpoint(self.store, only_if_grown=True)
        except TalentopError as error:
            log.error("audit checkpoint refused: %s", error)
            self.errors.append(str(error))
            return None
        if result.path is not None:
            self.written.append(result)
        return result

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.tick()

    def start(self) -> Checkpointer:
        self._thread = threading.Thread(target=self._run, name="audit-checkpointer", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> CheckpointResult | None:
        """Stop the thread and sign the final checkpoint (shutdown)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return self.tick()

    def __enter__(self) -> Checkpointer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
