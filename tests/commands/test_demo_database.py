"""`talentop demo --db`: the database must be empty (checked before anything is written),
and its password never appears in any output (text or --json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from talentop.cli import app

runner = CliRunner()


def test_a_non_empty_database_is_refused_before_anything_is_written(empty_database_url, tmp_path):
    from talentop.store import Store, init_database

    store = Store(empty_database_url)
    init_database(store)
    with store.engine.connect() as conn:
        before = conn.execute(sa.text("SELECT count(*) FROM audit_trail")).scalar_one()
    out = tmp_path / "report"
    result = runner.invoke(app, ["demo", "--db", empty_database_url, "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "an empty database (it already has tables; nothing was written)" in " ".join(
        result.output.split()
    )
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM audit_trail")).scalar_one() == before
        assert conn.execute(sa.text("SELECT count(*) FROM randomisation_keys")).scalar_one() == 1
    store.dispose()
    assert not out.exists()


@pytest.mark.parametrize("as_json", [False, True])
def test_the_database_password_is_never_printed(monkeypatch, tmp_path, as_json):
    """The summary (text and JSON) shows the URL with the password masked."""
    import talentop.demo.pipeline as pipeline

    url = "postgresql+psycopg://trial:s3cr3t-pw@db.example/talentop"

    class Result:
        report = tmp_path / "index.html"
        database_url = url
        seconds = 1.0
        figures: dict = {}  # noqa: RUF012
        dynamic = None

    monkeypatch.setattr(pipeline, "run_demo", lambda *a, **k: Result())
    monkeypatch.setattr("talentop.demo.analysis.published_rows", lambda *a, **k: [])
    args = ["demo", "--db", url, "--out", str(tmp_path)] + (["--json"] if as_json else [])
    result = runner.invoke(app, args, env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert "s3cr3t-pw" not in result.output
    assert "trial:***@db.example" in result.output


@pytest.mark.slow
@pytest.mark.db
def test_a_real_demo_into_postgresql_prints_no_password(empty_database_url, tmp_path):
    """A 60-patient demo into the test database (PostgreSQL when configured: its URL has a
    password) in --json: the URL is printed masked; the log verifies with the demo's keys."""
    from talentop.store import KeyRing, Store

    out = tmp_path / "report"
    result = runner.invoke(
        app, ["demo", "--db", empty_database_url, "--out", str(out), "--patients", "60", "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    password = sa.engine.make_url(empty_database_url).password
    if password:
        assert f":{password}@" not in result.output and ":***@" in payload["database_url"]
    keys = KeyRing(Path(out) / "talentop-demo-keys", Path(out) / "talentop-demo-checkpoints")
    store = Store(empty_database_url, keys=keys)
    from talentop.services import verify

    report = verify(store)
    store.dispose()
    assert report.ok and report.checkpoints >= 2 and report.uncovered == 0


@pytest.mark.slow
def test_a_demo_process_ends_with_its_database_complete_and_closed(tmp_path):
    """The console script (``main``: the process skips the interpreter's final collections
    after ``talentop demo``, ``cli.skip_final_collection``) leaves the SQLite database
    closed: no write-ahead log or shared-memory file beside it, so a copy of the ``.db``
    file alone holds every record; and the audit log verifies, every entry covered."""
    import subprocess
    import sys

    from talentop.demo.pipeline import demo_keyring
    from talentop.services import verify
    from talentop.store import Store

    out = tmp_path / "report"
    done = subprocess.run(
        [sys.executable, "-m", "talentop.cli", "demo", "--out", str(out), "--patients", "40"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    database = out / "talentop-demo.db"
    assert database.exists()
    assert not Path(f"{database}-wal").exists() and not Path(f"{database}-shm").exists()
    copy = tmp_path / "copy.db"
    copy.write_bytes(database.read_bytes())  # the .db file alone
    store = Store(f"sqlite:///{copy}", keys=demo_keyring(out, "talentop-demo"))
    try:
        report = verify(store)
    finally:
        store.dispose()
    assert report.ok and report.uncovered == 0 and report.rows > 100, report
