"""`talentop db`, `talentop audit verify`, `talentop export adtte` end to end (SQLite file)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import sqlalchemy as sa
from flow_helpers import PROTOCOL, context, day, to_randomised
from typer.testing import CliRunner

from talentop import services as sv
from talentop.cli import app
from talentop.store import Store

pytestmark = pytest.mark.db
runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, list(args))


@pytest.fixture
def url(tmp_path):
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_db_init_current_upgrade(url):
    first = invoke("db", "init", "--url", url, "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["secret_created"] is True
    assert (
        json.loads(invoke("db", "init", "--url", url, "--json").output)["secret_created"] is False
    )
    current = json.loads(invoke("db", "current", "--url", url, "--json").output)
    assert current["up_to_date"] is True and current["current"] == current["head"]
    upgraded = json.loads(invoke("db", "upgrade", "--url", url, "--json").output)
    assert upgraded["from"] == upgraded["to"] == current["head"]
    # The secret never appears in any output.
    store = Store(url)
    with store.engine.connect() as conn:
        secret = conn.execute(sa.text("SELECT secret FROM randomisation_secret")).scalar_one()
    store.dispose()
    assert secret.hex() not in first.output


def test_audit_verify_exit_codes_and_tamper_report(url):
    assert invoke("db", "init", "--url", url).exit_code == 0
    store = Store(url)
    ctx = context(store)
    to_randomised(ctx)
    ok = invoke("audit", "verify", "--url", url, "--json")
    assert ok.exit_code == 0 and json.loads(ok.output)["ok"] is True
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE randomisations SET arm = 'B'"))  # data edit: not audited
        conn.execute(sa.text("UPDATE audit_trail SET actor = 'mallory' WHERE seq = 7"))
        conn.execute(sa.text("DELETE FROM audit_trail WHERE seq = 12"))
    store.dispose()
    bad = invoke("audit", "verify", "--url", url, "--json")
    assert bad.exit_code == 1
    problems = {(p["seq"], p["kind"]) for p in json.loads(bad.output)["problems"]}
    assert problems == {(7, "edited"), (13, "gap"), (13, "broken_link")}
    human = invoke("audit", "verify", "--url", url)
    assert human.exit_code == 1
    assert all(word in human.output for word in ("3 problem(s)", "edited", "gap", "broken_link"))


def test_export_adtte_writes_readable_files(url, tmp_path):
    assert invoke("db", "init", "--url", url).exit_code == 0
    store = Store(url)
    ctx = context(store)
    pid, _ = to_randomised(ctx)
    sv.record_death(ctx, pid, day(200))
    store.dispose()
    out = tmp_path / "adtte"
    result = invoke(
        "export",
        "adtte",
        "--out",
        str(out),
        "--format",
        "both",
        "--cutoff",
        "2025-12-31",
        "--url",
        url,
        "--json",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["rows"] == 4
    xpt = pd.read_sas(out / "adtte.xpt", format="xport", encoding="utf-8")
    os_row = xpt[xpt.PARAMCD == "OS"].iloc[0]
    # pyreadstat writes 0 as an IBM float pandas reads back as ~5e-79, hence the tolerance.
    assert os_row.CNSR == pytest.approx(0, abs=1e-12) and os_row.AVAL == pytest.approx(
        (200 - 73) / (365.25 / 12), abs=1e-9
    )
    bad = invoke("export", "adtte", "--out", str(out), "--cutoff", "31/12/2025", "--url", url)
    assert bad.exit_code == 2 and "--cutoff='31/12/2025'" in bad.output
    assert PROTOCOL.id == "talentop"
