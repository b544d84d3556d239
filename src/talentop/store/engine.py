"""The database connection: SQLite file by default (WAL), PostgreSQL via TALENTOP_DATABASE_URL.

Every write runs in ``Store.unit_of_work()``: one transaction, committed on success and
rolled back on any exception. On SQLite the transaction starts with ``BEGIN IMMEDIATE``
(the write lock is taken at once, so two writers never interleave; SQLAlchemy's documented
pysqlite recipe, "Serializable isolation / Savepoints / Transactional DDL"). On PostgreSQL
writers serialise on row locks (``SELECT ... FOR UPDATE``) and an advisory lock for the
audit chain head.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_URL = "sqlite:///talentop.db"
#: Seconds a writer waits for the SQLite write lock before giving up.
SQLITE_BUSY_TIMEOUT_S = 60


def database_url(url: str | None = None) -> str:
    """The URL to use: explicit argument, else ``TALENTOP_DATABASE_URL``, else ``talentop.db``."""
    return url or os.environ.get("TALENTOP_DATABASE_URL") or DEFAULT_URL


def _sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Stop pysqlite from issuing its own BEGIN; we emit BEGIN IMMEDIATE in "begin".
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class Store:
    """One database: an engine, a session factory and the transaction boundary."""

    def __init__(self, url: str | None = None, *, pg_schema: str | None = None, echo: bool = False):
        self.url = database_url(url)
        connect_args: dict[str, Any] = {}
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            connect_args["timeout"] = SQLITE_BUSY_TIMEOUT_S
            connect_args["check_same_thread"] = False
        elif pg_schema:
            # A private schema (tests): everything, including alembic_version, lives there.
            connect_args["options"] = f"-csearch_path={pg_schema}"
        if not self.is_sqlite:
            kwargs.update(pool_size=10, max_overflow=40, pool_pre_ping=True)
        self.engine: Engine = create_engine(
            self.url, connect_args=connect_args, echo=echo, **kwargs
        )
        if self.is_sqlite:
            _sqlite_hooks(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @property
    def is_postgresql(self) -> bool:
        return self.url.startswith("postgresql")

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One transaction: commit if the block ends normally, roll back on any exception."""
        session = self._sessions()
        try:
            with session.begin():
                yield session
        finally:
            session.close()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"
