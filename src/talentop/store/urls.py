"""Database URLs: parse and check them, mask the password, explain a failed connection.

Every problem becomes ``DatabaseUnavailable`` naming the URL (password masked), the cause
and a hint, so no caller ever shows a driver traceback or a password.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from talentop.errors import DatabaseUnavailable

#: The dialects talentop is tested on.
SUPPORTED = "supported are sqlite (sqlite:///path/talentop.db) and postgresql+psycopg"
URL_EXAMPLE = "expected e.g. sqlite:///talentop.db or postgresql+psycopg://user:password@host/db"


def mask_url(url: str) -> str:
    """The URL as it may be printed: the password replaced by ``***``."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        # Not parseable: still hide anything shaped like user:password@.
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)
    return parsed.render_as_string(hide_password=True)


def parse_url(url: str) -> URL:
    """Parse ``url`` and check its dialect and (SQLite) folder before any connection."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUnavailable(mask_url(url), "not a database URL", URL_EXAMPLE) from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise DatabaseUnavailable(mask_url(url), f"dialect {backend!r} not supported", SUPPORTED)
    if backend == "postgresql" and parsed.get_driver_name() != "psycopg":
        raise DatabaseUnavailable(
            mask_url(url),
            f"driver {parsed.get_driver_name()!r} not installed",
            f"{SUPPORTED}: write postgresql+psycopg://...",
        )
    path = sqlite_path(parsed)
    if path is not None and not path.parent.is_dir():
        raise DatabaseUnavailable(
            mask_url(url),
            f"folder {path.parent} does not exist",
            "create it first or give another path",
        )
    return parsed


def sqlite_path(parsed: URL) -> Path | None:
    """The file of a SQLite URL (None for in-memory databases and other dialects)."""
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)


def connect_failure(url: str, error: Any) -> DatabaseUnavailable:
    """Explain a driver's connect error (``error`` is the DBAPI exception)."""
    text = str(error)
    lowered = text.lower()
    if "connection refused" in lowered:
        cause, hint = "connection refused", "is the server running, on that host and port?"
    elif "password authentication failed" in lowered or "authentication failed" in lowered:
        cause, hint = "authentication failed", "check the user name and password"
    elif "does not exist" in lowered and "database" in lowered:
        cause, hint = "the database does not exist", "create it (createdb) or fix the name"
    elif "unable to open database file" in lowered:
        cause, hint = "unable to open the database file", "check the path and permissions"
    elif "timeout" in lowered or "timed out" in lowered:
        cause, hint = "connection timed out", "is the host reachable?"
    elif "could not translate host name" in lowered or "name or service not known" in lowered:
        cause, hint = "unknown host", "check the host name"
    else:
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        cause, hint = (lines[-1] if lines else type(error).__name__), None
    return DatabaseUnavailable(mask_url(url), cause, hint)
