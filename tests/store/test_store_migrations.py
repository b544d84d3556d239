"""Migrations shipped in the package: upgrade, current revision, models == migrated schema."""

from __future__ import annotations

import datetime as dt
import json
import stat

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
from talentop.store.keys import KeyRing, fingerprint_of, key_id_of
from talentop.store.migrate import MIGRATIONS_DIR, alembic_config, downgrade, upgrade

pytestmark = pytest.mark.db


def test_migrated_schema_matches_the_models(store):
    """alembic compare_metadata finds no difference between Base.metadata and the database."""
    assert schema_diff(store) == []
    assert current_revision(store) == head_revision(store) is not None


CHAIN = ["0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008"]


def test_revisions_form_one_chain_that_goes_down_and_up_again(store):
    """0001 people/sites/audit -> 0002 clinical records -> 0003 trial conduct -> 0004
    identity (credentials, sessions, tokens, access events, MDT ballots) -> 0005 verifiable
    log -> 0006 the experts' questions -> 0007 consent and safety -> 0008 data management;
    each step creates only its own tables (0005 drops the in-database secret), ``base`` drops
    them all, and head is whole again."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(store))
    chain = [rev.revision for rev in script.walk_revisions("base", "heads")][::-1]
    assert chain == CHAIN and script.get_heads() == [head_revision(store)]
    every_table = set(m.Base.metadata.tables)
    created: set[str] = set()
    for rev in chain:
        module = script.get_revision(rev).module
        assert not created & set(module.TABLES), f"{rev} recreates a table"
        created |= set(module.TABLES)
        created -= set(getattr(module, "DROPPED", ()))
    assert created == every_table
    assert downgrade(store, "base") is None
    assert set(sa.inspect(store.engine).get_table_names()) <= {"alembic_version"}
    for rev in chain:
        assert upgrade(store, rev) == rev
    assert set(sa.inspect(store.engine).get_table_names()) == every_table | {"alembic_version"}
    assert schema_diff(store) == []
    assert sorted(p.name for p in (MIGRATIONS_DIR / "versions").glob("0*.py")) == [
        "0001_people_sites_audit.py",
        "0002_clinical_records.py",
        "0003_trial_conduct.py",
        "0004_identity.py",
        "0005_verifiable_log.py",
        "0006_experts.py",
        "0007_consent_safety.py",
        "0008_data_management.py",
    ]


def test_init_is_idempotent_and_registers_one_key_outside_the_database(store):
    again = init_database(store)
    assert again["secret_created"] is False
    with store.unit_of_work() as session:
        (key,) = queries.randomisation_keys(session)
    secret = store.keys.load_randomisation_key(key.key_id)
    assert isinstance(secret, bytes) and len(secret) == 32
    assert key.key_id == again["key_id"] == key_id_of(secret)
    assert key.fingerprint == fingerprint_of(secret)
    path = store.keys.randomisation_key_path(key.key_id)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.keys.signing_key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.keys.key_dir.stat().st_mode) == 0o700
    assert "randomisation_secret" not in sa.inspect(store.engine).get_table_names()
    # The log records the key's id and fingerprint, never its bytes.
    for entry in sv_entries(store):
        assert secret.hex() not in json.dumps(entry)


def sv_entries(store):
    with store.unit_of_work() as session:
        return [
            {"before": e.before_json, "after": e.after_json}
            for e in queries.audit_rows(session, limit=10_000)
        ]


def test_upgrade_from_0003_moves_the_secret_out_and_keeps_the_log(store, tmp_path):
    """A 0003 database (secret in a table, SHA-256 chain) upgraded by ``upgrade``: the
    secret goes to a 0600 key file (same bytes, so allocations continue on the same list),
    the table is gone, the migration's own changes are audited and the log verifies;
    downgrading restores the secret and a valid 0003 chain."""
    from talentop.store.verify import verify_log

    assert downgrade(store, "0003") == "0003"
    legacy = bytes(range(32))
    with store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM randomisation_secret"))
        conn.execute(
            sa.text("INSERT INTO randomisation_secret (id, secret, created_at) VALUES (1, :s, :t)"),
            {"s": legacy, "t": dt.datetime(2025, 1, 1)},
        )
        conn.execute(
            sa.text("INSERT INTO stratum_counters (stratum_key, next_slot) VALUES ('ecog=0', 3)")
        )
        chain = conn.execute(
            sa.text("SELECT seq, hash, prev_hash FROM audit_trail ORDER BY seq")
        ).all()
    assert chain and all(b.prev_hash == a.hash for a, b in zip(chain, chain[1:], strict=False))
    keys = KeyRing(tmp_path / "migrated-keys", tmp_path / "migrated-checkpoints")
    migrated = type(store)(store.url, keys=keys, pg_schema=_schema(store))
    assert upgrade(migrated) == head_revision(store)
    path = keys.randomisation_key_path(key_id_of(legacy))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keys.load_randomisation_key(key_id_of(legacy)) == legacy
    with migrated.unit_of_work() as session:
        (key,) = queries.randomisation_keys(session)
        assert key.fingerprint == fingerprint_of(legacy)
        counter = session.get(m.StratumCounter, "ecog=0")
        assert (counter.key_id, counter.key_start_slot) == (key.key_id, 0)
        report = verify_log(session, keys=keys)
    assert report.ok, report.problems
    assert report.rows == len(chain) + 2  # + the key's registration and the counter's update
    assert downgrade(migrated, "0003") == "0003"
    with migrated.engine.connect() as conn:
        assert (
            conn.execute(sa.text("SELECT secret FROM randomisation_secret")).scalar_one() == legacy
        )
        rows = conn.execute(
            sa.text("SELECT seq, hash, prev_hash FROM audit_trail ORDER BY seq")
        ).all()
    assert [r.seq for r in rows] == list(range(1, len(chain) + 3))
    assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:], strict=False))
    migrated.dispose()


def _schema(store):
    if store.is_sqlite:
        return None
    with store.engine.connect() as conn:
        return conn.execute(sa.text("SELECT current_schema()")).scalar_one()


def test_sqlite_files_are_created_owner_only(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'private.db'}")
    init_database(store)
    for name in ("private.db", "private.db-wal", "private.db-shm"):
        path = tmp_path / name
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, name
    store.dispose()
    loose = tmp_path / "loose.db"
    loose.touch(mode=0o644)
    loose.chmod(0o644)
    store = Store(f"sqlite:///{loose}", keys=KeyRing(tmp_path / "k2", tmp_path / "c2"))
    init_database(store)  # an existing world-readable file is tightened
    assert stat.S_IMODE(loose.stat().st_mode) == 0o600
    store.dispose()


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


def test_wal_autocheckpoint_is_sqlites_default_unless_a_bulk_load_asks(tmp_path):
    """SQLite's default is 1,000 pages (sqlite.org/pragma.html#pragma_wal_autocheckpoint); the
    demo's store asks for more; nonsense is refused before anything connects."""
    default = Store(f"sqlite:///{tmp_path / 'd.db'}")
    bulk = Store(f"sqlite:///{tmp_path / 'b.db'}", wal_autocheckpoint=20_000)
    for store, pages in ((default, 1000), (bulk, 20_000)):
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == pages
        store.dispose()
    with pytest.raises(ValueError, match="wal_autocheckpoint=0"):
        Store(f"sqlite:///{tmp_path / 'x.db'}", wal_autocheckpoint=0)


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


def test_the_key_may_come_from_the_environment_instead_of_a_file(tmp_path, monkeypatch):
    """TALENTOP_RANDOMISATION_KEY (64 hex digits): registered by init, no key file written,
    used by the key ring; a malformed value is refused without echoing it."""
    from talentop.errors import InvalidInput

    secret = bytes(range(100, 132))
    monkeypatch.setenv("TALENTOP_RANDOMISATION_KEY", secret.hex())
    keys = KeyRing(tmp_path / "keys", tmp_path / "checkpoints")
    store = Store(f"sqlite:///{tmp_path / 'env.db'}", keys=keys)
    result = init_database(store)
    assert result["key_id"] == key_id_of(secret)
    assert not list(keys.key_dir.glob("randomisation-*.key"))
    assert keys.checked_randomisation_key(result["key_id"], fingerprint_of(secret)) == secret
    store.dispose()
    monkeypatch.setenv("TALENTOP_RANDOMISATION_KEY", "not-hex-" + secret.hex())
    with pytest.raises(InvalidInput) as refused:
        keys.load_randomisation_key(result["key_id"])
    assert secret.hex() not in str(refused.value) and "<hidden>" in str(refused.value)
