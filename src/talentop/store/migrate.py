"""Schema migrations shipped in the package, applied programmatically (no alembic.ini)."""

from __future__ import annotations

import secrets
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select

from talentop.errors import DatabaseUnavailable
from talentop.store.audit import append_audit
from talentop.store.engine import Store
from talentop.store.models import Base, RandomisationSecret

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
#: Bytes of the randomisation secret generated at ``db init``.
SECRET_BYTES = 32


def alembic_config(store: Store) -> Config:
    """An Alembic Config pointing at the package's migrations and the store's URL."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", store.url.replace("%", "%%"))
    return cfg


def upgrade(store: Store, revision: str = "head") -> str | None:
    """Apply migrations up to ``revision``; return the revision now current."""
    cfg = alembic_config(store)
    with store.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
    return current_revision(store)


def downgrade(store: Store, revision: str) -> str | None:
    """Undo migrations down to ``revision`` ("base" drops every table: data are lost)."""
    cfg = alembic_config(store)
    with store.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)
    return current_revision(store)


def current_revision(store: Store) -> str | None:
    """The revision the database is at (None for an empty or missing database; a missing
    SQLite file is not created)."""
    if store.sqlite_file is not None and not store.sqlite_file.exists():
        return None
    with store.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(store: Store) -> str | None:
    """The newest revision shipped with this version of talentop."""
    return ScriptDirectory.from_config(alembic_config(store)).get_current_head()


def require_schema(store: Store) -> str:
    """Refuse to read a database that was never initialised or is behind this talentop's
    schema (``DatabaseUnavailable``); never creates a SQLite file. Returns the revision."""
    revision = current_revision(store)
    if revision is None:
        raise DatabaseUnavailable(
            store.display_url,
            "schema not initialised",
            "run talentop db init",
            message=(
                f"no talentop database at {store.display_url} (schema not initialised): "
                "run talentop db init"
            ),
        )
    head = head_revision(store)
    if revision != head:
        raise DatabaseUnavailable(
            store.display_url,
            f"schema at revision {revision}, this talentop needs {head}",
            "run talentop db upgrade",
        )
    return revision


def schema_diff(store: Store) -> list[object]:
    """Differences between the models and the migrated schema (empty when they agree)."""
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def init_database(store: Store, *, actor: str = "system") -> dict[str, object]:
    """Migrate to head and create the randomisation secret if missing (never shown)."""
    revision = upgrade(store)
    created = False
    with store.unit_of_work() as session:
        if session.scalar(select(RandomisationSecret.id).limit(1)) is None:
            row = RandomisationSecret(secret=secrets.token_bytes(SECRET_BYTES))
            session.add(row)
            session.flush()
            # The trail records that a secret exists, never its value.
            append_audit(
                session,
                actor=actor,
                entity="randomisation_secret",
                entity_id=row.id,
                action="create",
                before=None,
                after={"id": row.id, "bytes": SECRET_BYTES},
            )
            created = True
    return {"revision": revision, "secret_created": created}
