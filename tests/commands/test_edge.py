"""The CLI edge: a database URL that cannot be used is one message naming the URL (password
masked), the cause and a hint, exit code 2, never a traceback (QA findings 1 and 2)."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from talentop.cli import app
from talentop.commands._edge import EXIT_ERROR, EXIT_INVALID_INPUT, edge
from talentop.errors import DatabaseUnavailable, NotFound

runner = CliRunner()

REFUSED = "postgresql+psycopg://x:s3cret@127.0.0.1:1/z"
COMMANDS = [
    ["db", "init"],
    ["db", "upgrade"],
    ["db", "current"],
    ["audit", "verify"],
    ["export", "adtte", "--out", "o"],
]


def run(args, url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TALENTOP_DATABASE_URL", url)
    return runner.invoke(app, args)


def one_message(result) -> str:
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    return " ".join(result.output.split())  # undo Rich's line wrapping


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
@pytest.mark.parametrize(
    ("url", "shown", "cause"),
    [
        (REFUSED, "postgresql+psycopg://x:***@127.0.0.1:1/z", "connection refused"),
        ("garbage", "garbage", "not a database URL"),
        ("mysql://x", "mysql://x", "dialect 'mysql' not supported (supported are sqlite"),
        ("postgresql+asyncpg://u:pw@h/d", "postgresql+asyncpg://u:***@h/d", "driver 'asyncpg'"),
        ("sqlite:////nonexistent/dir/x.db", "sqlite:////nonexistent/dir/x.db", "folder"),
    ],
    ids=["refused", "garbage", "mysql", "asyncpg", "missing-folder"],
)
def test_unusable_url_is_one_message_with_exit_code_2(
    args, url, shown, cause, tmp_path, monkeypatch
):
    result = run(args, url, tmp_path, monkeypatch)
    message = one_message(result)
    assert result.exit_code == EXIT_INVALID_INPUT, message
    assert f"database unavailable: cannot use database {shown}: {cause}" in message
    assert "s3cret" not in message and "pw@" not in message
    assert list(tmp_path.iterdir()) == []  # nothing created, not even the --out folder


@pytest.mark.parametrize("args", [["audit", "verify"], ["export", "adtte", "--out", "o"]])
def test_read_commands_refuse_an_uninitialised_database_and_create_no_file(
    args, tmp_path, monkeypatch
):
    monkeypatch.delenv("TALENTOP_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, args)
    assert result.exit_code == EXIT_INVALID_INPUT
    assert (
        "no talentop database at sqlite:///talentop.db (schema not initialised): run "
        "talentop db init"
    ) in one_message(result)
    assert list(tmp_path.iterdir()) == []


def test_db_current_on_a_missing_file_reports_empty_without_creating_it(tmp_path, monkeypatch):
    monkeypatch.delenv("TALENTOP_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["db", "current"])
    assert result.exit_code == 0 and "(empty)" in result.output
    assert list(tmp_path.iterdir()) == []


def test_demo_db_goes_through_the_same_edge(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["demo", "--patients", "20", "--db", REFUSED, "--out", "r"])
    message = one_message(result)
    assert result.exit_code == EXIT_INVALID_INPUT, message
    assert "postgresql+psycopg://x:***@127.0.0.1:1/z: connection refused" in message
    assert "s3cret" not in message


def test_edge_exit_codes():
    @edge
    def unavailable():
        raise DatabaseUnavailable("sqlite:///x.db", "boom", "hint")

    @edge
    def missing():
        raise NotFound("patient 3 not found")

    with pytest.raises(typer.Exit) as caught:
        unavailable()
    assert caught.value.exit_code == EXIT_INVALID_INPUT
    with pytest.raises(typer.Exit) as caught:
        missing()
    assert caught.value.exit_code == EXIT_ERROR


def _strict(text: str):
    """Parse as a strict JSON reader does (jq, JavaScript's JSON.parse): no NaN/Infinity."""
    import json

    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_json_output_writes_what_cannot_be_estimated_as_null(capsys):
    """JSON has no NaN or Infinity (RFC 8259 section 6): Python's json writes them by
    default, and jq or a browser then refuses the whole payload."""
    import datetime as dt

    import numpy as np

    from talentop.commands._edge import print_json

    print_json(
        {
            "hr": float("nan"),
            "upper": float("inf"),
            "per_look": [1.5, float("-inf"), np.float64("nan")],
            "events": np.int64(3),
            "arms": np.array([0.25, np.nan]),
            "when": dt.date(2025, 3, 20),
            "nested": ({"p": np.float32("nan")},),
        }
    )
    assert _strict(capsys.readouterr().out) == {
        "hr": None,
        "upper": None,
        "per_look": [1.5, None, None],
        "events": 3,
        "arms": [0.25, None],
        "when": "2025-03-20",
        "nested": [{"p": None}],
    }
