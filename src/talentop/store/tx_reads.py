"""Reads a SQLite transaction repeats, answered from what it read before (issue 17).

A service call reads the same few things before it writes: the patient row with its
record locks and the acting user, the consent gate, the path so far. A patient visit runs
a dozen calls in one transaction (the demo: 638 transactions, 18,000 calls), so it sent
each of those statements a dozen times for the same rows: about 45,000 of the demo's
176,000 statements. Marked statements (``direct.per_transaction``) are now run once per
transaction and parameters; their rows are kept until the transaction writes to a table
the statement reads.

Why this is exact on SQLite, and why it is SQLite only:

- a SQLite transaction reads one snapshot (WAL: fixed at its first read; ``BEGIN
  IMMEDIATE`` also keeps every other writer out until it ends), so only the
  transaction's own writes can change what a repeated statement returns;
- every statement of the connection is seen before it runs: what SQLAlchemy runs (the
  ORM's flushes, Core, text and driver SQL) by the engine's ``before_cursor_execute``
  (``statement_seen``), what ``talentop.store.direct`` runs on the cursor (the only code
  that does) by ``direct`` itself, from the table it found when it compiled the statement
  (``written_table``). An ``INSERT``/``UPDATE``/``DELETE`` drops the rows read from its
  table; any other statement but a ``SELECT``, ``SAVEPOINT`` or ``RELEASE`` (a ``ROLLBACK
  TO SAVEPOINT``, DDL, a ``PRAGMA``, a ``WITH`` that might write) drops everything;
- the rows are dropped when the transaction begins, commits or rolls back.

PostgreSQL reads at read committed: another transaction's commit may change what a second
read returns, and the services rely on that (a record lock placed meanwhile), so nothing is
kept there (the engine's listeners are installed for SQLite engines only).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Table, event
from sqlalchemy.engine import Engine

#: ``Connection.info`` key: the open transaction's ``Reads`` (absent outside one).
KEY = "talentop_tx_reads"

_WRITE = re.compile(
    r"\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|REPLACE\s+INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM)"
    r"\s+[\"`]?(\w+)",
    re.IGNORECASE,
)
#: Statements that change nothing a read returns (checked on the first 9 characters).
_HARMLESS = ("SELECT", "SAVEPOINT", "RELEASE")


class Reads:
    """The rows of a transaction's marked reads, by (statement id, parameters), and which
    of them each table's writes make stale."""

    __slots__ = ("by_key", "by_table")

    def __init__(self) -> None:
        self.by_key: dict[tuple[Any, ...], Any] = {}
        self.by_table: dict[str, set[tuple[Any, ...]]] = {}

    def keep(self, key: tuple[Any, ...], tables: frozenset[str], rows: Any) -> None:
        self.by_key[key] = rows
        for table in tables:
            self.by_table.setdefault(table, set()).add(key)

    def drop_table(self, table: str) -> None:
        keys = self.by_table.pop(table, None)
        if keys:
            for key in keys:
                self.by_key.pop(key, None)

    def clear(self) -> None:
        self.by_key.clear()
        self.by_table.clear()


def statement_seen(reads: Reads, statement: str) -> None:
    """What ``statement``, about to run in the transaction, makes stale."""
    if not reads.by_key:
        return
    head = statement.lstrip()[:9].upper()
    if head.startswith(_HARMLESS):
        return
    found = _WRITE.match(statement)
    if found is None:
        reads.clear()
    else:
        reads.drop_table(found.group(1).lower())


def written_table(stmt: Any) -> str | None:
    """For ``direct``: the table a statement writes (its name), "*" when it may write
    anything (text, DDL), None for a select."""
    if getattr(stmt, "is_select", False):
        return None
    if getattr(stmt, "is_dml", False) and isinstance(getattr(stmt, "table", None), Table):
        return stmt.table.name.lower()
    return "*"


def written(reads: Reads, table: str) -> None:
    """``direct``'s statement writing ``table`` ("*": anything) is about to run."""
    if table == "*":
        reads.clear()
    else:
        reads.drop_table(table)


def install(engine: Engine) -> None:
    """Keep marked reads per transaction on this (SQLite) engine's connections."""

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.info[KEY] = Reads()

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _end(conn: Any) -> None:
        conn.info.pop(KEY, None)

    @event.listens_for(engine, "rollback_savepoint")
    def _undone(conn: Any, _name: Any, _context: Any) -> None:
        reads = conn.info.get(KEY)
        if reads is not None:
            reads.clear()

    @event.listens_for(engine, "before_cursor_execute")
    def _statement(conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, *_: Any):
        # No execution context: a statement of ``direct``, which has dropped what it makes
        # stale already (``direct._before_write``: its table known when it was compiled).
        if context is not None:
            reads = conn.info.get(KEY)
            if reads is not None:
                statement_seen(reads, statement)
