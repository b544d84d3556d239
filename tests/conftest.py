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
    (0.05-0.25 s). Every copy is the same initialised trial (same randomisation key, same
    first checkpoint), each in its own file or database. ``init_database`` itself is tested
    where it is called directly (tests/store, tests/commands). A PostgreSQL role without
    CREATEDB falls back to migrating a schema of its own for every test (``make_store``).

    ``seed`` (a function of the store that writes through the services) makes a template of
    its own, copied the same way: the trial of ``trial_builder`` that every API and page
    test starts from is written once per backend, not once per test."""

    SCHEMA = "talentop_test"

    def __init__(self, base):
        self.base = base
        self._made: dict[tuple[str, str | None], object] = {}
        self._pg_admin = None
        self._pg_can_copy = True

    # -- the templates -----------------------------------------------------------------

    def _keys(self, folder):
        from talentop.store.keys import KeyRing

        return KeyRing(folder / "keys", folder / "checkpoints")

    def _template(self, backend: str, seed=None):
        """The template's folder (keys, checkpoints; SQLite: the file) and, on PostgreSQL,
        its database name."""
        key = (backend, None if seed is None else seed.__name__)
        if key not in self._made:
            folder = self.base / "-".join(k for k in key if k)
            folder.mkdir()
            if seed is not None:
                made = self._seeded(backend, seed, folder)
            elif backend == "sqlite":
                made = self._sqlite_template(folder)
            else:
                made = self._pg_template(folder)
            self._made[key] = made
        return self._made[key]

    def _sqlite_template(self, folder):
        from talentop.store import Store, init_database

        store = Store(f"sqlite:///{folder / 'talentop.db'}", keys=self._keys(folder))
        init_database(store)
        store.dispose()
        return folder, None

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

    def _seeded(self, backend: str, seed, folder):
        import sqlalchemy as sa

        base = self._template(backend)
        if base is None:
            return None
        store, _ = self._copy(backend, base, folder, self._keys(folder), prefix="talentop_tpl")
        seed(store)
        store.dispose()
        return folder, None if backend == "sqlite" else sa.make_url(store.url).database

    # -- a copy for one test -----------------------------------------------------------

    def _copy(self, backend: str, made, target, keys, prefix: str = "talentop_test"):
        """A Store on a copy of the template ``made`` whose key and checkpoint files are
        copied to ``keys`` (modes kept); SQLite: the file goes into ``target``."""
        import shutil

        from talentop.store import Store

        folder, database = made
        shutil.copytree(folder / "keys", keys.key_dir, dirs_exist_ok=True)
        shutil.copytree(folder / "checkpoints", keys.checkpoint_dir, dirs_exist_ok=True)
        if backend == "sqlite":
            shutil.copy2(folder / "talentop.db", target / "talentop.db")
            store = Store(f"sqlite:///{target / 'talentop.db'}", keys=keys)
            return store, store.dispose
        import sqlalchemy as sa

        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with self._pg_admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{database}"'))
        store = Store(self._pg_database_url(name), pg_schema=self.SCHEMA, keys=keys)

        def cleanup() -> None:
            store.dispose()
            self._drop(name)

        return store, cleanup

    def store(self, backend: str, tmp_path, seed=None):
        """A Store on a copy of the template (of ``seed``'s when given), and a cleanup
        callable; its keys in the folders the test's environment names."""
        from talentop.store.keys import KeyRing

        made = self._template(backend, seed)
        if made is None:  # PostgreSQL without CREATEDB
            store, cleanup = make_store(backend, tmp_path)
            if seed is not None:
                seed(store)
            return store, cleanup
        return self._copy(backend, made, tmp_path, KeyRing.from_environment())

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
        for (backend, _), made in reversed(list(self._made.items())):
            if backend == "postgresql" and made is not None:
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


@pytest.fixture(params=BACKENDS)
def trial_store(request, tmp_path, store_templates):
    """A fresh copy of the API and page tests' trial (``trial_builder.seed_trial``: two
    sites, one login per role), written once per backend and session."""
    from trial_builder import seed_trial

    store, cleanup = store_templates.store(request.param, tmp_path, seed=seed_trial)
    try:
        yield store
    finally:
        cleanup()
