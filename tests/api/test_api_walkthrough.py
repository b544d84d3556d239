"""A newcomer walks one patient from registration to randomisation over HTTP, as with curl:
log in, register, record consent, screen, baseline lesions, induction doses, assessment (RECIST computed),
close induction, three MDT members vote, randomise (once, even when retried), and is
refused with a problem+json every time they step outside their role or site."""

from __future__ import annotations

import pytest

from flow_helpers import CRITERIA_YES, LESIONS, PROTOCOL, day
from patient_records import ELIGIBLE
from talentop import services as sv
from talentop.services import identity
from trial_builder import PASSWORD

pytestmark = pytest.mark.db


def login(client, username, password=PASSWORD):
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    client.cookies.clear()  # these tests use the bearer token, as curl would
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_walk_one_patient_to_randomisation(api_trial):
    client = api_trial.client()
    system = sv.Context(api_trial.store, PROTOCOL, "system")
    for name, specialty in (("onc_a", "hepatologist_or_oncologist"), ("rad_a", "radiologist")):
        identity.create_account(system, name, "mdt_member", PASSWORD, specialty=specialty)
    coord = login(client, "coordinator_a")
    inv = login(client, "investigator_a")

    r = client.post(
        "/api/v1/patients",
        headers=coord,
        json={
            "site_code": "SH01",
            "pseudo_id": "W001",
            "registered_on": day(-14).isoformat(),
            "sex": "M",
            "birth_year": "1966",  # 58 at screening (ELIGIBLE.age_years)
        },
    )
    assert r.status_code == 201 and r.headers["location"].endswith(
        f"/patients/{r.json()['patient_id']}"
    )
    pid = r.json()["patient_id"]
    # Informed consent before any screening procedure (ICH E6(R3) 2.8.7).
    r = client.post(
        f"/api/v1/patients/{pid}/consents",
        headers=coord,
        json={
            "consented_on": day(-14).isoformat(),
            "form_version": "1.0",
            "obtained_by": "Dr Chen",
            "scopes": ["treatment", "follow_up", "data_use", "biobank"],
        },
    )
    assert r.status_code == 201, r.text
    # One field wrong first: a clear 422 naming it, nothing stored.
    bad = {**ELIGIBLE, "ecog": "zero"}
    r = client.post(
        f"/api/v1/patients/{pid}/screening",
        headers=coord,
        json={"screened_on": day(-7).isoformat(), "record": bad},
    )
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert any(e["field"] == "ecog" for e in r.json()["errors"]), r.json()
    r = client.post(
        f"/api/v1/patients/{pid}/screening",
        headers=coord,
        json={"screened_on": day(-7).isoformat(), "record": ELIGIBLE},
    )
    assert r.status_code == 201 and r.json()["verdict"] == "eligible", r.json()
    r = client.post(
        f"/api/v1/patients/{pid}/baseline-lesions",
        headers=coord,
        json={"baseline_date": day(-7).isoformat(), "lesions": LESIONS},
    )
    assert r.status_code == 201
    # A coordinator does not start treatment: 403 naming the role and the roles that may.
    r = client.post(
        f"/api/v1/patients/{pid}/induction", headers=coord, json={"on": day(0).isoformat()}
    )
    assert r.status_code == 403 and "investigator" in r.json()["detail"]
    assert (
        client.post(
            f"/api/v1/patients/{pid}/induction", headers=inv, json={"on": day(0).isoformat()}
        ).status_code
        == 201
    )
    for cycle in PROTOCOL.induction.cycles:
        for dose in cycle.drugs:
            mg = dose.dose if dose.dose_unit == "mg" else dose.dose * 70
            r = client.post(
                f"/api/v1/patients/{pid}/doses",
                headers=coord,
                json={
                    "cycle": cycle.number,
                    "drug": dose.drug,
                    "dose_given_mg": mg,
                    "given_on": day(21 * (cycle.number - 1)).isoformat(),
                    "weight_kg": "70",
                },
            )
            assert r.status_code == 201, r.text
    r = client.post(
        f"/api/v1/patients/{pid}/assessments",
        headers=coord,
        json={
            "visit_date": day(70).isoformat(),
            "target": {"T1": 36.0, "T2": 24.0},
            "non_target": {"N1": "present"},
        },
    )
    assert r.status_code == 201
    recist = r.json()["recist"]
    assert (
        recist["timepoints"][-1]["overall_response"] == "PR"
        and recist["depth_of_response_pct"] == -40.0
    )
    # mRECIST reads the viable diameters (baseline 50 + 30 mm; unchanged here: 36 + 24 mm
    # default to the RECIST values) -> 60/80 = -25 %: SD.
    assert r.json()["mrecist"]["timepoints"][-1]["overall_response"] == "SD"
    # Doing things out of order is a 409 naming the state and the rule.
    r = client.post(
        f"/api/v1/patients/{pid}/randomisation",
        headers=inv,
        json={"randomised_on": day(72).isoformat()},
    )
    assert r.status_code == 409 and r.json()["state"] == "induction" and r.json()["rule"]
    assert (
        client.post(
            f"/api/v1/patients/{pid}/assessment-completion",
            headers=inv,
            json={"on": day(71).isoformat()},
        ).status_code
        == 201
    )
    decided = None
    for member in ("mdt_member_a", "onc_a", "rad_a"):
        r = client.post(
            f"/api/v1/patients/{pid}/mdt-votes",
            headers=login(client, member),
            json={
                "vote_date": day(72).isoformat(),
                "resectable": True,
                "reason": f"{member}: R0 feasible",
                "criteria": CRITERIA_YES,
            },
        )
        assert r.status_code == 201, r.text
        decided = r.json()
    assert decided["decided"] and decided["resectable"]
    # Another site's coordinator cannot see or touch the patient.
    other = login(client, "coord_b")
    assert client.get(f"/api/v1/patients/{pid}", headers=other).status_code == 403
    assert (
        client.post(
            f"/api/v1/patients/{pid}/labs",
            headers=other,
            json={"sampled_on": day(72).isoformat(), "test": "albumin", "value": 38, "unit": "g/L"},
        ).status_code
        == 403
    )
    # Randomise with an idempotency key; the network retry returns the same allocation.
    headers = {**inv, "Idempotency-Key": "rand-W001-1"}
    first = client.post(
        f"/api/v1/patients/{pid}/randomisation",
        headers=headers,
        json={"randomised_on": day(73).isoformat()},
    )
    again = client.post(
        f"/api/v1/patients/{pid}/randomisation",
        headers=headers,
        json={"randomised_on": day(73).isoformat()},
    )
    assert first.status_code == again.status_code == 201
    assert again.headers.get("idempotent-replayed") == "true"
    assert first.json() == again.json() and first.json()["arm"] in ("A", "B")
    record = client.get(f"/api/v1/patients/{pid}/randomisation", headers=inv).json()
    assert (
        record["arm"] == first.json()["arm"]
        and record["allocation_number"] == first.json()["randomisation_id"]
    )
    # The record the randomisation answered with (built from the rows it wrote) is the one
    # read back.
    assert first.json()["allocation"] == record
    # Without the key a second randomisation is refused: never two allocations.
    assert (
        client.post(
            f"/api/v1/patients/{pid}/randomisation",
            headers=inv,
            json={"randomised_on": day(73).isoformat()},
        ).status_code
        == 409
    )
    timeline = client.get(f"/api/v1/patients/{pid}/timeline", headers=inv).json()
    assert {r["entered_by"] for r in timeline["records"]} >= {
        "coordinator_a",
        "investigator_a",
        "mdt_member_a",
    }
    assert sv.verify(api_trial.store).ok


def test_cookie_session_needs_the_csrf_token_for_writes(api_trial):
    client = api_trial.client()
    r = client.post("/api/v1/auth/login", json={"username": "coordinator_a", "password": PASSWORD})
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    csrf = r.json()["csrf_token"]
    assert client.get("/api/v1/patients").status_code == 200  # the cookie authenticates reads
    body = {"site_code": "SH01", "pseudo_id": "C1", "registered_on": day(0).isoformat()}
    before = sv.verify(api_trial.store).rows
    r = client.post("/api/v1/patients", json=body)
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    assert sv.verify(api_trial.store).rows == before  # nothing written
    assert (
        client.post("/api/v1/patients", json=body, headers={"X-CSRF-Token": "0" * 64}).status_code
        == 403
    )
    assert (
        client.post("/api/v1/patients", json=body, headers={"X-CSRF-Token": csrf}).status_code
        == 201
    )
    r = client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json()["logged_out"]
    assert client.get("/api/v1/patients").status_code == 401


def test_login_failures_are_uniform_and_lock(api_trial):
    client = api_trial.client()
    details = set()
    for _ in range(5):
        r = client.post(
            "/api/v1/auth/login",
            json={"username": "coordinator_a", "password": "wrong wrong wrong"},
        )
        assert r.status_code == 401
        details.add(r.json()["detail"])
    r = client.post("/api/v1/auth/login", json={"username": "coordinator_a", "password": PASSWORD})
    assert r.status_code == 401 and r.json()["detail"] in details
    r = client.post("/api/v1/auth/login", json={"username": "nobody", "password": PASSWORD})
    assert r.json()["detail"] in details and len(details) == 1


def test_tokens_through_the_api(api_trial):
    client = api_trial.client()
    headers = login(client, "statistician_a")
    r = client.post(
        "/api/v1/auth/tokens", headers=headers, json={"name": "etl", "expires_in_days": 7}
    )
    assert r.status_code == 201
    token = r.json()["token"]
    listed = client.get("/api/v1/auth/tokens", headers=headers).json()
    assert token not in str(listed) and listed[0]["name"] == "etl"
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/auth/me", headers=bearer).json()["role"] == "statistician"
    csv = client.get("/api/v1/exports/adtte.csv", headers=bearer)
    assert csv.status_code == 200 and csv.text.startswith("STUDYID") or csv.text.splitlines()[0]
    assert (
        client.delete(f"/api/v1/auth/tokens/{r.json()['token_id']}", headers=headers).status_code
        == 200
    )
    assert client.get("/api/v1/auth/me", headers=bearer).status_code == 401


def test_problem_details_and_request_ids(api_trial):
    client = api_trial.client()
    headers = api_trial.as_role("admin")
    r = client.get("/api/v1/patients/999999", headers=headers)
    assert r.status_code == 404
    body = r.json()
    assert (
        body["type"].startswith("urn:talentop:problem:")
        and body["instance"] == "/api/v1/patients/999999"
    )
    assert body["request_id"] == r.headers["x-request-id"]
    r = client.get("/api/v1/patients", headers={**headers, "X-Request-ID": "trace-42"})
    assert r.headers["x-request-id"] == "trace-42"
    r = client.get("/api/v1/patients?limit=0", headers=headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.limit"
    assert (
        r.headers["x-frame-options"] == "DENY"
        and "frame-ancestors 'none'" in r.headers["content-security-policy"]
    )
    spec = client.get("/api/v1/openapi.json").json()
    assert (
        spec["paths"]["/api/v1/patients/{patient_id}/randomisation"]["post"]["x-talentop-action"]
        == "randomise"
    )


def test_log_lines_carry_request_ids_and_never_secrets(api_trial, caplog):
    import logging

    client = api_trial.client()
    with caplog.at_level(logging.INFO, logger="talentop"):
        r = client.post("/api/v1/auth/login", json={"username": "admin_a", "password": PASSWORD})
        token = r.json()["token"]
        client.get(f"/api/v1/patients?q={token}", headers={"Authorization": f"Bearer {token}"})
        client.post(
            "/api/v1/auth/login", json={"username": "admin_a", "password": "wrong password 1"}
        )
    text = "\n".join(f"{rec.getMessage()} {rec.__dict__}" for rec in caplog.records)
    assert PASSWORD not in text and token not in text and "wrong password 1" not in text
    access = [rec for rec in caplog.records if rec.name == "talentop.api.access"]
    assert access and all(len(rec.request_id) == 32 for rec in access)


def test_each_worker_process_logs_its_requests(tmp_path, monkeypatch):
    """`talentop serve --workers N` builds each worker's app with ``create_app_from_env`` in
    a fresh process, where no logging is set up: the factory sets up the JSON access log
    itself (before, a worker's request lines were dropped)."""
    import json as _json
    import logging

    from fastapi.testclient import TestClient

    from talentop.api.app import create_app_from_env
    from talentop.store import Store, init_database

    url = f"sqlite:///{tmp_path / 'trial.db'}"
    monkeypatch.setenv("TALENTOP_KEY_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("TALENTOP_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    store = Store(url)
    init_database(store)
    store.dispose()
    monkeypatch.setenv("TALENTOP_DATABASE_URL", url)
    talentop_logger = logging.getLogger("talentop")
    saved = (talentop_logger.handlers[:], talentop_logger.level, talentop_logger.propagate)
    talentop_logger.handlers[:] = []
    try:
        app = create_app_from_env()
        (handler,) = talentop_logger.handlers
        lines = []
        monkeypatch.setattr(
            handler, "stream", type("S", (), {"write": lines.append, "flush": lambda self: None})()
        )
        with TestClient(app) as client:
            r = client.get("/api/v1/patients", headers={"X-Request-ID": "worker-log-1"})
        assert r.status_code == 401
        logged = [_json.loads(line) for line in "".join(lines).splitlines()]
        assert any(
            entry.get("request_id") == "worker-log-1" and entry.get("status") == 401
            for entry in logged
        )
    finally:
        talentop_logger.handlers[:], talentop_logger.level, talentop_logger.propagate = saved
        app.state.talentop.store.dispose()
