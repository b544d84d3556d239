"""Reads a SQLite transaction repeats are sent once (``talentop.store.tx_reads``, issue 17):
the same rows as sending them again, whatever the transaction writes in between; on
PostgreSQL every read is sent."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
import sqlalchemy as sa

from flow_helpers import context, to_induction
from talentop.store import direct, path_queries, tx_reads
from talentop.store import models as m

pytestmark = pytest.mark.db


@contextlib.contextmanager
def _sent(store, table: str):
    """The SELECTs reading ``table`` sent while the block runs (a list, filled as they go)."""
    seen: list[str] = []

    def listener(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("SELECT") and f"FROM {table}" in statement:
            seen.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", listener)


def _steps(session, pid):
    return path_queries.state_steps(session, pid)


def _add_step(session, pid, to_state="off_study"):
    session.add(
        m.StateChange(patient_id=pid, from_state=None, to_state=to_state, on_date=None, actor="t")
    )


def test_a_repeated_read_is_sent_once_on_sqlite_and_every_time_on_postgresql(store):
    pid = to_induction(context(store))
    with _sent(store, "patient_state_history") as sent, store.unit_of_work() as session:
        first = _steps(session, pid)
        for _ in range(3):
            assert _steps(session, pid) == first
        other = _steps(session, pid + 1000)  # other parameters: a read of its own
    assert first and other == []
    assert len(sent) == (2 if store.is_sqlite else 5)


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(lambda s, pid: _add_step(s, pid), id="orm-flush"),
        pytest.param(
            lambda s, pid: s.execute(
                sa.update(m.StateChange)
                .where(m.StateChange.patient_id == pid)
                .values(to_state="off_study")
            ),
            id="core-update",
        ),
        pytest.param(
            lambda s, pid: s.execute(
                sa.text("UPDATE patient_state_history SET to_state = 'off_study'")
            ),
            id="text-update",
        ),
        pytest.param(
            lambda s, pid: s.connection().exec_driver_sql(
                "UPDATE patient_state_history SET to_state = 'off_study'"
            ),
            id="driver-sql-update",
        ),
        pytest.param(
            lambda s, pid: direct.execute(
                s,
                sa.insert(m.StateChange).values(
                    patient_id=sa.bindparam("p"),
                    from_state=None,
                    to_state="off_study",
                    on_date=None,
                    reason=None,
                    actor="t",
                    at=sa.bindparam("at"),
                ),
                {"p": pid, "at": dt.datetime(2025, 1, 1)},
            ),
            id="direct-insert",
        ),
        pytest.param(
            lambda s, pid: s.execute(
                sa.delete(m.StateChange).where(m.StateChange.patient_id == pid)
            ),
            id="core-delete",
        ),
    ],
)
def test_every_kind_of_write_to_a_read_table_is_seen_by_the_next_read(store, write):
    """An ORM flush, a Core or text statement, a statement on the cursor: the next read
    returns what the database holds, as if it had been sent again."""
    pid = to_induction(context(store))
    with store.unit_of_work() as session:
        before = _steps(session, pid)
        write(session, pid)
        after = _steps(session, pid)
        fresh = [
            (r[0], r[1])
            for r in session.connection().execute(path_queries._STEPS, {"patient_id": pid})
        ]
        session.rollback()
    assert after == fresh != before


def test_a_write_to_another_table_keeps_the_rows(store):
    pid = to_induction(context(store))
    with _sent(store, "patient_state_history") as sent, store.unit_of_work() as session:
        first = _steps(session, pid)
        session.add(
            m.LabResult(
                patient_id=pid, sampled_on=dt.date(2025, 1, 2), test="afp", value=1.0, unit="ng/mL"
            )
        )
        session.flush()
        assert _steps(session, pid) == first
        session.rollback()
    assert len(sent) == (1 if store.is_sqlite else 2)


def test_a_savepoint_rolled_back_undoes_what_was_read_inside_it(store):
    pid = to_induction(context(store))
    with store.unit_of_work() as session:
        before = _steps(session, pid)
        nested = session.begin_nested()
        _add_step(session, pid)
        inside = _steps(session, pid)
        nested.rollback()
        after = _steps(session, pid)
        session.rollback()
    assert len(inside) == len(before) + 1
    assert after == before


def test_rows_are_not_kept_from_one_transaction_to_the_next(store):
    pid = to_induction(context(store))
    with store.unit_of_work() as session:
        before = _steps(session, pid)
    with store.unit_of_work() as session:
        _add_step(session, pid)
    with _sent(store, "patient_state_history") as sent, store.unit_of_work() as session:
        after = _steps(session, pid)
    assert len(after) == len(before) + 1 and len(sent) == 1


def test_the_caller_gets_a_copy_of_the_rows(store):
    pid = to_induction(context(store))
    with store.unit_of_work() as session:
        rows = direct.execute(session, path_queries._STEPS, {"patient_id": pid})
        rows.clear()
        assert direct.execute(session, path_queries._STEPS, {"patient_id": pid})


def test_marked_reads_know_the_tables_of_their_subqueries_and_joins():
    tables = direct._PER_TRANSACTION[id(path_queries._PATIENT_FOR_WRITE)][1]
    assert tables == {"patients", "record_locks", "users"}
    assert direct._PER_TRANSACTION[id(path_queries._CONSENT_GATE)][1] == {
        "consents",
        "consent_withdrawals",
    }
    with pytest.raises(TypeError, match="takes a select"):
        direct.per_transaction(sa.insert(m.LabResult))


@pytest.mark.parametrize(
    ("statement", "left"),
    [
        ("SELECT 1 FROM labs", {"labs", "patients"}),
        ("SAVEPOINT sa_savepoint_1", {"labs", "patients"}),
        ("RELEASE SAVEPOINT sa_savepoint_1", {"labs", "patients"}),
        ("INSERT INTO labs (x) VALUES (?)", {"patients"}),
        ('  insert or replace into "labs" (x) VALUES (?)', {"patients"}),
        ("REPLACE INTO labs (x) VALUES (?)", {"patients"}),
        ("UPDATE patients SET state=?", {"labs"}),
        ("update or ignore patients set state=?", {"labs"}),
        ("DELETE FROM labs", {"patients"}),
        ("ROLLBACK TO SAVEPOINT sa_savepoint_1", set()),
        ("PRAGMA foreign_keys=ON", set()),
        ("WITH x AS (DELETE FROM labs RETURNING 1) SELECT 1", set()),
        ("BEGIN IMMEDIATE", set()),
    ],
)
def test_what_each_statement_makes_stale(statement, left):
    reads = tx_reads.Reads()
    reads.keep(("a",), frozenset({"labs"}), ["lab rows"])
    reads.keep(("b",), frozenset({"patients"}), ["patient rows"])
    tx_reads.statement_seen(reads, statement)
    kept = {"labs": ("a",), "patients": ("b",)}
    assert {table for table, key in kept.items() if key in reads.by_key} == left


_LABS = sa.select(m.LabResult.id)


def test_the_table_a_statement_on_the_cursor_writes():
    """What ``direct`` drops for the statements it runs itself (they never reach the
    engine's hooks)."""
    assert tx_reads.written_table(_LABS) is None
    assert tx_reads.written_table(sa.insert(m.LabResult)) == "labs"
    assert tx_reads.written_table(sa.update(m.Patient)) == "patients"
    assert tx_reads.written_table(sa.text("UPDATE labs SET value = 1")) == "*"
