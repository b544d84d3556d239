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
from talentop.store.migrate import MIGRATIONS_DIR, alembic_config, downgrade, upgrade

pytestmark = pytest.mark.db


def test_migrated_schema_matches_the_models(store):
    """alembic compare_metadata finds no difference between Base.metadata and the database."""
    assert schema_diff(store) == []
    assert current_revision(store) == head_revision(store) is not None


def test_revisions_form_one_chain_that_goes_down_and_up_again(store):
    """0001 people/sites/audit -> 0002 clinical records -> 0003 trial conduct -> 0004
    identity (credentials, sessions, tokens, access events, MDT ballots) -> 0007 consent
    and safety (consents, SAE reports, medication, history); each step creates only its own
    tables, ``base`` drops them all, and head is whole again."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(store))
    chain = [rev.revision for rev in script.walk_revisions("base", "heads")][::-1]
    assert chain == ["0001", "0002", "0003", "0004", "0007"] and script.get_heads() == [
        head_revision(store)
    ]
    every_table = set(m.Base.metadata.tables)
    created: set[str] = set()
    for rev in chain:
        module = script.get_revision(rev).module
        assert not created & set(module.TABLES), f"{rev} recreates a table"
        created |= set(module.TABLES)
    assert created == every_table
    assert downgrade(store, "base") is None
    assert set(sa.inspect(store.engine).get_table_names()) <= {"alembic_version"}
    for rev, expected in zip(chain, ("0001", "0002", "0003", "0004", "0007"), strict=True):
        assert upgrade(store, rev) == expected
    assert set(sa.inspect(store.engine).get_table_names()) == every_table | {"alembic_version"}
    assert schema_diff(store) == []
    assert sorted(p.name for p in (MIGRATIONS_DIR / "versions").glob("0*.py")) == [
        "0001_people_sites_audit.py",
        "0002_clinical_records.py",
        "0003_trial_conduct.py",
        "0004_identity.py",
        "0007_consent_safety.py",
    ]


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
