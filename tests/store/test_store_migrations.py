"""Migrations shipped in the package: upgrade, current revision, models == migrated schema."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from talentop.store import (
    Store,
    current_revision,
    head_revision,
    init_database,
    queries,
    schema_diff,
)
from talentop.store import models as m

pytestmark = pytest.mark.db


def test_migrated_schema_matches_the_models(store):
    """alembic compare_metadata finds no difference between Base.metadata and the database."""
    assert schema_diff(store) == []
    assert current_revision(store) == head_revision(store) is not None


def test_init_is_idempotent_and_creates_one_secret(store):
    again = init_database(store)
    assert again["secret_created"] is False
    with store.unit_of_work() as session:
        assert queries.count(session, m.RandomisationSecret) == 1
        secret = queries.randomisation_secret(session)
        assert isinstance(secret, bytes) and len(secret) == 32
        # The trail records that a secret was created, never its bytes.
        for entry in queries.audit_rows(session):
            assert secret.hex() not in (entry.after_json or "")


def test_empty_database_has_no_revision_until_upgraded(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert current_revision(store) is None
    init_database(store)
    assert current_revision(store) == head_revision(store)
    store.dispose()


def test_sqlite_pragmas_wal_foreign_keys_busy_timeout(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'p.db'}")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    store.dispose()


def test_foreign_keys_are_enforced(store):
    with pytest.raises(sa.exc.IntegrityError):
        with store.unit_of_work() as session:
            session.add(
                m.Death(patient_id=424242, death_date=__import__("datetime").date(2025, 1, 1))
            )
            session.flush()


def test_database_url_from_environment(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'env.db'}"
    monkeypatch.setenv("TALENTOP_DATABASE_URL", url)
    assert Store().url == url
    monkeypatch.delenv("TALENTOP_DATABASE_URL")
    assert Store().url == "sqlite:///talentop.db"
