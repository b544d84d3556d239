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
    """A migrated, initialised Store and a cleanup callable (``init_database`` run for it)."""
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


class StoreTemplates:
    """One database per backend migrated and initialised once a session; each test gets a
    copy of it, with a copy of its key and checkpoint folders.

    Migrating takes 0.2-0.3 s on SQLite and 1.2-2 s on PostgreSQL (about 130 DDL
    statements at ~5 ms each in the server), and about 700 tests ask for a fresh store. A
    copy takes a file copy on SQLite and ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL
    (~0.1 s). Every copy is the same initialised trial (same randomisation key, same first
    checkpoint), each in its own file or database. ``init_database`` itself is tested
    where it is called directly (tests/store, tests/commands). A PostgreSQL role without
    CREATEDB falls back to migrating a schema of its own for every test (``make_store``)."""

    SCHEMA = "talentop_test"

    def __init__(self, base):
        self.base = base
        self._made: dict[str, object] = {}
        self._pg_admin = None
        self._pg_can_copy = True

    # -- the templates -----------------------------------------------------------------

    def _keys(self, folder):
        from talentop.store.keys import KeyRing

        return KeyRing(folder / "keys", folder / "checkpoints")

    def _template(self, backend: str):
        if backend not in self._made:
            folder = self.base / backend
            folder.mkdir()
            self._made[backend] = (
                self._sqlite_template(folder) if backend == "sqlite" else self._pg_template(folder)
            )
        return self._made[backend]

    def _sqlite_template(self, folder):
        from talentop.store import Store, init_database

        store = Store(f"sqlite:///{folder / 'talentop.db'}", keys=self._keys(folder))
        init_database(store)
        store.dispose()
        return folder

    def _pg_database_url(self, name: str) -> str:
        import sqlalchemy as sa

        return sa.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)

    def _pg_template(self, folder):
        import sqlalchemy as sa

        from talentop.store import Store, init_database

        self._pg_admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        name = f"talentop_tpl_{uuid.uuid4().hex[:12]}"
        try:
            with self._pg_admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        except sa.exc.ProgrammingError:  # no CREATEDB: migrate a schema for each test
            self._pg_can_copy = False
            return None
        store = Store(self._pg_database_url(name), keys=self._keys(folder))
        with store.engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{self.SCHEMA}"'))
        store.dispose()
        store = Store(self._pg_database_url(name), pg_schema=self.SCHEMA, keys=self._keys(folder))
        init_database(store)
        store.dispose()
        return folder, name

    # -- a copy for one test -----------------------------------------------------------

    def _copy_keys(self, folder) -> None:
        """The template's key and checkpoint files into this test's folders (modes kept)."""
        import shutil

        from talentop.store.keys import KeyRing

        mine = KeyRing.from_environment()
        shutil.copytree(folder / "keys", mine.key_dir, dirs_exist_ok=True)
        shutil.copytree(folder / "checkpoints", mine.checkpoint_dir, dirs_exist_ok=True)

    def store(self, backend: str, tmp_path):
        """A Store on a copy of the template, and a cleanup callable."""
        import shutil

        from talentop.store import Store

        made = self._template(backend)
        if backend == "sqlite":
            self._copy_keys(made)
            target = tmp_path / "talentop.db"
            shutil.copy2(made / "talentop.db", target)
            store = Store(f"sqlite:///{target}")
            return store, store.dispose
        if not self._pg_can_copy:
            return make_store(backend, tmp_path)
        import sqlalchemy as sa

        folder, template = made
        self._copy_keys(folder)
        name = f"talentop_test_{uuid.uuid4().hex[:12]}"
        with self._pg_admin.connect() as conn:
            conn.execute(
                sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            )
        store = Store(self._pg_database_url(name), pg_schema=self.SCHEMA)

        def cleanup() -> None:
            store.dispose()
            self._drop(name)

        return store, cleanup

    def _drop(self, name: str) -> None:
        """Drop a copy: this role's connections still open to it (a test's threads or
        child processes) are ended first; a plain ``DROP DATABASE`` then stops an
        autovacuum worker itself, where ``WITH (FORCE)`` refuses to a role that is not a
        superuser ("must be a member of the role whose process is being terminated")."""
        import sqlalchemy as sa

        with self._pg_admin.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                    "WHERE datname = :name AND usename = current_user "
                    "AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            conn.execute(sa.text(f'DROP DATABASE "{name}"'))

    def close(self) -> None:
        if self._pg_admin is None:
            return

        made = self._made.get("postgresql")
        if made is not None:
            self._drop(made[1])
        self._pg_admin.dispose()


@pytest.fixture(scope="session")
def store_templates(tmp_path_factory):
    templates = StoreTemplates(tmp_path_factory.mktemp("store-templates"))
    try:
        yield templates
    finally:
        templates.close()


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
def store(request, tmp_path, store_templates):
    """A fresh trial database, migrated and initialised (a SQLite file; a PostgreSQL database
    of its own when configured): a copy of the session's template (``StoreTemplates``)."""
    store, cleanup = store_templates.store(request.param, tmp_path)
    try:
        yield store
    finally:
        cleanup()
