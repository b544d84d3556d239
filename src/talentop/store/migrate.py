"""Schema migrations shipped in the package, applied programmatically (no alembic.ini)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select

from talentop.errors import DatabaseUnavailable
from talentop.store.engine import Store
from talentop.store.keys import fingerprint_of, restrict_to_owner
from talentop.store.models import Base, RandomisationKey

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(store: Store) -> Config:
    """An Alembic Config pointing at the package's migrations and the store's URL."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", store.url.replace("%", "%%"))
    return cfg


def upgrade(store: Store, revision: str = "head") -> str | None:
    """Apply migrations up to ``revision``; return the revision now current. The store's
    key ring goes to the migrations (0005 moves a legacy secret out to a key file)."""
    cfg = alembic_config(store)
    with store.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        cfg.attributes["keys"] = store.keys
        command.upgrade(cfg, revision)
    return current_revision(store)


def downgrade(store: Store, revision: str) -> str | None:
    """Undo migrations down to ``revision`` ("base" drops every table: data are lost)."""
    cfg = alembic_config(store)
    with store.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        cfg.attributes["keys"] = store.keys
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


def database_is_empty(store: Store) -> bool:
    """True when the database has no table at all (a missing SQLite file counts as empty
    and is not created)."""
    from sqlalchemy import inspect

    if store.sqlite_file is not None and not store.sqlite_file.exists():
        return True
    with store.engine.connect() as connection:
        return not inspect(connection).get_table_names()


def schema_diff(store: Store) -> list[object]:
    """Differences between the models and the migrated schema (empty when they agree)."""
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def _register_key(store: Store, actor: str, secret: bytes | None) -> tuple[str, bool]:
    """The trial's current randomisation key: registered (id + fingerprint, audited) and
    written to its 0600 file when the database has none; else checked against its file."""
    from talentop.store import writes

    keys = store.keys
    with store.unit_of_work() as session:
        current = session.execute(
            select(RandomisationKey).order_by(RandomisationKey.id.desc()).limit(1)
        ).scalar_one_or_none()
        if current is None:
            key_id, secret = keys.new_randomisation_key(secret)
            writes.insert(
                session,
                actor,
                RandomisationKey(key_id=key_id, fingerprint=fingerprint_of(secret)),
            )
            return key_id, True
    keys.checked_randomisation_key(current.key_id, current.fingerprint)
    return current.key_id, False


def init_database(
    store: Store, *, actor: str = "system", randomisation_secret: bytes | None = None
) -> dict[str, Any]:
    """Migrate to head; create the randomisation key (file 0600, or ``TALENTOP_RANDOMISATION_KEY``)
    and the log's signing key in the key folder if missing; sign the first checkpoint.

    ``randomisation_secret`` is for the demo only (a key derived from its seed); a trial's
    key comes from ``secrets.token_bytes``. The key itself is never returned or printed.
    """
    from talentop.store.checkpoints import CheckpointFolder
    from talentop.store.log import checkpoint

    revision = upgrade(store)
    if store.sqlite_file is not None:
        restrict_to_owner(store.sqlite_file)
    key_id, created = _register_key(store, actor, randomisation_secret)
    keys = store.keys
    signer = keys.new_signing_key()
    CheckpointFolder(keys.checkpoint_dir).pin(signer.verifier)
    head = checkpoint(store, only_if_grown=True).head
    return {
        "revision": revision,
        "secret_created": created,
        "key_id": key_id,
        "key_dir": str(keys.key_dir),
        "checkpoint_dir": str(keys.checkpoint_dir),
        "log_public_key": signer.verifier.encode(),
        "checkpoint_size": head.size,
    }


def rotate_randomisation_key(store: Store, *, actor: str = "system") -> dict[str, Any]:
    """Register a new randomisation key (``secrets.token_bytes``, written 0600 to the key
    folder) as the current one. Each permuted-block stratum finishes its current block with
    the key that started it and starts its next block on the new key; minimisation uses the
    new key from its next allocation. Keep the old key files: they re-derive the
    allocations made with them, and strata still in an old block need them."""
    import secrets as _secrets

    from talentop.store import writes
    from talentop.store.keys import SECRET_BYTES

    require_schema(store)
    _register_key(store, actor, None)  # the current key must be present and genuine first
    key_id, secret = store.keys.new_randomisation_key(_secrets.token_bytes(SECRET_BYTES))
    with store.unit_of_work() as session:
        writes.insert(
            session, actor, RandomisationKey(key_id=key_id, fingerprint=fingerprint_of(secret))
        )
    return {"key_id": key_id, "key_file": str(store.keys.randomisation_key_path(key_id))}
