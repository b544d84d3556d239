"""`talentop safety ...` and `talentop export odm | dataset-json` end to end, on SQLite and
PostgreSQL (the database chosen by ``TALENTOP_DATABASE_URL`` as a user would)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from flow_helpers import context, day, to_randomised
from talentop import services as sv
from talentop.cli import app
from talentop.store import Store, init_database

pytestmark = pytest.mark.db
runner = CliRunner()


@pytest.fixture
def trial(empty_database_url, monkeypatch):
    monkeypatch.setenv("TALENTOP_DATABASE_URL", empty_database_url)
    store = Store(empty_database_url)
    init_database(store)
    ctx = context(store)
    pid, _ = to_randomised(ctx)
    ae = sv.record_adverse_event(ctx, pid, day(80), term="Hepatic failure", grade=4,
                                 attribution="possible")  # fmt: skip
    sae = sv.report_sae(ctx, ae, criteria=["life_threatening"],
                        awareness_at=dt.datetime(2025, 3, 27, 9),
                        reported_at=dt.datetime(2025, 3, 28, 21),
                        causality={"atezolizumab": "possible", "bevacizumab": "unlikely"})  # fmt: skip
    sv.record_deviation(ctx, pid, day(81), category="visit_window", description="late scan")
    sv.record_conmed(ctx, pid, day(10), stop_date=day(30), name="Heparin", indication="DVT")
    store.dispose()
    return sae["sae_id"]


def invoke(*args):
    result = runner.invoke(app, list(args))
    return result


def test_safety_commands(trial, tmp_path):
    out = invoke("safety", "saes", "--json")
    assert out.exit_code == 0, out.output
    listing = json.loads(out.stdout)
    assert listing[0]["susar"] and not listing[0]["on_time"]
    out = invoke("safety", "overdue", "--json")
    # The SUSAR's 7-day expedited report (due 2025-04-04) was never sent: exit 1 for cron.
    assert out.exit_code == 1 and json.loads(out.stdout)[0]["kind"] == "expedited_report_missing"
    form = tmp_path / "sae.html"
    out = invoke("safety", "form", str(trial), "--out", str(form))
    assert out.exit_code == 0 and "Hepatic failure" in form.read_text()
    out = invoke("safety", "deviations", "--summary", "--json")
    assert json.loads(out.stdout)["total"] == 1
    out = invoke("safety", "medication", "--json")
    assert [a["rule"] for a in json.loads(out.stdout)] == ["anticoagulant_with_bevacizumab"]
    out = invoke("safety", "reconsent", "--json")
    assert out.exit_code == 0 and json.loads(out.stdout) == []
    assert invoke("safety", "form", "999", "--out", str(form)).exit_code != 0


def test_export_odm_and_dataset_json(trial, tmp_path):
    out = invoke("export", "odm", "--out", str(tmp_path / "odm.xml"), "--validate", "--json")
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    assert result["validated"] and result["subjects"] == 1
    out = invoke("export", "dataset-json", "--out", str(tmp_path), "--cutoff", "2025-09-01")
    assert out.exit_code == 0, out.output
    assert "ADTTE: 4 records" in out.stdout and "ADAE: 1 records" in out.stdout
    assert json.loads((tmp_path / "adae.json").read_text())["datasetJSONVersion"] == "1.1.0"
