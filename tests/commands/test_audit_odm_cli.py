"""`talentop audit history --patient ID --odm FILE` and `talentop export odm --with-audit`:
the patient's records with their audit trail as a CDISC ODM 1.3.2 file that validates
against the vendored XSD and whose transactions replay to the patient's history."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from flow_helpers import PROTOCOL, context, day, to_assessed
from odm_helpers import changes, history_as_replayed, load_odm_schema
from talentop import services as sv
from talentop.cli import app
from talentop.services.data import history_rows
from talentop.store import Store, init_database
from talentop.store import models as m

pytestmark = pytest.mark.db

runner = CliRunner()


def _json(output: str) -> dict:
    return json.loads(output[output.index("{") :])


def test_audit_history_odm_and_export_odm_with_audit(empty_database_url, tmp_path):
    url = empty_database_url
    store = Store(url)
    init_database(store)
    ctx = context(store)
    pid = to_assessed(ctx, "CLI1")
    lab = sv.record_lab(ctx, pid, sampled_on=day(60), test="albumin", value=3.7, unit="g/L")
    sv.correct_record(
        ctx, "labs", lab, {"value": 37}, reason="g/dL typed as g/L", category="transcription_error"
    )
    store.dispose()

    out = tmp_path / "p.odm.xml"
    r = runner.invoke(
        app,
        ["audit", "history", "--patient", str(pid), "--odm", str(out), "--validate", "--json"]
        + ["--url", url],
    )
    assert r.exit_code == 0, r.output
    result = _json(r.output)
    assert result["validated"] and result["subjects"] == 1 and result["path"] == str(out)
    xml = out.read_text(encoding="utf-8")
    assert list(load_odm_schema().iter_errors(xml)) == []
    store = Store(url)
    system = sv.Context(store, PROTOCOL, "system")
    history = history_rows(system, pid)
    assert changes(xml) == history_as_replayed(history)
    assert result["changes"] == len(history)

    both = tmp_path / "all.odm.xml"
    r = runner.invoke(
        app, ["export", "odm", "--out", str(both), "--with-audit", "--json", "--url", url]
    )
    assert r.exit_code == 0, r.output
    assert changes(both.read_text(encoding="utf-8")) == history_as_replayed(history)
    with store.read_only() as session:
        assert session.query(m.AuthEvent).filter_by(kind="audit_exported").count() == 2
    store.dispose()

    r = runner.invoke(
        app, ["export", "odm", "--out", str(both), "--patient", str(pid), "--url", url]
    )
    assert r.exit_code != 0 and "--with-audit" in r.output
    r = runner.invoke(
        app, ["audit", "history", "--patient", str(pid), "--odm", str(tmp_path), "--url", url]
    )
    assert r.exit_code != 0 and "expected a file name" in r.output
    r = runner.invoke(app, ["audit", "verify", "--url", url])
    assert r.exit_code == 0, r.output
