"""Reads over many patients at once, for reports and summaries that visit every patient.

A report over every patient (the demo's ``read_stored_facts``) asks, for each patient in
turn, for the rows of a dozen tables (``queries.rows_for``, ``queries.latest``) and for the
patient and site rows (``queries.get``): thousands of statements for the 627-patient demo.
Inside ``preloaded(session, patient_ids)`` the first such question about a table reads
that table's rows of every listed patient in one statement (ordered as the per-patient
statement orders them, patient by patient) and the later ones are answered from it;
``get`` finds the patients and sites already in the session. What callers receive is what
the per-patient statements give: the same rows as the same session objects, in the same
order (tests/store/test_store_preload.py).

Only for reading: the block must not write (a row written inside would not be seen).

Only where the cyclic collector is relaxed (``demo.collector.fewer_collections``, a server's
thresholds): the block holds every row it read as an ORM object until it ends, and with
Python's default thresholds the collections that causes cost more than the statements
saved on SQLite (``conduct_summary`` over the 627-patient demo: 149 -> 296 ms with the
default thresholds, 149 -> 141 ms with a server's; docs/benchmarks.md, round 8). So the
services keep their per-patient reads; the demo's ``read_stored_facts``, which runs inside
``fewer_collections``, uses it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.orm import InstrumentedAttribute, Session

from talentop.store import direct
from talentop.store import models as m

#: ``session.info`` key of the open block's state (``_Preload``).
PRELOAD = "talentop_preload"
#: Patients per statement (SQLite before 3.32 allowed 999 parameters).
CHUNK = 900


class _Preload:
    def __init__(self, patient_ids: list[int]):
        self.ids = patient_ids
        self.known = frozenset(patient_ids)
        #: (kind, model, order key) -> {patient id: rows (kind "rows") or row (kind "latest")}
        self.tables: dict[tuple[Any, ...], dict[int, Any]] = {}
        #: The patients and sites read, held so the session's weak identity map keeps them
        #: for ``get`` (the tables' rows are held by ``tables``).
        self.held: list[Any] = []


@contextmanager
def preloaded(session: Session, patient_ids: Iterable[int]) -> Iterator[None]:
    """Answer the block's per-patient reads of these patients from one statement per table
    (module docstring); the patients and their sites are read at once."""
    ids = list(dict.fromkeys(patient_ids))
    state = _Preload(ids)
    previous = session.info.get(PRELOAD)
    session.info[PRELOAD] = state
    try:
        patients = _read(session, m.Patient, m.Patient.id, [m.Patient.id], ids)
        state.held.extend(patients)
        site_ids = sorted({p.site_id for p in patients if p.site_id is not None})
        state.held.extend(_read(session, m.Site, m.Site.id, [m.Site.id], site_ids))
        yield
    finally:
        if previous is None:
            session.info.pop(PRELOAD, None)
        else:
            session.info[PRELOAD] = previous


def answer(session: Session, kind: str, model: Any, order_by: Any, patient_id: int) -> Any:
    """``rows_for`` (kind "rows": a new list) or ``latest`` (kind "latest": a row or None)
    of a preloaded patient; ``NotImplemented`` when the block does not cover the question
    (no block, another patient, an order that is not a plain column)."""
    state = session.info.get(PRELOAD)
    if state is None or patient_id not in state.known:
        return NotImplemented
    if order_by is not None and not isinstance(order_by, InstrumentedAttribute):
        return NotImplemented
    key = (kind, model, None if order_by is None else (order_by.class_, order_by.key))
    table = state.tables.get(key)
    if table is None:
        table = state.tables[key] = _table(session, state, kind, model, order_by)
    if kind == "rows":
        return list(table.get(patient_id, ()))
    return table.get(patient_id)


def rows_order(model: Any, order_by: Any) -> list[Any]:
    """The order of a patient's rows (``rows_for``): ``order_by`` (default id), then id."""
    if order_by is None or order_by is model.id:
        return [model.id]
    return [order_by, model.id]


def latest_order(model: Any, order_by: Any) -> list[Any]:
    """The order in which a patient's newest row comes first (``latest``)."""
    return [order_by.desc(), model.id.desc()]


def _table(
    session: Session, state: _Preload, kind: str, model: Any, order_by: Any
) -> dict[int, Any]:
    order = rows_order(model, order_by) if kind == "rows" else latest_order(model, order_by)
    rows = _read(session, model, model.patient_id, [model.patient_id, *order], state.ids)
    table: dict[int, Any] = {}
    for row in rows:  # patient by patient, each patient's rows in the per-patient order
        if kind == "rows":
            table.setdefault(row.patient_id, []).append(row)
        else:
            table.setdefault(row.patient_id, row)  # the first is the newest
    return table


def _read(session: Session, model: Any, column: Any, order: list[Any], ids: list[int]) -> list:
    """``model``'s rows whose ``column`` is in ``ids``, as the session's loaded objects."""
    stmt = (
        direct.select_columns(model)
        .where(column.in_(bindparam("ids", expanding=True)))
        .order_by(*order)
    )
    out: list[Any] = []
    for start in range(0, len(ids), CHUNK):
        result = session.execute(stmt, {"ids": ids[start : start + CHUNK]})
        out.extend(direct.as_loaded(session, model, row) for row in result)
    return out
