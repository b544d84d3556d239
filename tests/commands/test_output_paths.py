"""Output paths (issue 18): an --out that is a file, a place that cannot be written, or a
disk that fills up during a write is a message naming the path (exit code 2), never a
traceback; the database is left as it was and nothing half-written stays behind."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from typer.testing import CliRunner

from talentop.cli import app

pytestmark = pytest.mark.db
runner = CliRunner()


def _message(result) -> str:
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return " ".join(result.output.split())


def _has(message: str, expected: str) -> bool:
    """``expected`` in the message, ignoring where the console wrapped the long paths."""
    return "".join(expected.split()) in "".join(message.split())


@pytest.fixture
def database(tmp_path):
    url = f"sqlite:///{tmp_path / 'trial.db'}"
    assert runner.invoke(app, ["db", "init", "--url", url]).exit_code == 0
    return url


def _audit_rows(url: str) -> int:
    from talentop.store import Store, queries
    from talentop.store.models import AuditEntry

    store = Store(url)
    try:
        with store.unit_of_work() as session:
            return queries.count(session, AuditEntry)
    finally:
        store.dispose()


def test_export_to_an_existing_file_names_it(tmp_path, database):
    target = tmp_path / "adtte.csv"
    target.write_text("keep me")
    result = runner.invoke(app, ["export", "adtte", "--url", database, "--out", str(target)])
    assert result.exit_code == 2
    assert _has(_message(result), f"--out={str(target)!r}: is an existing file; expected a folder")
    assert target.read_text() == "keep me"


def test_export_under_a_file_names_it(tmp_path, database):
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    result = runner.invoke(
        app, ["export", "adtte", "--url", database, "--out", str(blocker / "sub")]
    )
    assert result.exit_code == 2
    assert _has(_message(result), f"{blocker} is a file, not a folder")


def test_a_full_disk_during_export_is_named_and_leaves_nothing_behind(
    tmp_path, database, monkeypatch
):
    import talentop.endpoints as endpoints

    def full(frame, path, *args, **kwargs):
        Path(path).write_text("half a fi")  # a partial write, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(endpoints, "to_csv", full)
    before = _audit_rows(database)
    out = tmp_path / "out"
    result = runner.invoke(app, ["export", "adtte", "--url", database, "--out", str(out)])
    message = _message(result)
    assert result.exit_code == 2
    assert "cannot write:" in message and _has(message, "adtte.csv: No space left on device")
    assert "the disk is full" in message
    assert list(out.iterdir()) == []  # neither adtte.csv nor the staging folder
    assert _audit_rows(database) == before


def test_fields_template_never_overwrites_and_names_a_full_disk(tmp_path, monkeypatch):
    existing = tmp_path / "template.csv"
    existing.write_text("mine")
    result = runner.invoke(app, ["fields", "--template", str(existing)])
    assert result.exit_code == 2 and "already exists; expected a new file (or --force)" in (
        _message(result)
    )
    assert existing.read_text() == "mine"

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(Path, "open", full)
    result = runner.invoke(app, ["fields", "--template", str(tmp_path / "new.csv")])
    assert result.exit_code == 2
    assert _has(_message(result), f"{tmp_path / 'new.csv'}: No space left on device")


def test_demo_out_that_is_a_file_is_refused_before_any_work(tmp_path):
    target = tmp_path / "report"
    target.write_text("")
    result = runner.invoke(app, ["demo", "--out", str(target), "--patients", "10"])
    assert result.exit_code == 2 and "is an existing file; expected a folder" in _message(result)
