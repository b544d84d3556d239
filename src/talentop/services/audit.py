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
from talentop.store.log import CheckpointResult, TreeCache, inclusion_proof, sequence
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


def checkpoint(
    store: Store,
    *,
    only_if_grown: bool = False,
    cache: TreeCache | None = None,
    full: bool = True,
) -> CheckpointResult:
    """Sign the current tree head into the checkpoint folder (``IntegrityError`` if the
    log no longer extends the previous checkpoint: it is never signed over). ``cache`` and
    ``full``: a periodic checkpointer's tree between ticks (``talentop.store.log.TreeCache``)."""
    require_schema(store)
    return sign_checkpoint(store, only_if_grown=only_if_grown, cache=cache, full=full)


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
    """Signs a checkpoint every ``interval_s`` seconds (when the log grew) in the background,
    and a last one on ``stop()``: what a server or the demo runs while it writes.

    ``with Checkpointer(store):`` starts it and stops it (final checkpoint) on exit. A
    refused checkpoint (the log no longer extends the last one) is logged and kept in
    ``errors``; the checkpointer goes on so that the next tick tries again. With
    ``full_every`` > 1 the ticks between full ones extend the tree it signed last
    (``TreeCache``): they sign nothing unchecked, but a rewrite of entries already signed
    is noticed only at the next full tick (``audit verify`` notices it at any time).

    ``process=True`` runs the ticks in a child process (``python -m
    talentop.services._checkpointer_child``, its own connections): the hashing and tree
    work then runs on another core instead of taking the GIL from the caller's writes (the
    demo). The child reports each result; ``written``, ``errors`` and the final result are
    the same as with a thread. If the child dies, ``stop()`` signs the final checkpoint in
    this process.
    """

    def __init__(
        self,
        store: Store,
        interval_s: float | None = None,
        *,
        process: bool = False,
        full_every: int = 1,
    ):
        self.store = store
        self.interval_s = checkpoint_interval(interval_s)
        self.process = process
        if full_every < 1:
            raise ValueError(f"full_every={full_every}: expected a whole number >= 1")
        #: Every ``full_every``-th tick (the first included) and the last read and check
        #: every stored leaf; the ticks between extend the tree signed last (``TreeCache``).
        self.full_every = full_every
        self.written: list[CheckpointResult] = []
        self.errors: list[str] = []
        self._cache = TreeCache()
        self._ticks = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._child: Any = None
        self._final: tuple[CheckpointResult | None] | None = None  # (result,) once reported

    def _attempt(self, *, full: bool | None = None) -> tuple[CheckpointResult | None, str | None]:
        """One checkpoint: (result, None) or (None, why it was refused)."""
        from talentop.errors import TalentopError

        if full is None:
            full = self._ticks % self.full_every == 0
        self._ticks += 1
        try:
            return checkpoint(self.store, only_if_grown=True, cache=self._cache, full=full), None
        except TalentopError as error:
            return None, str(error)

    def _record(self, result: CheckpointResult | None, error: str | None) -> None:
        if error is not None:
            log.error("audit checkpoint refused: %s", error)
            self.errors.append(error)
        elif result is not None and result.path is not None:
            self.written.append(result)

    def tick(self, *, full: bool | None = None) -> CheckpointResult | None:
        """One checkpoint in this thread (``full``: check every stored leaf; default: the
        first and every ``full_every``-th tick)."""
        result, error = self._attempt(full=full)
        self._record(result, error)
        return result

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.tick()

    def _listen(self) -> None:
        """Parent side of ``process=True``: record what the child reports until it ends."""
        from talentop.services._checkpointer_child import decode

        for line in self._child.stdout:
            try:
                kind, result, error = decode(line)
            except (ValueError, KeyError, TypeError):
                log.warning("audit checkpointer process: unreadable report %r", line[:200])
                continue
            self._record(result, error)
            if kind == "final":
                self._final = (result,)
                return

    def start(self) -> Checkpointer:
        if self.process:
            from talentop.services._checkpointer_child import launch

            self._child = launch(self.store, self.interval_s, self.full_every)
            target = self._listen
        else:
            target = self._run
        self._thread = threading.Thread(target=target, name="audit-checkpointer", daemon=True)
        self._thread.start()
        return self

    def request_stop(self) -> None:
        """Ask for the final checkpoint without waiting: a child process starts signing it
        now, while the caller goes on (the demo's analysis); ``stop()`` then waits for it. A
        thread signs it in ``stop()``."""
        self._stop.set()
        if self._child is not None and not self._child.stdin.closed:
            try:
                self._child.stdin.close()  # the child's signal to sign its last and exit
            except OSError:
                pass

    def stop(self) -> CheckpointResult | None:
        """Stop and sign the final checkpoint, checking every stored leaf (shutdown)."""
        self.request_stop()
        if self._child is not None:
            if self._thread is not None:
                self._thread.join()
            code = self._child.wait()
            self._child.stdout.close()
            if code == 0 and self._final is not None:
                return self._final[0]  # None when the final checkpoint was refused
            log.error("audit checkpointer process ended with exit code %s", code)
            return self.tick(full=True)
        if self._thread is not None:
            self._thread.join()
        return self.tick(full=True)

    def __enter__(self) -> Checkpointer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
