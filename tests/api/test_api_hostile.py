"""Hostile input over HTTP: injection strings are stored verbatim and returned exactly,
oversized strings and arrays, NaN/infinity, wrong types are a 422 naming the field, a body
over the size limit is a 413; nothing reaches the database half-written."""

from __future__ import annotations

import json

import pytest

from flow_helpers import PROTOCOL, consent, day
from talentop import services as sv

pytestmark = pytest.mark.db

HOSTILE = [
    "'; DROP TABLE patients; --",
    "Robert'); DELETE FROM audit_trail;--",
    "<script>alert('x')</script>",
    '"><img src=x onerror=alert(1)>',
    "{{7*7}} ${7*7} %s %n",
    "Zhāng Wěi 张伟 — ü ß ✓ 🩺",
    "\u202eRTL override",
    "line\nbreak\ttab",
    "back\\slash % _ wildcard",
]


@pytest.fixture
def client_and_patient(api_trial):
    client = api_trial.client()
    headers = api_trial.as_role("investigator")
    r = client.post(
        "/api/v1/patients",
        headers=headers,
        json={"site_code": "SH01", "pseudo_id": "H001", "registered_on": day(0).isoformat()},
    )
    pid = r.json()["patient_id"]
    consent(sv.Context(api_trial.store, PROTOCOL, "system"), pid, day(0))
    return client, headers, pid, api_trial


@pytest.mark.parametrize("text", HOSTILE)
def test_injection_strings_are_stored_verbatim_and_returned_exactly(client_and_patient, text):
    client, headers, pid, trial = client_and_patient
    r = client.post(
        f"/api/v1/patients/{pid}/new-therapies",
        headers=headers,
        json={"start_date": day(5).isoformat(), "description": text},
    )
    assert r.status_code == 201, r.text
    records = client.get(
        f"/api/v1/patients/{pid}/timeline?kind=new_therapies", headers=headers
    ).json()["records"]
    assert records[-1]["data"]["description"] == text
    # The pseudo id is searched literally (no SQL wildcard or injection).
    r = client.post(
        "/api/v1/patients",
        headers=headers,
        json={"site_code": "SH01", "pseudo_id": text[:64], "registered_on": day(0).isoformat()},
    )
    assert r.status_code == 201
    found = client.get("/api/v1/patients", headers=headers, params={"q": text[:64]}).json()
    assert [p["pseudo_id"] for p in found["items"]] == [text[:64]]
    assert sv.verify(trial.store).ok


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"start_date": day(5).isoformat(), "description": "x" * 1_000_000}, "description"),
        ({"start_date": "not a date", "description": "x"}, "start_date"),
        ({"start_date": 20250101, "description": "x"}, "start_date"),
        ({"start_date": day(5).isoformat(), "description": ["x"]}, "description"),
        ({"start_date": day(5).isoformat()}, "description"),
        ({"start_date": day(5).isoformat(), "description": "x", "extra": 1}, "extra"),
    ],
)
def test_bad_bodies_are_422_naming_the_field(client_and_patient, body, field):
    client, headers, pid, trial = client_and_patient
    before = sv.verify(trial.store).rows
    r = client.post(f"/api/v1/patients/{pid}/new-therapies", headers=headers, json=body)
    assert r.status_code == 422, r.text[:300]
    assert any(field in (e["field"] or "") for e in r.json()["errors"]), r.json()["errors"]
    assert len(r.content) < 5_000  # a megabyte is never echoed back
    assert sv.verify(trial.store).rows == before


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_nan_and_infinity_are_refused(client_and_patient, number):
    client, headers, pid, trial = client_and_patient
    raw = f'{{"sampled_on": "{day(5).isoformat()}", "test": "albumin", "value": {number}, "unit": "g/L"}}'
    r = client.post(
        f"/api/v1/patients/{pid}/labs",
        headers={**headers, "content-type": "application/json"},
        content=raw,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "value"


def test_huge_arrays_and_bodies(client_and_patient):
    client, headers, pid, trial = client_and_patient
    lesions = [
        {"id": f"T{i}", "kind": "target", "organ": "liver", "diameter_mm": 20}
        for i in range(10_000)
    ]
    r = client.post(
        f"/api/v1/patients/{pid}/baseline-lesions",
        headers=headers,
        json={"baseline_date": day(1).isoformat(), "lesions": lesions},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "lesions"
    big = json.dumps({"start_date": day(5).isoformat(), "description": "y" * (3 * 1024 * 1024)})
    r = client.post(
        f"/api/v1/patients/{pid}/new-therapies",
        headers={**headers, "content-type": "application/json"},
        content=big,
    )
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"
    r = client.post(
        f"/api/v1/patients/{pid}/labs",
        headers={**headers, "content-type": "application/json"},
        content=b"\xff\xfe not json",
    )
    assert r.status_code in (400, 422) and r.json()["status"] == r.status_code
    r = client.post(
        f"/api/v1/patients/{pid}/labs",
        headers={**headers, "content-type": "application/json"},
        content="[" * 100_000 + "]" * 100_000,
    )
    assert r.status_code in (400, 413, 422)  # 10^5-deep JSON: not parsed, never a 500


@pytest.mark.parametrize("value", ["2147483648", "-1", "0", "1e3", "abc"])
def test_path_ids_out_of_range_are_422_not_500(client_and_patient, value):
    client, headers, pid, trial = client_and_patient
    r = client.get(f"/api/v1/patients/{value}", headers=headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "path.patient_id"
