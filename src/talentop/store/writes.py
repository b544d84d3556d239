"""Audited writes: every insert or update goes through here, with one audit row each.

Rows are written with Core statements built once per table (``_Plan``), not by the ORM's
flush: the flush machinery (dependency sort, per-object bookkeeping) cost several times
the statement itself on every single-row write. The object is then attached to the
session as if loaded (``direct.attach_loaded``), so callers keep using it as before
(its ``id``, ``writes.update`` on it, the identity map). Audit rows are queued and written
together at commit (``talentop.store.audit``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Table, bindparam, inspect, select
from sqlalchemy import insert as sa_insert
from sqlalchemy import update as sa_update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from talentop.errors import NotFound
from talentop.store import direct
from talentop.store.audit import append_audit, snapshot, snapshot_values
from talentop.store.models import Base

T = TypeVar("T")

#: ``session.info`` key: the patients whose clinical records this transaction wrote, as
#: {patient id: marks}. A mark is a table written (``written_marks``), plus "state:<state>"
#: for a state entered or its date changed (a state-history row written, "state:registered"
#: for a patient's registration date): the API runs the protocol's edit checks that read
#: what was written before committing.
WRITTEN_PATIENTS = "talentop_written_patients"
#: The data-management tables: what a correction, query, SDV, lock or signature writes.
DATA_MANAGEMENT = frozenset(
    {
        "corrections",
        "data_queries",
        "query_events",
        "check_findings",
        "verifications",
        "record_locks",
        "signatures",
        "stratification_errors",
    }
)
#: Tables that are about the data (data management, identity), not clinical records.
NOT_CLINICAL = DATA_MANAGEMENT | {
    "idempotency_keys",
    "auth_events",
    "auth_sessions",
    "api_tokens",
    "mdt_ballots",
    "user_sites",
    "role_policies",
}


def written_marks(obj: Any, changed: Iterable[str] | None = None) -> set[str]:
    """What writing ``obj`` (an insert, or an update of the ``changed`` attributes) may
    change for the edit checks: its table, and the date a state was entered."""
    table = obj.__tablename__
    marks = {table}
    if table == "patient_state_history":
        marks.add(f"state:{obj.to_state}")
    elif table == "patients" and (changed is None or "registered_on" in changed):
        marks.add("state:registered")
    return marks


def patient_keyed(table: str) -> bool:
    """Whether rows of ``table`` name their patient (``patients`` itself or a
    ``patient_id`` column): only those are noted in ``WRITTEN_PATIENTS`` by table."""
    found = Base.metadata.tables.get(table)
    return table == "patients" or (found is not None and "patient_id" in found.c)


#: ``session.info`` key: {patient id: [rows inserted for the patient, in order]}, kept only
#: once ``checks.prefetch`` has asked for it (it adds them to the records it read before
#: the writes); other transactions keep nothing.
INSERTED_ROWS = "talentop_inserted_rows"


def _note_patient(
    session: Session, obj: Any, changed: Iterable[str] | None = None, *, inserted: bool = False
) -> None:
    table = getattr(obj, "__tablename__", "")
    if table in NOT_CLINICAL:
        return
    patient_id = obj.id if table == "patients" else getattr(obj, "patient_id", None)
    if patient_id is not None:
        written = session.info.setdefault(WRITTEN_PATIENTS, {})
        written.setdefault(patient_id, set()).update(written_marks(obj, changed))
        noted = session.info.get(INSERTED_ROWS)
        if inserted and noted is not None:
            noted.setdefault(patient_id, []).append(obj)


def _entity_id(obj: Any) -> str:
    # ``inspect(obj).identity`` without the inspection registry's lookup (46,000 calls in
    # the demo): the identity is the middle of the state's identity key.
    key = obj._sa_instance_state.key
    identity = key[1] if key is not None else None
    return ",".join(str(part) for part in identity) if identity else "?"


@dataclass(frozen=True)
class _Plan:
    """How to write one model with Core: its columns (attribute, column key, Python
    default) and the generated primary key (if any); the statements are ``_insert_stmt``
    and ``_update_stmt``."""

    table: Table
    columns: tuple[tuple[str, str, Any], ...]
    generated_key: str | None
    primary_key: tuple[tuple[str, str], ...]


@functools.cache
def _plan(cls: type) -> _Plan:
    mapper = inspect(cls)
    table = mapper.local_table
    columns = []
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        default = column.default
        if default is not None and not default.is_scalar and not default.is_callable:
            raise TypeError(f"{cls.__name__}.{prop.key}: unsupported column default")
        columns.append((prop.key, column.key, default))
    generated = table.autoincrement_column
    generated_key = generated.key if generated is not None else None
    primary_key = tuple(
        (mapper.get_property_by_column(c).key, c.key) for c in table.primary_key.columns
    )
    return _Plan(table, tuple(columns), generated_key, primary_key)


def _values(plan: _Plan, obj: Any) -> dict[str, Any]:
    """The row to insert; every column gets a value on the object (set, default or None),
    so nothing is left to load back after the insert."""
    state = obj.__dict__
    values = {}
    for attr, key, default in plan.columns:
        if attr in state:
            value = state[attr]
        elif key == plan.generated_key:
            continue
        elif default is None:
            value = None
        elif default.is_callable:
            value = default.arg(None)
        else:
            value = default.arg
        if attr not in state:
            setattr(obj, attr, value)
        values[key] = value
    return values


def _attach(session: Session, obj: Any) -> None:
    """The inserted row as the session's persistent, unchanged object."""
    direct.attach_loaded(session, obj, direct.identity_of(obj))


def insert(session: Session, actor: str, obj: T) -> T:
    """Insert ``obj`` (one Core INSERT ... RETURNING its id), attach it to the session as
    a loaded row and audit the creation."""
    plan = _plan(type(obj))
    _write_row(session, plan, obj, _values(plan, obj))
    _attach(session, obj)
    _audit_created(session, actor, obj)
    return obj


def insert_all(session: Session, actor: str, objs: Iterable[T]) -> list[T]:
    """Insert several rows (e.g. a screening's criteria, a visit's measurements): one
    ``executemany`` per model (``INSERT ... RETURNING`` in parameter order for the ids),
    each row attached and audited in the given order."""
    objs = list(objs)
    groups: dict[type, list[Any]] = {}
    for obj in objs:
        groups.setdefault(type(obj), []).append(obj)
    for cls, group in groups.items():
        plan = _plan(cls)
        rows = [_values(plan, obj) for obj in group]
        if (
            len(group) == 1
            or plan.generated_key is None
            or any(row.get(plan.generated_key) is not None for row in rows)
            or _one_call_per_row(session, len(group))
        ):
            for obj, row in zip(group, rows, strict=True):
                _write_row(session, plan, obj, row)
            continue
        for row in rows:
            row.pop(plan.generated_key, None)
        result = session.connection().execute(_insert_many(cls), rows)
        for obj, new_id in zip(group, result.scalars().all(), strict=True):
            setattr(obj, plan.generated_key, new_id)
    for obj in objs:
        _attach(session, obj)
        _audit_created(session, actor, obj)
    return objs


#: Rows up to which SQLite inserts a group one statement at a time: there a statement is a
#: function call (no round trip), and SQLAlchemy's ``executemany ... RETURNING`` in
#: parameter order costs more per call than a dozen single-row inserts on the cursor
#: (docs/benchmarks.md, "Write path, round 6").
SQLITE_ROWS_ONE_BY_ONE = 16


def _one_call_per_row(session: Session, rows: int) -> bool:
    return rows <= SQLITE_ROWS_ONE_BY_ONE and session.connection().dialect.name == "sqlite"


@functools.cache
def _insert_many(cls: type) -> Any:
    plan = _plan(cls)
    return sa_insert(plan.table).returning(
        plan.table.c[plan.generated_key], sort_by_parameter_order=True
    )


def _write_row(session: Session, plan: _Plan, obj: Any, values: dict[str, Any]) -> None:
    if plan.generated_key is not None and values.get(plan.generated_key) is None:
        values.pop(plan.generated_key, None)
        stmt = _insert_stmt(plan.table, tuple(values), plan.generated_key)
        setattr(obj, plan.generated_key, direct.execute(session, stmt, values).scalar())
    else:
        direct.execute(session, _insert_stmt(plan.table, tuple(values), None), values)


@functools.lru_cache(maxsize=1024)
def _insert_stmt(table: Table, keys: tuple[str, ...], returning: str | None) -> Any:
    """INSERT of the columns ``keys`` (parameters named as the columns), returning the
    generated key if any: built once per table and column set (``direct`` compiles it once)."""
    stmt = sa_insert(table).values({key: bindparam(key) for key in keys})
    return stmt.returning(table.c[returning]) if returning is not None else stmt


def _audit_created(session: Session, actor: str, obj: Any) -> None:
    append_audit(
        session,
        actor=actor,
        entity=obj.__tablename__,
        entity_id=_entity_id(obj),
        action="create",
        before=None,
        after=snapshot(obj),
    )
    _note_patient(session, obj, inserted=True)


def update(session: Session, actor: str, obj: T, **changes: Any) -> T:
    """Set attributes on ``obj`` and audit before/after (no row if nothing changed).

    One Core UPDATE of the changed columns by primary key; the object's attributes take
    the new values as committed state (nothing left for a later flush)."""
    plan = _plan(type(obj))
    before = snapshot(obj)
    keys = {attr: key for attr, key, _ in plan.columns}
    for name in changes:
        if name not in keys:
            raise AttributeError(f"{type(obj).__name__} has no column {name!r}")
    changed = {name: value for name, value in changes.items() if getattr(obj, name) != value}
    if changed:
        state = inspect(obj)
        if state.pending or state.transient:
            for name, value in changed.items():
                setattr(obj, name, value)
            session.flush()
        else:
            params = {f"pk_{key}": getattr(obj, attr) for attr, key in plan.primary_key}
            params.update({keys[name]: value for name, value in changed.items()})
            direct.execute(
                session, _update_stmt(plan.table, tuple(keys[n] for n in changed)), params
            )
            for name, value in changed.items():
                set_committed_value(obj, name, value)
    _audit_updated(session, actor, obj, before, changed)
    return obj


def _audit_updated(
    session: Session, actor: str, obj: Any, before: dict[str, Any], changed: dict[str, Any]
) -> None:
    """The update entry of ``obj`` (now holding its new values), if its image changed."""
    after = snapshot(obj)
    if after != before:
        append_audit(
            session,
            actor=actor,
            entity=obj.__tablename__,
            entity_id=_entity_id(obj),
            action="update",
            before=before,
            after=after,
        )
        _note_patient(session, obj, changed)


def write_together(session: Session, actor: str, ops: list[tuple[Any, ...]]) -> None:
    """Several writes of one step as one statement on PostgreSQL: ``ops`` are
    ("insert", obj) and ("update", obj, {attribute: value}) in the order they are audited.

    On PostgreSQL the inserts (``RETURNING`` their ids) and updates become data-modifying
    CTEs of one statement: one round trip instead of one per row (e.g. an allocation, its
    state-history row and the patient's new state and arm, written while the stratum
    counter is locked). Elsewhere (SQLite has no data-modifying CTEs, and a round trip is a
    function call) each op is ``insert``/``update``. Either way each row is attached,
    audited and noted exactly as ``insert``/``update`` do, in ``ops`` order. An update
    whose values change nothing is left out (no entry), as ``update`` does."""
    if session.get_bind().dialect.name != "postgresql" or len(ops) < 2:
        _one_by_one(session, actor, ops)
        return
    shape: list[tuple[Any, ...]] = []
    params: dict[str, Any] = {}
    staged: list[tuple[Any, ...]] = []
    for op in ops:
        obj, i = op[1], len(staged)  # parameters are named by position in the statement
        plan = _plan(type(obj))
        if op[0] == "insert":
            values = _values(plan, obj)
            if plan.generated_key is None or values.get(plan.generated_key) is not None:
                raise ValueError(f"write_together inserts rows with generated ids, not {obj!r}")
            values.pop(plan.generated_key, None)
            keys = tuple(sorted(values))
            shape.append(("insert", type(obj), keys))
            params.update({f"w{i}_{key}": values[key] for key in keys})
            staged.append(("insert", obj))
            continue
        state = inspect(obj)
        if state.pending or state.transient:
            raise ValueError(f"write_together updates loaded rows, not {obj!r}")
        columns = {attr: key for attr, key, _ in plan.columns}
        for name in op[2]:
            if name not in columns:
                raise AttributeError(f"{type(obj).__name__} has no column {name!r}")
        changed = {name: value for name, value in op[2].items() if getattr(obj, name) != value}
        if not changed:
            continue
        keys = tuple(columns[name] for name in changed)
        shape.append(("update", type(obj), keys))
        params.update({f"w{i}_{columns[name]}": value for name, value in changed.items()})
        params.update({f"w{i}_pk_{key}": getattr(obj, attr) for attr, key in plan.primary_key})
        staged.append(("update", obj, snapshot(obj), changed))
    if len(staged) < 2:  # nothing left to combine
        _one_by_one(
            session, actor, [op if op[0] == "insert" else (*op[:2], op[3]) for op in staged]
        )
        return
    row = direct.execute(session, _together_stmt(tuple(shape)), params).one()
    if any(returned is None for returned in row):
        missing = staged[list(row).index(None)][1]
        raise NotFound(f"{missing.__tablename__} {_entity_id(missing)}: no row to update")
    for op, returned in zip(staged, row, strict=True):
        obj = op[1]
        if op[0] == "insert":
            setattr(obj, _plan(type(obj)).generated_key, returned)
            _attach(session, obj)
            _audit_created(session, actor, obj)
            continue
        before, changed = op[2], op[3]
        for name, value in changed.items():
            set_committed_value(obj, name, value)
        _audit_updated(session, actor, obj, before, changed)


def _one_by_one(session: Session, actor: str, ops: list[tuple[Any, ...]]) -> None:
    for op in ops:
        if op[0] == "insert":
            insert(session, actor, op[1])
        else:
            update(session, actor, op[1], **op[2])


@functools.lru_cache(maxsize=256)
def _together_stmt(shape: tuple[tuple[Any, ...], ...]) -> Any:
    """One statement of data-modifying CTEs, one per write of ``shape`` (kind, model,
    column keys), each returning its row's primary key, selected side by side as scalar
    subqueries (PostgreSQL runs every data-modifying CTE once, whether read or not)."""
    ctes = []
    for i, (kind, cls, keys) in enumerate(shape):
        table = _plan(cls).table
        values = {key: bindparam(f"w{i}_{key}") for key in keys}
        if kind == "insert":
            stmt = sa_insert(table).values(values).returning(table.c[_plan(cls).generated_key])
        else:
            where = [c == bindparam(f"w{i}_pk_{c.key}") for c in table.primary_key.columns]
            first_key = next(iter(table.primary_key.columns))
            stmt = sa_update(table).where(*where).values(values).returning(first_key)
        ctes.append(stmt.cte(f"w{i}"))
    return select(*(select(cte.c[0]).scalar_subquery() for cte in ctes))


@functools.lru_cache(maxsize=1024)
def _update_stmt(table: Table, keys: tuple[str, ...]) -> Any:
    where = [column == bindparam(f"pk_{column.key}") for column in table.primary_key.columns]
    return sa_update(table).where(*where).values({key: bindparam(key) for key in keys})


def audit_applied(
    session: Session, actor: str, cls: type, before: dict[str, Any] | None, after: dict[str, Any]
) -> None:
    """Audit a change a Core statement has already made (e.g. ``UPDATE ... RETURNING``):
    ``before``/``after`` are the row's column values (attribute names; ``before`` None for
    a creation). The entry is what ``insert``/``update`` would have written; a copy of the
    row in the session's identity map takes the new values, so it is not left stale."""
    pk = tuple(after[attr] for attr, _ in _plan(cls).primary_key)
    entity_id = ",".join(str(part) for part in pk)
    loaded = session.identity_map.get(session.identity_key(cls, pk))
    if loaded is not None:
        for name, value in after.items():
            set_committed_value(loaded, name, value)
    before_snapshot = None if before is None else snapshot_values(cls, before)
    after_snapshot = snapshot_values(cls, after)
    if before_snapshot == after_snapshot:
        return
    append_audit(
        session,
        actor=actor,
        entity=cls.__tablename__,  # type: ignore[attr-defined]
        entity_id=entity_id,
        action="create" if before is None else "update",
        before=before_snapshot,
        after=after_snapshot,
    )


def insert_audit_only(session: Session, actor: str, obj: Any) -> None:
    """Audit the creation of a row already inserted by a core statement (e.g. upsert)."""
    append_audit(
        session,
        actor=actor,
        entity=obj.__tablename__,
        entity_id=_entity_id(obj),
        action="create",
        before=None,
        after=snapshot(obj),
    )


def delete(session: Session, actor: str, obj: Any) -> None:
    """Delete a row and audit it (before image kept, after None). Only for rows that are
    assignments, not trial records (e.g. a monitor's site assignment)."""
    before = snapshot(obj)
    entity_id = _entity_id(obj)
    session.delete(obj)
    session.flush()
    append_audit(
        session,
        actor=actor,
        entity=obj.__tablename__,
        entity_id=entity_id,
        action="delete",
        before=before,
        after=None,
    )
