"""Database fixtures: every db test runs on a fresh SQLite file, and on PostgreSQL too when
``TALENTOP_TEST_POSTGRES_URL`` is set (each test in its own throw-away schema)."""

from __future__ import annotations

import os
import uuid

import pytest

POSTGRES_URL = os.environ.get("TALENTOP_TEST_POSTGRES_URL")
# argon2id with the library's cheapest parameters: the suite creates hundreds of accounts.
# tests/services/test_identity_accounts.py checks the production profile separately.
os.environ.setdefault("TALENTOP_PASSWORD_PROFILE", "cheapest")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


@pytest.fixture(autouse=True)
def key_folders(tmp_path_factory, monkeypatch):
    """Every test gets its own key and checkpoint folders (what TALENTOP_KEY_DIR and
    TALENTOP_CHECKPOINT_DIR name), outside its tmp_path, so no test writes keys into the
    working directory or sees another test's keys."""
    base = tmp_path_factory.mktemp("trial-files")
    monkeypatch.setenv("TALENTOP_KEY_DIR", str(base / "keys"))
    monkeypatch.setenv("TALENTOP_CHECKPOINT_DIR", str(base / "checkpoints"))
    monkeypatch.delenv("TALENTOP_RANDOMISATION_KEY", raising=False)
    return base


def make_store(backend: str, tmp_path):
    """A migrated, initialised Store and a cleanup callable."""
    from talentop.store import Store, init_database

    if backend == "sqlite":
        store = Store(f"sqlite:///{tmp_path / 'talentop.db'}")
        init_database(store)
        return store, store.dispose
    import sqlalchemy as sa

    schema = f"talentop_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    store = Store(POSTGRES_URL, pg_schema=schema)
    init_database(store)

    def cleanup() -> None:
        store.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return store, cleanup


@pytest.fixture(params=BACKENDS)
def empty_database_url(request, tmp_path):
    """The URL of an empty database of its own (what ``TALENTOP_DATABASE_URL`` would hold):
    a new SQLite file, or a throw-away PostgreSQL schema selected by ``search_path`` in the
    URL, so CLI runs of different tests never share tables."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cli.db'}"
        return
    import sqlalchemy as sa

    schema = f"talentop_cli_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    """A fresh trial database (SQLite file; PostgreSQL schema when configured)."""
    store, cleanup = make_store(request.param, tmp_path)
    try:
        yield store
    finally:
        cleanup()
