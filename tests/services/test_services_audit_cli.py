"""`talentop audit checkpoint|prove|check-proof` and `talentop db rotate-key` end to end
(SQLite and PostgreSQL; keys and checkpoints in the test's own folders)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flow_helpers import context, randomisation_secret, to_randomised
from talentop.cli import app

pytestmark = pytest.mark.db
runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, list(args), env={"COLUMNS": "300"})


def test_checkpoint_prove_check_and_rotate(empty_database_url, monkeypatch, tmp_path):
    from talentop.store import Store

    monkeypatch.setenv("TALENTOP_DATABASE_URL", empty_database_url)
    init = invoke("db", "init", "--json")
    assert init.exit_code == 0, init.output
    public_key = json.loads(init.output)["log_public_key"]
    store = Store(empty_database_url)
    _, arm = to_randomised(context(store))
    secret = randomisation_secret(store)
    store.dispose()

    signed = invoke("audit", "checkpoint")
    assert signed.exit_code == 0, signed.output
    folder = Path(os.environ["TALENTOP_CHECKPOINT_DIR"])
    newest = sorted(folder.glob("*.checkpoint"))[-1].read_text()
    assert newest in signed.output  # printed exactly as signed (never wrapped)

    proof_file = tmp_path / "proof.json"
    proved = invoke("audit", "prove", "--randomisation", "1", "--out", str(proof_file))
    assert proved.exit_code == 0, proved.output
    proof = json.loads(proof_file.read_text())
    assert proof["entry"]["entity"] == "randomisations"
    assert json.loads(proof["entry"]["after"])["arm"] == arm
    checked = invoke("audit", "check-proof", str(proof_file), "--public-key", public_key, "--json")
    assert checked.exit_code == 0 and json.loads(checked.output)["entity_id"] == "1"
    other = "B" if arm == "A" else "A"
    proof["entry"]["after"] = proof["entry"]["after"].replace(f'"arm":"{arm}"', f'"arm":"{other}"')
    proof_file.write_text(json.dumps(proof))
    forged = invoke(
        "audit", "check-proof", str(proof_file), "--public-key", str(folder / "log.pub")
    )
    assert forged.exit_code == 1 and "not in the signed tree" in forged.output

    rotated = invoke("db", "rotate-key", "--json")
    assert rotated.exit_code == 0, rotated.output
    key_file = Path(json.loads(rotated.output)["key_file"])
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    verified = invoke("audit", "verify")
    assert verified.exit_code == 0 and "not yet covered" in verified.output
    outputs = init.output + signed.output + proved.output + rotated.output + verified.output
    assert secret.hex() not in outputs and key_file.read_text().strip() not in outputs


def test_prove_needs_exactly_one_selector(empty_database_url, monkeypatch):
    monkeypatch.setenv("TALENTOP_DATABASE_URL", empty_database_url)
    result = invoke("audit", "prove")
    assert (
        result.exit_code == 2 and "exactly one of --entry N and --randomisation ID" in result.output
    )
