"""The audit trail as CDISC ODM 1.3.2 over the REST API: a monitor downloads one patient's
records with their audit trail, the file validates against the vendored ODM 1.3.2 XSD and
its transactions replay to the patient's history; a data manager downloads a site's; the
downloads are logged; roles without ``read_audit`` and other sites are refused."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from flow_helpers import PROTOCOL, day, to_assessed
from odm_helpers import NS, changes, history_as_replayed, load_odm_schema
from talentop import services as sv
from talentop.services.data import history_rows
from talentop.store import models as m

pytestmark = pytest.mark.db


def test_patient_and_site_audit_odm(api_trial):
    client = api_trial.client()
    inv = sv.Context(api_trial.store, PROTOCOL, "investigator_a")
    pid = to_assessed(inv, "AO1")
    other = to_assessed(sv.Context(api_trial.store, PROTOCOL, "inv_b"), "AO2", site_code="BJ02")
    coord = api_trial.as_role("coordinator")
    lab = client.post(
        f"/api/v1/patients/{pid}/labs",
        headers=coord,
        json={"sampled_on": day(60).isoformat(), "test": "albumin", "value": 39, "unit": "g/L"},
    ).json()["lab_id"]
    r = client.post(
        f"/api/v1/records/labs/{lab}/corrections",
        headers=coord,
        json={"changes": {"value": 37}, "reason": "lab re-ran", "category": "late_result"},
    )
    assert r.status_code == 201
    monitor = api_trial.as_role("monitor")
    r = client.get(f"/api/v1/patients/{pid}/audit.odm.xml?validate=true", headers=monitor)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    assert "audit-patient-" in r.headers["content-disposition"]
    schema = load_odm_schema()
    assert list(schema.iter_errors(r.text)) == []
    history = history_rows(sv.Context(api_trial.store, PROTOCOL, "monitor_a"), pid)
    assert changes(r.text) == history_as_replayed(history)
    assert [
        (row["old"], row["new"], row["reason"])
        for row in changes(r.text)
        if row["entity"] == "labs" and row["field"] == "value"
    ] == [(None, 39.0, None), (39.0, 37.0, "late_result: lab re-ran")]

    assert client.get(f"/api/v1/patients/{pid}/audit.odm.xml", headers=coord).status_code == 403
    assert client.get(f"/api/v1/patients/{other}/audit.odm.xml", headers=monitor).status_code == 403
    r = client.get("/api/v1/audit/odm.xml?site=BJ02", headers=monitor)
    assert r.status_code == 403
    dm = api_trial.as_role("data_manager")  # of SH01
    assert client.get("/api/v1/audit/odm.xml?site=BJ02", headers=dm).status_code == 403
    r = client.get("/api/v1/audit/odm.xml?site=BJ02", headers=api_trial.as_role("admin"))
    assert r.status_code == 200 and list(schema.iter_errors(r.text)) == []
    keys = [s.get("SubjectKey") for s in ET.fromstring(r.text).iterfind(".//odm:SubjectData", NS)]
    assert keys == ["TALENTOP-BJ02-AO2"]
    with api_trial.store.read_only() as session:
        logged = session.query(m.AuthEvent).filter_by(kind="audit_exported").all()
        assert [(e.username, e.detail.split(":")[0]) for e in logged] == [
            ("monitor_a", f"patient {pid}"),
            ("admin_a", "site BJ02"),
        ]
