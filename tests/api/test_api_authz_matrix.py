"""The authorisation matrix: every role x every route x own site / other site, plus no
credentials, an expired session and a revoked token. The expected status is derived from
the permission table (``ROLE_ACTIONS``, ``READ_SCOPE``) and the service each route declares
in OpenAPI (``x-talentop-service``), never listed by hand: a route added without a declared
service fails ``test_every_route_declares_its_service``."""

from __future__ import annotations

import datetime as dt

import pytest

from flow_helpers import CRITERIA_YES, PROTOCOL, day, to_assessed
from talentop import services as sv
from talentop.services import identity
from talentop.services.permissions import (
    READ_SCOPE,
    ROLES,
    SERVICE_ACTIONS,
    WRITE_ACTIONS,
    allowed,
)
from trial_builder import build_trial

pytestmark = [pytest.mark.db, pytest.mark.slow]

D = day(80).isoformat()
#: A body of the right shape for each service (the services may still refuse it by state).
BODIES = {
    "create_site": {"code": "ZZ01", "name": "Test site"},
    "create_user": {
        "username": "newuser",
        "role": "coordinator",
        "password": "another long password",
    },
    "register_patient": {"site_code": "SH01", "pseudo_id": "NEW1", "registered_on": D},
    "screen_patient": {"screened_on": D, "record": {"ecog": 0}},
    "record_lab": {"sampled_on": D, "test": "albumin", "value": 38, "unit": "g/L"},
    "record_imaging": {"study_date": D, "modality": "CT", "vp_grade": "Vp3"},
    "start_induction": {"on": D},
    "record_dose": {"cycle": 1, "drug": "atezolizumab", "dose_given_mg": 1200, "given_on": D},
    "record_lesions_baseline": {
        "baseline_date": D,
        "lesions": [{"id": "T9", "kind": "target", "organ": "liver", "diameter_mm": 30}],
    },
    "record_assessment": {
        "visit_date": D,
        "target": {"T1": 30, "T2": 20},
        "non_target": {"N1": "present"},
    },
    "complete_assessment": {"on": D},
    "decline_randomisation": {"on": D, "reason": "patient preference"},
    "cast_mdt_vote": {
        "vote_date": D,
        "resectable": True,
        "reason": "R0 feasible",
        "criteria": CRITERIA_YES,
    },
    "record_mdt_review": {
        "review_date": D,
        "votes": [
            {
                "member": "x",
                "specialty": "radiologist",
                "resectable": True,
                "reason": "r",
                "criteria": CRITERIA_YES,
            }
        ],
    },
    "record_resectability": {"assessed_on": D, "criteria": CRITERIA_YES, "context": "reassessment"},
    "record_local_therapy": {"performed_on": D, "therapy": "tace", "target_lesions": ["T1"]},
    "record_local_therapy_response": {"assessed_on": D, "response": "PR"},
    "randomise": {"randomised_on": D},
    "flag_for_resectability_review": {"flagged_on": D, "reason": "shrinking"},
    "switch_to_surgery": {"switch_date": D, "mdt_review_id": 1, "reason": "resectable"},
    "record_surgery": {
        "surgery_date": D,
        "procedure": "right hepatectomy",
        "margin": "R0",
        "blood_loss_ml": 300,
    },
    "record_complication": {"onset_date": D, "description": "bile leak", "clavien_dindo": "II"},
    "record_biospecimen": {"collected_on": D, "specimen_type": "blood"},
    "start_maintenance": {"on": D},
    "record_adverse_event": {
        "onset_date": D,
        "term": "Hypertension",
        "grade": 2,
        "attribution": "probable",
    },
    "record_follow_up": {"contact_date": D},
    "record_death": {"death_date": D, "cause": "HCC"},
    "record_new_therapy": {"start_date": D, "description": "lenvatinib"},
    "record_discontinuation": {"stop_date": D, "reason": "progression"},
    "record_deviation": {
        "deviation_date": D,
        "category": "visit_window",
        "description": "late visit",
    },
    "record_consent": {
        "consented_on": D,
        "form_version": "1.0",
        "obtained_by": "Dr Chen",
        "scopes": ["treatment", "follow_up", "data_use"],
    },
    "withdraw_consent": {"withdrawn_on": D, "scopes": ["biobank"], "reason": "changed mind"},
    "report_sae": {
        "adverse_event_id": 1,
        "criteria": ["hospitalisation"],
        "awareness_at": f"{D}T09:00:00Z",
        "causality": {"atezolizumab": "possible", "bevacizumab": "unlikely"},
    },
    "record_sae_follow_up": {"info_received_at": f"{D}T10:00:00Z", "description": "recovering"},
    "record_expedited_report": {"reported_on": D},
    "record_conmed": {"start_date": D, "name": "Entecavir", "indication": "hepatitis B"},
    "record_medical_history": {"recorded_on": D, "condition": "Chronic hepatitis B"},
    "correct_record": {"changes": {"value": 40}, "reason": "source", "category": "other"},
    "raise_query": {"entity": "labs", "entity_id": 999999, "field": "value", "text": "unit?"},
    "answer_query": {"text": "checked"},
    "close_query": {"text": "resolved"},
    "reopen_query": {"text": "again"},
    "run_checks": {},
    "verify_form": {"entity": "labs", "entity_id": 999999},
    "lock_records": {"scope": "record", "reason": "freeze", "entity": "labs", "entity_id": 999999},
    "unlock_records": {"reason": "done"},
    "sign": {"target": "mdt_vote", "meaning": "entered", "password": "x", "target_id": "999999"},
}
UNAUTHENTICATED_OK = {("post", "/api/v1/auth/login")}


def routes(app):
    """(method, path template, service) of every API route from the OpenAPI document."""
    out = []
    for path, ops in app.openapi()["paths"].items():
        for method, op in ops.items():
            out.append((method, path, op.get("x-talentop-service")))
    return out


def expected_refused(role: str, service: str, patient_site: str | None) -> bool:
    """Whether the permission table refuses ``role`` the route's service for a patient of
    the user's own site ("own"), another site ("other") or no patient (None). Patients in
    this matrix are assessed and awaiting their MDT review."""
    action = SERVICE_ACTIONS[service]
    if not allowed(role, action):
        return True
    if patient_site != "other":
        return False
    has_site = role not in ("admin", "mdt_member", "statistician", "monitor")
    if action in WRITE_ACTIONS:
        return has_site
    scope = READ_SCOPE[role]
    return {"site": has_site, "assigned": True, "mdt": False, "all": False}[scope]


#: Routes that name their patient in the query string instead of the path.
PATIENT_IN_QUERY = {"/api/v1/audit/entries"}


def patient_route(path: str) -> bool:
    return "{patient_id}" in path or path in PATIENT_IN_QUERY


def fill(path: str, patient_id: int | None) -> str:
    if path in PATIENT_IN_QUERY and patient_id is not None:
        return f"{path}?patient_id={patient_id}"
    return (
        path.replace("{patient_id}", str(patient_id))
        .replace("{username}", "coord_b")
        .replace("{token_id}", "999999")
        .replace("{query_id}", "999999")
        .replace("{lock_id}", "999999")
        .replace("{therapy_id}", "999999")
        .replace("{entity}", "labs")
        .replace("{entity_id}", "999999")
        .replace("{role}", "coordinator")
        .replace("{sae_id}", "999999")
    )


def call(client, method, path, headers, service):
    body = BODIES.get(service or "", {})
    if method in ("get", "delete"):
        return client.request(method.upper(), path, headers=headers)
    if path.endswith("/policy"):
        body = {"require_totp": False}
    if path.endswith("/password"):
        body = {"new_password": "reset long password"}
    if path.startswith("/api/v1/users/") and method == "patch":
        body = {"active": True}
    return client.request(method.upper(), path, headers=headers, json=body)


@pytest.fixture
def matrix_trial(store):
    trial = build_trial(store)
    system = sv.Context(store, PROTOCOL, "system")
    inv_a = sv.Context(store, PROTOCOL, "investigator_a")
    inv_b = sv.Context(store, PROTOCOL, "inv_b")
    trial.patients = {}
    for role in ROLES:
        trial.patients[role] = {
            "own": to_assessed(inv_a, f"A-{role}"),
            "other": to_assessed(inv_b, f"B-{role}", site_code="BJ02"),
        }
    assert system
    return trial


def test_every_route_declares_its_service(api_trial):
    for method, path, service in routes(api_trial.app):
        if path.startswith("/api/v1/auth/"):
            assert service is None, path  # any signed-in user: their own account
            continue
        assert service in SERVICE_ACTIONS, f"{method} {path} declares no x-talentop-service"


def test_role_x_route_x_site(matrix_trial):
    trial, client = matrix_trial, matrix_trial.client()
    failures = []
    checked = 0
    table = sorted(routes(trial.app), key=lambda r: (r[0] != "get", r[1]))  # reads first
    for role in ROLES:
        headers = trial.as_role(role)
        for method, path, service in table:
            if service is None:
                continue
            sites = ("own", "other") if patient_route(path) else (None,)
            for site in sites:
                pid = trial.patients[role][site] if site else None
                response = call(client, method, fill(path, pid), headers, service)
                checked += 1
                refused = expected_refused(role, service, site)
                got = response.status_code
                ok = got == 403 if refused else got not in (401, 403) and got < 500
                if not ok:
                    failures.append(
                        f"{role} {method.upper()} {path} [{site}]: {got} (expected {'403' if refused else 'not 401/403'}) {response.text[:160]}"
                    )
                if got == 403:
                    assert response.headers["content-type"].startswith("application/problem+json")
    assert not failures, f"{len(failures)} of {checked}:\n" + "\n".join(failures[:40])
    assert checked > 400
    assert sv.verify(trial.store).ok


def test_no_credentials_expired_session_revoked_token_are_401(api_trial):
    trial, client = api_trial, api_trial.client()
    past = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(hours=1)
    expired = identity.login(
        trial.store, "admin_a", "correct horse battery staple", now=lambda: past
    )
    admin = sv.Context(trial.store, PROTOCOL, "admin_a")
    token = identity.create_token(admin, "soon revoked")
    identity.revoke_token(admin, token["token_id"])
    credentials = {
        "none": {},
        "expired session": {"Authorization": f"Bearer {expired.session_token}"},
        "revoked token": {"Authorization": f"Bearer {token['token']}"},
        "garbage": {"Authorization": "Bearer nonsense"},
        "system": {"Authorization": "Bearer system"},
    }
    for method, path, service in routes(trial.app):
        if (method, path) in UNAUTHENTICATED_OK:
            continue
        for label, headers in credentials.items():
            response = call(client, method, fill(path, 1), headers, service)
            assert response.status_code == 401, (
                f"{label}: {method} {path} -> {response.status_code}"
            )
            assert response.json()["status"] == 401
            assert response.headers["www-authenticate"].startswith("Bearer")
