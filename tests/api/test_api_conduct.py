"""Consent, SAE reports, deviations, medication and the exports over HTTP: screening before
consent is a 409 naming the rule (ICH E6(R3) 2.8.7); an SAE report answers with its 24-hour
clock and SUSAR flag (ICH E2A); the SAE form is printable HTML; the ODM export is XML."""

from __future__ import annotations

import pytest

from flow_helpers import day
from patient_records import ELIGIBLE

pytestmark = pytest.mark.db


def test_consent_safety_and_exports_over_http(api_trial):
    client = api_trial.client()
    coord, inv, stat = (
        api_trial.as_role(r) for r in ("coordinator", "investigator", "statistician")
    )
    r = client.post("/api/v1/patients", headers=coord,
                    json={"site_code": "SH01", "pseudo_id": "H001", "registered_on": day(-14).isoformat()})  # fmt: skip
    pid = r.json()["patient_id"]
    r = client.post(f"/api/v1/patients/{pid}/screening", headers=coord,
                    json={"screened_on": day(-7).isoformat(), "record": ELIGIBLE})  # fmt: skip
    assert r.status_code == 409 and r.json()["rule"].startswith("informed consent before any")
    r = client.post(f"/api/v1/patients/{pid}/consents", headers=coord,
                    json={"consented_on": day(-14).isoformat(), "form_version": "1.0",
                          "obtained_by": "Dr Chen", "scopes": ["treatment", "follow_up", "data_use"]})  # fmt: skip
    assert r.status_code == 201 and r.json()["kind"] == "initial"
    r = client.post(f"/api/v1/patients/{pid}/screening", headers=coord,
                    json={"screened_on": day(-7).isoformat(), "record": ELIGIBLE})  # fmt: skip
    assert r.status_code == 201 and r.json()["verdict"] == "eligible"
    r = client.post(f"/api/v1/patients/{pid}/adverse-events", headers=inv,
                    json={"onset_date": day(-5).isoformat(), "term": "Hepatic failure", "grade": 4,
                          "attribution": "possible"})  # fmt: skip
    ae = r.json()["adverse_event_id"]
    r = client.post("/api/v1/sae-reports", headers=inv,
                    json={"adverse_event_id": ae, "criteria": ["life_threatening"],
                          "awareness_at": f"{day(-5)}T09:00:00+08:00",
                          "reported_at": f"{day(-4)}T03:00:00Z",
                          "causality": {"atezolizumab": "possible", "bevacizumab": "unlikely"}})  # fmt: skip
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["hours_to_report"] == 26.0 and not body["on_time"] and body["susar"]
    assert r.headers["location"] == f"/api/v1/sae-reports/{body['sae_id']}"
    form = client.get(f"/api/v1/sae-reports/{body['sae_id']}/form", headers=inv)
    assert form.status_code == 200 and form.headers["content-type"].startswith("text/html")
    assert "Serious adverse event report" in form.text and "2.0 h late" in form.text
    listing = client.get("/api/v1/sae-reports", headers=stat).json()
    assert [s["term"] for s in listing] == ["Hepatic failure"] and "narrative" not in listing[0]
    r = client.post(f"/api/v1/patients/{pid}/deviations", headers=inv,
                    json={"deviation_date": day(-4).isoformat(), "category": "sae_reporting",
                          "description": "initial report 2 h late",
                          "preventive_action": "retraining"})  # fmt: skip
    assert r.status_code == 201, r.text
    summary = client.get("/api/v1/deviations/summary", headers=inv).json()
    assert summary["major"] == 1
    r = client.post(f"/api/v1/patients/{pid}/conmeds", headers=coord,
                    json={"start_date": day(-300).isoformat(), "name": "Warfarin",
                          "indication": "atrial fibrillation"})  # fmt: skip
    assert r.status_code == 201 and r.json()["drug_class"] == "anticoagulant"
    r = client.post(f"/api/v1/patients/{pid}/consent-withdrawals", headers=coord,
                    json={"withdrawn_on": day(-3).isoformat(), "scopes": ["data_use"]})  # fmt: skip
    assert r.json()["withdrawn"] == ["treatment", "follow_up", "data_use"]
    r = client.post(f"/api/v1/patients/{pid}/labs", headers=coord,
                    json={"sampled_on": day(-2).isoformat(), "test": "albumin", "value": 38, "unit": "g/L"})  # fmt: skip
    assert r.status_code == 409 and "withdrew consent" in r.json()["detail"]
    odm = client.get("/api/v1/exports/odm.xml", headers=stat)
    assert odm.status_code == 200 and odm.headers["content-type"].startswith("application/xml")
    assert 'ODMVersion="1.3.2"' in odm.text and "Hepatic failure" in odm.text
    adae = client.get("/api/v1/exports/adae.json", headers=stat)
    assert adae.status_code == 200 and adae.json()["records"] == 1
    assert client.get("/api/v1/exports/odm.xml", headers=inv).status_code == 403
