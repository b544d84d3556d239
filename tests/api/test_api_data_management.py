"""Data management over the REST API: a monitor raises a query, the site answers it with a
correction, the monitor verifies and a data manager locks the form, the investigator signs
the case report; every step is in the patient's audit history, and audit verify passes.
Edit checks on save: a query by default; in "warn" mode the save is refused until the user
gives a comment."""

from __future__ import annotations

import pytest

from flow_helpers import PROTOCOL, day, to_assessed
from talentop import services as sv
from trial_builder import PASSWORD

pytestmark = pytest.mark.db


def test_monitor_query_site_correction_sdv_lock_and_signature(api_trial):
    client = api_trial.client()
    inv = sv.Context(api_trial.store, PROTOCOL, "investigator_a")
    pid = to_assessed(inv, "DM1")
    coord = api_trial.as_role("coordinator")
    monitor = api_trial.as_role("monitor")
    dm = api_trial.as_role("data_manager")
    investigator = api_trial.as_role("investigator")
    r = client.post(
        f"/api/v1/patients/{pid}/labs",
        headers=coord,
        json={"sampled_on": day(60).isoformat(), "test": "albumin", "value": 3.9, "unit": "g/L"},
    )
    assert r.status_code == 201
    lab = r.json()["lab_id"]
    # The albumin range check fired on save: an edit-check query is open on the field.
    assert [f["check"] for f in r.json()["edit_checks"]] == ["albumin_range"]
    r = client.post(
        "/api/v1/queries",
        headers=monitor,
        json={"entity": "labs", "entity_id": lab, "field": "value", "text": "3.9 g/L: g/dL?"},
    )
    assert r.status_code == 201
    query = r.json()["query_id"]
    r = client.post(
        f"/api/v1/queries/{query}/answer",
        headers=coord,
        json={
            "text": "source says 39 g/L",
            "correction": {"value": 39},
            "category": "transcription_error",
        },
    )
    assert r.status_code == 200 and r.json()["state"] == "answered"
    assert r.json()["correction"]["changed"]["value"] == {"old": 3.9, "new": 39.0}
    assert (
        client.post(f"/api/v1/queries/{query}/close", headers=monitor, json={"text": "ok"}).json()[
            "state"
        ]
        == "closed"
    )
    assert (
        client.post(
            "/api/v1/verifications", headers=monitor, json={"entity": "labs", "entity_id": lab}
        ).status_code
        == 201
    )
    r = client.post(
        "/api/v1/locks",
        headers=dm,
        json={"scope": "record", "entity": "labs", "entity_id": lab, "reason": "cleaned"},
    )
    assert r.status_code == 201
    r = client.post(
        f"/api/v1/records/labs/{lab}/corrections",
        headers=coord,
        json={"changes": {"value": 40}, "reason": "x", "category": "other"},
    )
    assert r.status_code == 409 and "cleaned" in r.json()["rule"]
    r = client.post(
        "/api/v1/signatures",
        headers=investigator,
        json={
            "target": "case_report",
            "meaning": "approved",
            "password": PASSWORD,
            "patient_id": pid,
            "milestone": "end_of_induction",
        },
    )
    assert r.status_code == 201 and r.json()["status"] == "valid"
    status = client.get(f"/api/v1/patients/{pid}/data-status", headers=monitor).json()
    lab_form = next(f for f in status["forms"] if f["entity"] == "labs" and f["entity_id"] == lab)
    assert lab_form["sdv"] == "verified" and lab_form["locked"]
    history = client.get(f"/api/v1/patients/{pid}/audit?limit=500", headers=monitor).json()["items"]
    entities = {h["entity"] for h in history}
    assert {
        "data_queries",
        "query_events",
        "corrections",
        "verifications",
        "record_locks",
        "signatures",
    } <= entities
    csv_text = client.get(f"/api/v1/patients/{pid}/audit.csv", headers=monitor).text
    assert f"transcription_error: query {query}: source says 39 g/L" in csv_text
    assert client.get("/api/v1/audit/verify", headers=api_trial.as_role("admin")).json()["ok"]


def test_edit_checks_warn_mode_refuses_until_a_comment(api_trial):
    client = api_trial.client()
    inv = sv.Context(api_trial.store, PROTOCOL, "investigator_a")
    pid = to_assessed(inv, "DM2")
    coord = api_trial.as_role("coordinator")
    body = {"sampled_on": day(60).isoformat(), "test": "albumin", "value": 3.9, "unit": "g/L"}
    before = sv.verify(api_trial.store).rows
    r = client.post(
        f"/api/v1/patients/{pid}/labs", headers={**coord, "X-Edit-Checks": "warn"}, json=body
    )
    assert r.status_code == 409 and r.json()["warnings"][0]["check"] == "albumin_range"
    assert sv.verify(api_trial.store).rows == before  # nothing was saved
    r = client.post(
        f"/api/v1/patients/{pid}/labs",
        headers={
            **coord,
            "X-Edit-Checks": "warn",
            "X-Check-Comment": "confirmed with the lab: 3.9",
        },
        json=body,
    )
    assert r.status_code == 201 and r.json()["edit_checks"][0]["check"] == "albumin_range"
    queries = client.get(f"/api/v1/queries?patient_id={pid}", headers=coord).json()
    assert queries["total"] == 0  # acknowledged with a comment: no query
