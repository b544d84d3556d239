"""The database connection: SQLite file by default (WAL), PostgreSQL via TALENTOP_DATABASE_URL.

Every write runs in ``Store.unit_of_work()``: one transaction, committed on success and
rolled back on any exception. On SQLite the transaction starts with ``BEGIN IMMEDIATE``
(the write lock is taken at once, so two writers never interleave; SQLAlchemy's documented
pysqlite recipe, "Serializable isolation / Savepoints / Transactional DDL"). On PostgreSQL
writers serialise only on the rows they lock (``SELECT ... FOR UPDATE``): appending to the
audit log takes no lock (``talentop.store.log``), and at most ``WRITERS`` write
transactions of a process run at once, admitted in arrival order. A new SQLite file is
created 0600.
"""

from __future__ import annotations

import contextvars
import os
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from talentop.errors import DatabaseUnavailable, InvalidInput
from talentop.store import tx_reads
from talentop.store.keys import KeyRing, create_private_file
from talentop.store.urls import SUPPORTED, connect_failure, mask_url, parse_url, sqlite_path

DEFAULT_URL = "sqlite:///talentop.db"
#: Seconds a writer waits for the SQLite write lock before giving up.
SQLITE_BUSY_TIMEOUT_S = 60
#: ``session.info`` keys of a caller-owned transaction without savepoints (``transaction``).
_NO_SAVEPOINTS = "talentop_no_savepoints"
_FAILED = "talentop_call_failed"


def database_url(url: str | None = None) -> str:
    """The URL to use: explicit argument, else ``TALENTOP_DATABASE_URL``, else ``talentop.db``."""
    return url or os.environ.get("TALENTOP_DATABASE_URL") or DEFAULT_URL


def _sqlite_hooks(engine: Engine, path: Any, wal_autocheckpoint: int | None = None) -> None:
    @event.listens_for(engine, "do_connect")
    def _private_file(*_args: Any) -> None:
        # SQLite would create the file with the umask (often world-readable); create it
        # 0600 first. Its -wal and -shm files copy the database file's permissions.
        if path is not None:
            create_private_file(path)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Stop pysqlite from issuing its own BEGIN; we emit BEGIN IMMEDIATE in "begin".
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        if wal_autocheckpoint is not None:
            cursor.execute(f"PRAGMA wal_autocheckpoint={int(wal_autocheckpoint)}")
        cursor.close()

    tx_reads.install(engine)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Reads (``Store.read_only``) take no write lock: WAL readers run side by side.
        if conn.get_execution_options().get("talentop_read_only"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


class _FifoLock:
    """A lock granted in arrival order (threading.Lock is unfair: some waiters starve)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._next_ticket = 0
        self._serving = 0

        self._owner: int | None = None

    def acquire(self) -> None:
        if self._owner == threading.get_ident():
            # A second transaction in the same thread would wait for itself forever.
            raise RuntimeError("nested unit_of_work on SQLite: finish the outer transaction first")
        with self._cond:
            ticket = self._next_ticket
            self._next_ticket += 1
            self._cond.wait_for(lambda: self._serving == ticket)
            self._owner = threading.get_ident()

    def release(self) -> None:
        with self._cond:
            self._owner = None
            self._serving += 1
            self._cond.notify_all()


#: Write transactions of one process on PostgreSQL at once (``TALENTOP_WRITERS``). One
#: process runs Python on one core at a time (the GIL), so a writer more only helps while
#: another waits for the server: 3 overlap a round trip with the CPU work of the next
#: (benchmarks/randomise_load.py, 32 threads: 8 writers 421-438 /s, p99 105 ms; 3 writers
#: 509 /s, p99 79 ms; 2 writers 451-490 /s; docs/benchmarks.md, "Write path, round 6").
#: A server further away (longer round trips) may want more.
WRITERS = 3


def _writers() -> int:
    raw = os.environ.get("TALENTOP_WRITERS", "").strip()
    if not raw:
        return WRITERS
    if not raw.isdigit():
        raise InvalidInput.field("TALENTOP_WRITERS", raw, "a whole number (0: no limit)")
    return int(raw)


class _FifoGate:
    """At most ``size`` holders at once, admitted in arrival order; a thread that already
    holds a place passes again without waiting (it must never wait for itself). A place
    that frees is handed to the longest waiter directly, which alone is woken (a
    ``Condition.notify_all`` woke every waiter to check its turn, each taking the GIL)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._free = size
        self._waiters: deque[threading.Lock] = deque()
        self._held = threading.local()

    def acquire(self) -> None:
        if getattr(self._held, "depth", 0):
            self._held.depth += 1
            return
        with self._lock:
            if self._free and not self._waiters:
                self._free -= 1
                turn = None
            else:
                turn = threading.Lock()
                turn.acquire()
                self._waiters.append(turn)
        if turn is not None:
            turn.acquire()  # released by the holder that hands its place over
        self._held.depth = 1

    def release(self) -> None:
        self._held.depth -= 1
        if self._held.depth:
            return
        with self._lock:
            if self._waiters:
                self._waiters.popleft().release()
            else:
                self._free += 1


class _ProcessWriterLock:
    """Writers of one SQLite file in several processes queue in arrival order on POSIX
    byte-range locks of a lock file beside it (``<db>-writer.lock``), before
    ``BEGIN IMMEDIATE``.

    Without it, a process that finds the database locked sleeps in SQLite's busy handler
    (back-off up to 100 ms per retry) and keeps losing to processes that retry sooner:
    with 8 writing processes p99 latency reached seconds. A single ``flock`` fixes the
    sleeping but wakes every waiter at each release, and the woken herd takes the CPU from
    the holder (throughput fell with every process added). So this is a queue lock (the
    array-based queue lock of Anderson 1990, with file locks for the slots): a writer
    takes the next ticket ``t`` from a counter in the file and locks byte ``t`` (both
    under a short lock of byte 0), then waits for byte ``t - 1``, which its predecessor
    holds until its transaction ends; releasing byte ``t`` wakes exactly the next writer.
    A process that dies releases its bytes (POSIX locks end with the process), so the
    queue never stalls on a crash. The write lock itself is still SQLite's: a writer that
    does not take this lock (another tool) is kept out by ``BEGIN IMMEDIATE`` as before.
    The file is opened once per process (a forked child opens its own; POSIX locks belong
    to the process, and the in-process ``_FifoLock`` lets one thread at a time in). No-op
    where ``fcntl`` does not exist.
    """

    #: Tickets wrap around after this many slots (bytes 8 .. 8 + SLOTS of the file).
    SLOTS = 1 << 30

    def __init__(self, database: Path):
        self.path = Path(f"{database}-writer.lock")
        self._fd: int | None = None
        self._pid = 0
        self._slot: int | None = None

    def _descriptor(self) -> int | None:
        if fcntl is None:
            return None
        if self._fd is None or self._pid != os.getpid():
            create_private_file(self.path)
            self._fd, self._pid = os.open(self.path, os.O_RDWR), os.getpid()
        return self._fd

    def acquire(self) -> None:
        fd = self._descriptor()
        if fd is None:
            return
        fcntl.lockf(fd, fcntl.LOCK_EX, 1, 0)  # the ticket counter
        try:
            raw = os.pread(fd, 8, 0)
            ticket = int.from_bytes(raw, "little") if len(raw) == 8 else 0
            os.pwrite(fd, ((ticket + 1) % self.SLOTS).to_bytes(8, "little"), 0)
            slot = 8 + ticket
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, slot)
        finally:
            fcntl.lockf(fd, fcntl.LOCK_UN, 1, 0)
        self._slot = slot
        previous = 8 + (ticket - 1) % self.SLOTS
        fcntl.lockf(fd, fcntl.LOCK_EX, 1, previous)  # wait for the writer before us
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, previous)

    def release(self) -> None:
        if self._slot is not None and self._fd is not None and self._pid == os.getpid():
            fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, self._slot)
        self._slot = None

    def close(self) -> None:
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._fd = None


def _translate_connect_errors(engine: Engine, url: str) -> None:
    """A failed connect (server down, bad password, SQLite file unopenable) becomes
    ``DatabaseUnavailable``; errors of statements on an open connection are left alone."""

    @event.listens_for(engine, "handle_error")
    def _on_error(context: Any) -> BaseException | None:
        if context.connection is None and context.statement is None:
            return connect_failure(url, context.original_exception)
        return None


#: A pooled PostgreSQL connection idle longer than this is pinged before it is handed out.
PING_AFTER_IDLE_S = 10.0
_IDLE_SINCE = "talentop_idle_since"


def _ping_idle_connections(engine: Engine) -> None:
    """Ping a pooled connection before reuse only when it sat idle (``PING_AFTER_IDLE_S``):
    a dead one (server restarted, idle timeout) is replaced before any statement runs, as
    ``pool_pre_ping`` does, without a round trip before every transaction of a busy server.
    A connection found dead raises ``DisconnectionError``: the pool then connects anew
    (SQLAlchemy "Disconnect Handling - Pessimistic", custom checkout ping)."""

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.pop(_IDLE_SINCE, None)
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_S:
            return  # just connected, or in use a moment ago
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # any failure: the connection is not usable
            raise DisconnectionError(f"pooled connection found dead: {error}") from error
        if not alive:
            raise DisconnectionError("pooled connection found dead")


class Store:
    """One database: an engine, a session factory and the transaction boundary.

    ``keys`` (default ``KeyRing.from_environment()``) names the key and checkpoint folders.
    The URL is checked before anything connects (``DatabaseUnavailable`` for an unparseable
    URL, an unsupported dialect or driver, a SQLite file in a missing folder); a failed
    connection later raises ``DatabaseUnavailable`` too, with the password masked.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        pg_schema: str | None = None,
        echo: bool = False,
        keys: KeyRing | None = None,
        wal_autocheckpoint: int | None = None,
    ):
        """``wal_autocheckpoint`` (SQLite): the pages (4 KiB) the write-ahead log may hold
        before a committing writer copies them into the database file and syncs it
        (SQLite's default 1,000). A bulk load sets more (the demo: ``DEMO_WAL_PAGES``):
        fewer, larger copies; a server keeps the default, whose copies are short."""
        if wal_autocheckpoint is not None and wal_autocheckpoint < 1:
            raise ValueError(f"wal_autocheckpoint={wal_autocheckpoint}: expected pages >= 1")
        self.url = database_url(url)
        #: The PostgreSQL schema every connection searches (tests), or None.
        self.pg_schema = pg_schema
        #: Where this trial's keys and checkpoints live, outside the database.
        self.keys = keys or KeyRing.from_environment()
        parsed = parse_url(self.url)
        #: The SQLite file (None for PostgreSQL or an in-memory database).
        self.sqlite_file = sqlite_path(parsed)
        connect_args: dict[str, Any] = {}
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            connect_args["timeout"] = SQLITE_BUSY_TIMEOUT_S
            connect_args["check_same_thread"] = False
        elif pg_schema:
            # A private schema (tests): everything, including alembic_version, lives there.
            connect_args["options"] = f"-csearch_path={pg_schema}"
        if not self.is_sqlite:
            kwargs.update(pool_size=10, max_overflow=40)
        try:
            self.engine: Engine = create_engine(
                self.url, connect_args=connect_args, echo=echo, **kwargs
            )
        except ImportError as error:
            raise DatabaseUnavailable(
                mask_url(self.url), f"driver not installed ({error.name})", SUPPORTED
            ) from None
        _translate_connect_errors(self.engine, self.url)
        if not self.is_sqlite:
            _ping_idle_connections(self.engine)
        if self.is_sqlite:
            _sqlite_hooks(self.engine, self.sqlite_file, wal_autocheckpoint)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(
            self.engine.execution_options(talentop_read_only=True), expire_on_commit=False
        )
        self._autocommit_sessions = (
            None
            if self.is_sqlite
            else sessionmaker(
                self.engine.execution_options(isolation_level="AUTOCOMMIT"),
                expire_on_commit=False,
            )
        )
        # SQLite has one writer at a time; threads of this process queue on a lock instead
        # of polling the busy handler (which sleeps with back-off and makes p99 latency
        # jump to seconds). BEGIN IMMEDIATE still guards against other processes.
        self._local_writer = _FifoLock() if self.is_sqlite else None
        # PostgreSQL: at most ``WRITERS`` write transactions of this process at once,
        # admitted in arrival order (``_FifoGate``). More make no more progress: they
        # queue on the same stratum counters and locked rows while their lock holders
        # wait for the GIL (benchmarks/randomise_load.py, 32 threads: p99 590 -> 151 ms,
        # 210 -> 281 allocations/s with 8; why 3 now: ``WRITERS``). ``TALENTOP_WRITERS``
        # overrides it (0: no gate).
        gate = _writers()
        self._writer_gate = _FifoGate(gate) if gate and not self.is_sqlite else None
        # ... and processes queue on a file lock (``_ProcessWriterLock``).
        self._process_writer = (
            _ProcessWriterLock(self.sqlite_file) if self.sqlite_file is not None else None
        )
        # The caller-owned transaction open in this context (``transaction``), if any.
        self._current: contextvars.ContextVar[Session | None] = contextvars.ContextVar(
            f"talentop_transaction_{id(self)}", default=None
        )

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @property
    def is_postgresql(self) -> bool:
        return self.url.startswith("postgresql")

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One transaction: commit if the block ends normally, roll back on any exception.

        Inside a caller-owned ``transaction()`` it is a savepoint of that transaction instead:
        a failing call is undone alone and its error reaches the caller, who decides.
        """
        outer = self._current.get()
        if outer is not None:
            if not outer.info.get(_NO_SAVEPOINTS):
                with outer.begin_nested():
                    yield outer
                return
            try:
                yield outer
            except BaseException:
                outer.info[_FAILED] = True
                raise
            return
        with self._transaction() as session:
            yield session

    @contextmanager
    def read_only(self) -> Iterator[Session]:
        """A transaction for reading: on SQLite a deferred ``BEGIN`` that takes no write lock
        and does not queue behind writers (WAL), on PostgreSQL an ordinary transaction.
        Inside a caller-owned ``transaction()`` it reads in that transaction. Nothing
        written in it is kept (it always rolls back)."""
        outer = self._current.get()
        if outer is not None:
            yield outer
            return
        session = self._read_sessions()
        try:
            session.begin()
            yield session
        finally:
            session.rollback()
            session.close()

    @contextmanager
    def lookup(self) -> Iterator[Session]:
        """A session for a single read that needs no snapshot across statements (e.g. a
        credential and its user, one statement): on PostgreSQL an autocommit connection, so
        no ``BEGIN``/``ROLLBACK`` round trips around it; elsewhere ``read_only()``. Inside
        a caller-owned ``transaction()`` it reads in that transaction. Not for writes."""
        if self._autocommit_sessions is None or self._current.get() is not None:
            with self.read_only() as session:
                yield session
            return
        session = self._autocommit_sessions()
        try:
            yield session
        finally:
            session.close()

    @contextmanager
    def transaction(self, *, savepoints: bool = True) -> Iterator[Session]:
        """A transaction the caller owns (e.g. one per HTTP request or patient visit): every
        service call made inside it joins it, and all commit together or none does.

        Each call is a savepoint, so a failing call is undone alone and the caller may go
        on. ``savepoints=False`` is for callers that give up the whole transaction on any
        error (the demo's run of one patient, a batch import): calls join without a
        savepoint (two statements fewer each), and once a call has failed the transaction
        can only roll back: leaving the block normally then raises ``RuntimeError``.
        """
        if self._current.get() is not None:
            raise RuntimeError("a transaction is already open in this context")
        with self._transaction() as session:
            token = self._current.set(session)
            session.info[_NO_SAVEPOINTS] = not savepoints
            try:
                yield session
                if session.info.get(_FAILED):
                    raise RuntimeError(
                        "a service call failed inside a transaction without savepoints: "
                        "its partial writes cannot be kept; the transaction was rolled back"
                    )
            finally:
                self._current.reset(token)
                session.info.pop(_NO_SAVEPOINTS, None)
                session.info.pop(_FAILED, None)

    @contextmanager
    def atomic(self) -> Iterator[Session]:
        """A transaction that several service calls join: a new caller-owned ``transaction``,
        or a savepoint of the one already open in this context."""
        if self._current.get() is None:
            with self.transaction() as session:
                yield session
        else:
            with self.unit_of_work() as session:
                yield session

    def current_session(self) -> Session | None:
        """The session of the caller-owned transaction open in this context, if any."""
        return self._current.get()

    @property
    def in_transaction(self) -> bool:
        """Whether a caller-owned transaction is open in this context."""
        return self._current.get() is not None

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        if self._writer_gate is not None:
            self._writer_gate.acquire()
            try:
                with self._transaction_inner() as session:
                    yield session
            finally:
                self._writer_gate.release()
            return
        with self._transaction_inner() as session:
            yield session

    @contextmanager
    def _transaction_inner(self) -> Iterator[Session]:
        if self._local_writer is not None:
            self._local_writer.acquire()
        try:
            if self._process_writer is not None:
                self._process_writer.acquire()
            try:
                session = self._sessions()
                try:
                    with session.begin():
                        yield session
                finally:
                    session.close()
            finally:
                if self._process_writer is not None:
                    self._process_writer.release()
        finally:
            if self._local_writer is not None:
                self._local_writer.release()

    @property
    def display_url(self) -> str:
        """The URL with its password masked (for messages)."""
        return mask_url(self.url)

    def dispose(self) -> None:
        """Close every pooled connection (and the SQLite writer lock file)."""
        self.engine.dispose()
        if self._process_writer is not None:
            self._process_writer.close()

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"
