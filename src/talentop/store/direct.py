"""Statements of the hot write path run on the DBAPI cursor (psycopg, sqlite3).

Written here rather than left to ``Connection.execute`` because the benchmark said so
(``benchmarks/randomise_load.py``, docs/benchmarks.md "Write path, round 5"): for a
statement that is built once and run thousands of times, SQLAlchemy's execution context
(parameter processing, result metadata from ``cursor.description``, the ``Row`` proxies)
cost about 0.3 ms of CPU per statement on PostgreSQL, several times the driver's own work.
Each statement is compiled once per dialect by SQLAlchemy itself (so the SQL text, bind
casts and literal parameters are exactly what ``Connection.execute`` sends); what is left
per call is the type processors SQLAlchemy would apply (none for most columns), the
driver's execute (prepared on PostgreSQL) and a named tuple per row.

Only statements whose parameters are plain bind parameters are accepted (no expanding
``IN``); anything else raises ``TypeError`` when first compiled. The statements run in the
session's transaction on its connection, after the session's pending ORM changes are
flushed, exactly where ``session.connection().execute`` would run them.
"""

from __future__ import annotations

import collections
import functools
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import inspect, select
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session, configure_mappers, make_transient_to_detached
from sqlalchemy.orm.session import SessionTransactionState
from sqlalchemy.sql.util import find_tables

from talentop.store import tx_reads

_ACTIVE = SessionTransactionState.ACTIVE

__all__ = [
    "Rows",
    "as_loaded",
    "attach_loaded",
    "columns_of",
    "compiled_for",
    "execute",
    "execute_many",
    "identity_of",
    "load",
    "per_transaction",
    "reads_ahead",
    "select_columns",
]


@dataclass
class _Compiled:
    sql: str
    #: Positional parameter names (qmark/format dialects) or None (named: pyformat).
    positions: tuple[str, ...] | None
    #: Values of parameters the statement fixes itself (literals such as a LIMIT).
    literals: tuple[tuple[str, Any], ...]
    #: (name, processor) of parameters whose type converts the value for the driver.
    bind_processors: tuple[tuple[str, Callable[[Any], Any]], ...]
    #: The result columns' types (the processors need the driver's type codes: below).
    result_types: tuple[Any, ...]
    row_type: type | None
    #: PostgreSQL: ask the driver to prepare the statement at its first run.
    prepare: bool
    #: The table the statement writes, "*" if it may write any, None for a select: what
    #: it makes stale of a SQLite transaction's kept reads (``tx_reads``).
    writes: str | None
    #: (column position, its type's result processor) of the result columns that have
    #: one (empty when none has), known from the first run's ``cursor.description``.
    result_processors: tuple[tuple[int, Callable[[Any], Any]], ...] | None = None

    def processors(self, dialect: Dialect, description: Any) -> tuple[Any, ...]:
        if self.result_processors is None:
            found = (
                kind.dialect_impl(dialect).result_processor(dialect, column[1])
                for kind, column in zip(self.result_types, description, strict=True)
            )
            self.result_processors = tuple(
                (index, processor) for index, processor in enumerate(found) if processor
            )
        return self.result_processors


_CACHE: dict[tuple[int, str], tuple[Any, _Compiled]] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 2048


def compiled_for(stmt: Any, dialect: Dialect) -> _Compiled:
    """The statement compiled once for ``dialect`` (cached by statement and dialect)."""
    key = (id(stmt), dialect.name)
    found = _CACHE.get(key)
    if found is not None and found[0] is stmt:
        return found[1]
    compiled = _compile(stmt, dialect)
    with _CACHE_LOCK:
        if len(_CACHE) >= _CACHE_SIZE:  # only statements built once belong here; a bound
            _CACHE.clear()  # keeps a caller that builds them per call from growing it
        # The statement object is kept alive with its compiled form, so its id is not reused.
        _CACHE[key] = (stmt, compiled)
    return compiled


def _compile(stmt: Any, dialect: Dialect) -> _Compiled:
    compiled = stmt.compile(dialect=dialect)
    if compiled.insert_prefetch or compiled.update_prefetch:
        # Python-side column defaults are computed per execution by SQLAlchemy's context.
        raise TypeError("direct execution takes statements that set every defaulted column")
    literals = []
    processors = []
    for bind, name in compiled.bind_names.items():
        if getattr(bind, "expanding", False):
            raise TypeError(f"direct execution takes no expanding parameter ({name})")
        if not bind.required:
            literals.append((name, bind.effective_value))
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            processors.append((name, processor))
    columns = list(getattr(stmt, "exported_columns", ()) or ())
    row_type = None
    if columns:
        names = [getattr(column, "key", None) or f"c{i}" for i, column in enumerate(columns)]
        row_type = collections.namedtuple("Row", names, rename=True)  # type: ignore[misc]
    positions = tuple(compiled.positiontup) if compiled.positiontup is not None else None
    return _Compiled(
        sql=compiled.string,
        positions=positions,
        literals=tuple(literals),
        bind_processors=tuple(dict(processors).items()),
        result_types=tuple(column.type for column in columns),
        row_type=row_type,
        prepare=dialect.name == "postgresql",
        writes=tx_reads.written_table(stmt),
    )


class Rows(list):
    """The rows of a statement (named tuples), with ``first``/``one``/``scalar`` as a
    SQLAlchemy result has them."""

    def first(self) -> Any:
        return self[0] if self else None

    def one(self) -> Any:
        if not self:
            raise sa_exc.NoResultFound("No row was found when one was required")
        if len(self) > 1:
            raise sa_exc.MultipleResultsFound(
                "Multiple rows were found when exactly one was required"
            )
        return self[0]

    def scalar(self) -> Any:
        return self[0][0] if self else None

    def scalars(self) -> list[Any]:
        return [row[0] for row in self]


def _parameters(compiled: _Compiled, params: Mapping[str, Any]) -> Any:
    values = dict(compiled.literals)
    values.update(params)
    for name, processor in compiled.bind_processors:
        if name in values:
            values[name] = processor(values[name])
    if compiled.positions is not None:
        return tuple(values[name] for name in compiled.positions)
    return values


def _announce(connection: Any, cursor: Any, sql: str, parameters: Any, many: bool) -> None:
    """The engine's ``before_cursor_execute`` listeners (statement counters, tests) see
    these statements as they see the others (with no execution context)."""
    if not (connection._has_events or connection.engine._has_events):  # as SQLAlchemy checks
        return
    dispatch = connection.dispatch.before_cursor_execute
    if dispatch:
        for listener in dispatch:
            listener(connection, cursor, sql, parameters, None, many)


@contextmanager
def _translated(connection: Any, sql: str, parameters: Any) -> Iterator[None]:
    """Driver errors raised as SQLAlchemy raises them (``IntegrityError`` etc., wrapping the
    driver's), so ``talentop.store.errors`` and every caller see one kind of error; a lost
    server connection is invalidated so the pool does not hand it out again."""
    dialect = connection.dialect
    base = dialect.loaded_dbapi.Error
    try:
        yield
    except base as error:
        dbapi = connection.connection.dbapi_connection
        lost = dialect.is_disconnect(error, dbapi, None)
        if lost:
            connection.invalidate(error)
        raise sa_exc.DBAPIError.instance(
            sql, parameters, error, base, connection_invalidated=lost, dialect=dialect
        ) from error


#: ``session.info`` key: reads sent with the session's next statement (``reads_ahead``):
#: {"pending": [(stmt, params)], "rows": {(id(stmt), params): Rows}}.
READ_AHEAD = "talentop_read_ahead"


@contextmanager
def reads_ahead(session: Session, reads: list[tuple[Any, Mapping[str, Any]]]) -> Iterator[None]:
    """Send the ``reads`` (statement, parameters) with the session's next statement run
    here: on PostgreSQL in one pipeline (one round trip for all, and for the transaction's
    ``BEGIN`` if it is the first), run by the server right after it. Inside the block,
    ``execute`` of one of them returns these rows, once, instead of running it; what is
    left is dropped when the block ends.

    For reads a call makes right after a statement it is about to run (e.g. after locking
    the patient), with no write between: a write run here, or a flush, drops what was read
    ahead. Elsewhere (SQLite runs a statement as a function call) nothing is read ahead,
    nor inside another ``reads_ahead`` block (e.g. an edit check's records read when
    ``randomise`` locks the patient): the outer block's reads stay as they are."""
    if session.get_bind().dialect.name != "postgresql" or READ_AHEAD in session.info:
        yield
        return
    session.info[READ_AHEAD] = {"pending": [(s, dict(p)) for s, p in reads], "rows": {}}
    try:
        yield
    finally:
        session.info.pop(READ_AHEAD, None)


def _key(stmt: Any, params: Mapping[str, Any]) -> tuple[Any, ...]:
    return (id(stmt), tuple(sorted(params.items())))


def execute(
    session: Session, stmt: Any, params: Mapping[str, Any] | None = None, *, flush: bool = True
) -> Rows:
    """Run ``stmt`` in the session's transaction; its rows (empty if it returns none).
    Pending ORM changes are flushed first unless ``flush`` is False."""
    params = params or {}
    ahead = session.info.get(READ_AHEAD)
    # ``_is_clean`` is the test ``Session.flush`` itself starts with (no new, changed or
    # deleted object); ``session.new``/``dirty`` build sets of every such object to say so.
    if flush and session.autoflush and not session._is_clean():
        session.flush()
        if ahead is not None:
            ahead["rows"].clear()  # a write: what was read ahead may be stale
    if ahead is not None:
        rows = ahead["rows"].pop(_key(stmt, params), None)
        if rows is not None:
            return rows
    connection = _connection(session)
    compiled = compiled_for(stmt, connection.dialect)
    if ahead is not None:
        if compiled.row_type is None or not stmt.is_select:
            ahead["rows"].clear()  # a write: what was read ahead may be stale
        if ahead["pending"]:
            return _with_reads_ahead(connection, compiled, params, ahead)
    marked = _PER_TRANSACTION.get(id(stmt))
    if marked is not None and marked[0] is stmt:
        reads = connection.info.get(tx_reads.KEY)  # present in a SQLite transaction only
        if reads is not None:
            key = _key(stmt, params)
            rows = reads.by_key.get(key)
            if rows is None:
                rows = _run(connection, compiled, params)
                reads.keep(key, marked[1], rows)
            return Rows(rows)  # a copy: the caller may change its list
    return _run(connection, compiled, params)


#: Statements whose rows a SQLite transaction keeps (``per_transaction``): id -> (the
#: statement, the names of the tables it reads).
_PER_TRANSACTION: dict[int, tuple[Any, frozenset[str]]] = {}


def per_transaction(stmt: Any) -> Any:
    """Mark a select built once: run in a SQLite transaction, it is sent once per parameter
    set until the transaction writes to a table it reads (``talentop.store.tx_reads``).
    Returns ``stmt``."""
    if not getattr(stmt, "is_select", False):
        raise TypeError("per_transaction takes a select")
    tables = frozenset(table.name.lower() for table in find_tables(stmt, include_joins=True))
    _PER_TRANSACTION[id(stmt)] = (stmt, tables)  # kept alive: its id is not reused
    return stmt


def _before_write(connection: Any, compiled: _Compiled) -> None:
    """A write run here drops the kept reads it makes stale itself (the engine's
    ``before_cursor_execute`` hook of ``tx_reads`` skips statements without an execution
    context, as ``_announce`` sends them)."""
    if compiled.writes is not None:
        reads = connection.info.get(tx_reads.KEY)
        if reads is not None:
            tx_reads.written(reads, compiled.writes)


def _run(connection: Any, compiled: _Compiled, params: Mapping[str, Any]) -> Rows:
    _before_write(connection, compiled)
    parameters = _parameters(compiled, params)
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        _announce(connection, cursor, compiled.sql, parameters, False)
        with _translated(connection, compiled.sql, parameters):
            if compiled.prepare:
                cursor.execute(compiled.sql, parameters, prepare=True)
            else:
                cursor.execute(compiled.sql, parameters)
            return _fetch(compiled, connection.dialect, cursor)
    finally:
        cursor.close()


def _connection(session: Session) -> Any:
    """``session.connection()``: the connection its active transaction already holds for
    its engine, looked up where ``SessionTransaction._connection_for_bind`` finds it (the
    call itself costs about 8 us in state-machine and bind checks, and the demo makes
    125,000); anything else (no transaction yet, another state, a bind by mapper) asks the
    session."""
    transaction = session._transaction
    if transaction is not None and transaction._state is _ACTIVE:
        found = transaction._connections.get(session.bind)
        if found is not None:
            return found[0]
    return session.connection()


def _with_reads_ahead(
    connection: Any, compiled: _Compiled, params: Mapping[str, Any], ahead: dict[str, Any]
) -> Rows:
    """Run the statement and the pending reads ahead in one psycopg pipeline; keep the
    reads' rows for ``execute``, return the statement's."""
    pending, ahead["pending"] = ahead["pending"], []
    dbapi = connection.connection.dbapi_connection
    runs = [(compiled, params)] + [
        (compiled_for(stmt, connection.dialect), values) for stmt, values in pending
    ]
    cursors = []
    for each, _ in runs:
        _before_write(connection, each)
    try:
        with _translated(connection, compiled.sql, params), dbapi.pipeline():
            for each, values in runs:
                parameters = _parameters(each, values)
                cursor = dbapi.cursor()
                cursors.append(cursor)
                _announce(connection, cursor, each.sql, parameters, False)
                cursor.execute(each.sql, parameters, prepare=True)
        results = [
            _fetch(each, connection.dialect, cursor)
            for (each, _), cursor in zip(runs, cursors, strict=True)
        ]
    finally:
        for cursor in cursors:
            cursor.close()
    for (stmt, values), rows in zip(pending, results[1:], strict=True):
        ahead["rows"][_key(stmt, values)] = rows
    return results[0]


def _fetch(compiled: _Compiled, dialect: Dialect, cursor: Any) -> Rows:
    """The cursor's rows as named tuples, through the columns' result processors."""
    if compiled.row_type is None:
        return Rows()
    procs = compiled.result_processors
    if procs is None:  # the first run only: psycopg builds cursor.description per call
        procs = compiled.processors(dialect, cursor.description)
    raw = cursor.fetchall()
    make = compiled.row_type._make
    if not procs:
        return Rows(map(make, raw))
    rows = Rows()
    for row in raw:
        values = list(row)
        for index, processor in procs:
            values[index] = processor(values[index])
        rows.append(make(values))
    return rows


def execute_many(session: Session, stmt: Any, rows: Iterable[Mapping[str, Any]]) -> None:
    """Run ``stmt`` (returning nothing) once per parameter set, in one driver
    ``executemany`` (psycopg pipelines them: one round trip). Pending ORM changes are not
    flushed first: for rows that depend on none (the audit entries)."""
    connection = _connection(session)
    compiled = compiled_for(stmt, connection.dialect)
    _before_write(connection, compiled)
    parameters = [_parameters(compiled, row) for row in rows]
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        _announce(connection, cursor, compiled.sql, parameters, True)
        with _translated(connection, compiled.sql, parameters):
            cursor.executemany(compiled.sql, parameters)
    finally:
        cursor.close()


@functools.cache
def columns_of(cls: type) -> tuple[tuple[str, Any], ...]:
    """(attribute, column) of every mapped column of a model, in mapper order."""
    return tuple((prop.key, prop.columns[0]) for prop in inspect(cls).column_attrs)


def select_columns(cls: type) -> Any:
    """``select`` of the model's columns in ``columns_of`` order: a statement whose rows
    ``load`` and ``as_loaded`` turn into the model's objects."""
    return select(*(column for _, column in columns_of(cls)))


@functools.cache
def _primary_key(cls: type) -> tuple[str, ...]:
    mapper = inspect(cls)
    return tuple(mapper.get_property_by_column(c).key for c in mapper.primary_key)


@dataclass(frozen=True)
class _Loading:
    attrs: tuple[str, ...]  # columns_of order
    pk_index: tuple[int, ...]  # positions of the primary key's columns in ``attrs``
    identity_class: type
    new_instance: Callable[[], Any]


@functools.cache
def _loading(cls: type) -> _Loading:
    configure_mappers()  # once: the class's attribute instrumentation must be in place
    mapper = inspect(cls)
    attrs = tuple(attr for attr, _ in columns_of(cls))
    return _Loading(
        attrs,
        tuple(attrs.index(key) for key in _primary_key(cls)),
        mapper._identity_class,
        mapper.class_manager.new_instance,
    )


def identity_of(obj: Any) -> tuple[Any, ...]:
    """The session identity-map key of a model object with its primary key set: what
    ``Session.identity_key(instance=obj)`` gives (no identity token: one database)."""
    cls = type(obj)
    return (_loading(cls).identity_class, tuple(getattr(obj, k) for k in _primary_key(cls)), None)


def attach_loaded(session: Session, obj: Any, identity: tuple[Any, ...]) -> None:
    """Make ``obj`` (transient, its columns in its ``__dict__``) one of the session's
    persistent objects with no change history, as the ORM's loader leaves a row it loads.

    Written here instead of ``make_transient_to_detached`` + ``Session.add`` because the
    demo's profile said so (docs/benchmarks.md, "Write path, round 6"): those two walk the
    mapper (cascades, attribute expiry, identity from the state) for 20 us per row, for
    rows whose identity the caller already has. The steps are the ORM loader's own
    (``sqlalchemy.orm.loading._instance``: key, session id, ``_add_unpresent``) after
    ``_commit_all`` drops the history ``__init__`` recorded; the models have no
    relationships or load events that would need more. An object whose identity the
    session already holds goes the ORM's way (which refuses or merges as it does)."""
    if obj._sa_instance_state.key is not None or identity in session.identity_map:
        make_transient_to_detached(obj)
        session.add(obj)
        return
    _attach_new(session, obj, identity)


def _attach_new(session: Session, obj: Any, identity: tuple[Any, ...]) -> None:
    """``attach_loaded`` for an identity the session does not hold."""
    state = obj._sa_instance_state
    state._commit_all(state.dict)
    state.key = identity
    state.identity_token = None
    state.session_id = session.hash_key
    session.identity_map._add_unpresent(state, identity)


def as_loaded(session: Session, cls: type, values: Iterable[Any]) -> Any:
    """The ``cls`` row whose column values (``columns_of`` order) a statement returned, as
    the session's loaded object: the one already in its identity map (left as it is, as
    the ORM leaves it), else a new object attached as if the ORM had loaded it."""
    plan = _loading(cls)
    values = tuple(values)
    identity = (plan.identity_class, tuple(values[i] for i in plan.pk_index), None)
    found = session.identity_map.get(identity)
    if found is not None:  # as the ORM's loader: the session's object, as it has it
        return found
    # As the ORM's loader does: a new instance without __init__, its columns put in its
    # dict without attribute events (no change history), then given its identity.
    obj = plan.new_instance()
    obj.__dict__.update(zip(plan.attrs, values, strict=True))
    _attach_new(session, obj, identity)  # the identity map was just found not to hold it
    return obj


def load(session: Session, cls: type, stmt: Any, params: Mapping[str, Any]) -> list[Any]:
    """The ``cls`` rows a statement selecting ``columns_of(cls)`` (in that order) returns,
    as the session's loaded objects (``as_loaded``): what ``session.execute(select(cls))``
    gives, without the ORM's loader. ``stmt`` must be built once (it is compiled once)."""
    return [as_loaded(session, cls, row) for row in execute(session, stmt, params)]
