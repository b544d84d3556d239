"""Data management from the command line (issue: clean data, provably): a monitor raises a
query, the site answers it with a correction, the monitor verifies the form and a data
manager locks it, the investigator signs; the patient's history shows every step and
`audit verify` passes. Each command acts as a named user whose password it asks for."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from flow_helpers import PROTOCOL, context, day, to_assessed
from talentop import services as sv
from talentop.cli import app
from talentop.services import identity
from talentop.store import Store, init_database

pytestmark = pytest.mark.db

PASSWORD = "correct horse battery staple"
runner = CliRunner()


def run(url, *args, user=None, password=PASSWORD):
    extra = ["--as", user, "--password-stdin"] if user else []
    result = runner.invoke(
        app, [*args, *extra, "--url", url], input=f"{password}\n" if user else None
    )
    return result


def test_query_correction_sdv_lock_sign_history_from_the_cli(empty_database_url):
    url = empty_database_url
    store = Store(url)
    init_database(store)
    ctx = context(store)
    system = sv.Context(store, PROTOCOL, "system")
    for name, role, site in (
        ("mon1", "monitor", None),
        ("coord1", "coordinator", "SH01"),
        ("dm1", "data_manager", None),
    ):
        identity.create_account(system, name, role, PASSWORD, site_code=site)
    identity.change_role(system, "mon1", assigned_sites=["SH01"])
    identity.change_password(system, PASSWORD, username="inv1")
    pid = to_assessed(ctx, "CLI1")
    lab = sv.record_lab(ctx, pid, sampled_on=day(60), test="albumin", value=3.7, unit="g/L")
    store.dispose()

    r = run(
        url, "query", "raise", "labs", str(lab), "value", "3.7 g/L: unit?", "--json", user="mon1"
    )
    assert r.exit_code == 0, r.output
    query = json.loads(r.output[r.output.index("{") :])["query_id"]
    r = run(
        url, "query", "answer", str(query), "source: 37 g/L", "--set", "value=37", user="coord1"
    )
    assert r.exit_code == 0 and "corrected ['value']" in r.output, r.output
    assert run(url, "query", "close", str(query), "fine", user="mon1").exit_code == 0
    assert run(url, "sdv", "labs", str(lab), user="mon1").exit_code == 0
    r = run(
        url,
        "lock",
        "record",
        "--entity",
        "labs",
        "--entity-id",
        str(lab),
        "--reason",
        "clean",
        user="dm1",
    )
    assert r.exit_code == 0 and "lock id" in r.output, r.output
    r = run(
        url,
        "sign",
        "case_report",
        "--meaning",
        "approved",
        "--patient",
        str(pid),
        "--milestone",
        "end_of_induction",
        user="inv1",
    )
    assert r.exit_code == 0 and "UTC, approved" in r.output, r.output
    # Refusals: a wrong password, a monitor correcting data.
    r = run(url, "query", "list", user="mon1", password="wrong password")
    assert r.exit_code == 1 and "login failed" in r.output
    r = run(
        url,
        "correct",
        "labs",
        str(lab),
        "--set",
        "value=38",
        "--reason",
        "x",
        "--category",
        "other",
        user="mon1",
    )
    assert r.exit_code == 1 and "PermissionDenied" in r.output
    r = run(url, "query", "list", "--json", user="coord1")
    listed = json.loads(r.output[r.output.index("{") :])
    assert [h["action"] for h in listed["items"][0]["history"]] == ["raise", "answer", "close"]
    r = runner.invoke(app, ["audit", "history", "--patient", str(pid), "--json", "--url", url])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output[r.output.index("[") :])
    corrected = [
        row
        for row in rows
        if row["entity"] == "labs" and row["field"] == "value" and row["action"] == "update"
    ]
    assert (
        corrected[0]["old"] == 3.7
        and corrected[0]["new"] == 37.0
        and "source: 37 g/L" in corrected[0]["reason"]
    )
    r = runner.invoke(app, ["audit", "verify", "--url", url])
    assert r.exit_code == 0, r.output
