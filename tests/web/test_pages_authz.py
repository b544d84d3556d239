"""Every page x every role x own site / other site, the expected status derived from the
permission table: each page route declares the service it calls (``web.session.page``),
whose action ``ROLE_ACTIONS`` grants or not, and ``READ_SCOPE`` decides whether the
patient is visible. Never listed by hand: a page added without a declared service fails
``test_every_page_declares_its_service``."""

from __future__ import annotations

import datetime as dt

import pytest
from web_helpers import Browser

from flow_helpers import CRITERIA_YES, PROTOCOL, day, to_assessed, to_randomised
from talentop import services as sv
from talentop.services.permissions import READ_SCOPE, ROLES, SERVICE_ACTIONS, allowed
from talentop.store import models as m
from talentop.web.session import PAGE_SERVICES

pytestmark = [pytest.mark.db, pytest.mark.slow]

OTHER_SITE = "coord_b"  # a coordinator of BJ02; the patient is at SH01
#: Pages whose allowed answer is not 200 on this trial: one randomised patient is too few
#: for an interim report (the page says so; the download is a 422).
ALLOWED_STATUS = {"/analysis/report.html": 422}


def _patient(trial) -> int:
    ctx = sv.Context(trial.store, PROTOCOL, "inv1")
    return to_randomised(ctx, "AUTHZ1")[0]


def _ids(trial, patient: int) -> dict[str, str]:
    """Real ids for the pages below a patient's record: an AE without an SAE report, one
    with, the screening record, a query on it; another patient's MDT vote and the lock of
    that patient."""
    store = trial.store
    inv = sv.Context(store, PROTOCOL, "inv1")
    bare = sv.record_adverse_event(inv, patient, day(80), term="Fatigue", grade=2, attribution="possible")  # fmt: skip
    serious = sv.record_adverse_event(inv, patient, day(81), term="Hepatic failure", grade=4, attribution="possible")  # fmt: skip
    at = dt.datetime.combine(day(81), dt.time(9))
    sae = sv.report_sae(inv, serious, criteria=["hospitalisation"], awareness_at=at, reported_at=at, causality={"atezolizumab": "possible", "bevacizumab": "unlikely"})  # fmt: skip
    with store.unit_of_work() as session:
        screening = session.query(m.Screening).filter_by(patient_id=patient).one().id
    monitor = sv.Context(store, PROTOCOL, trial.users["monitor"])
    query = sv.raise_query(monitor, "screenings", screening, "record.ecog", "ECOG 0 on source?")
    voter = sv.Context(store, PROTOCOL, trial.users["mdt_member"])
    other = to_assessed(inv, "AUTHZ2")
    sv.cast_mdt_vote(voter, other, day(72), resectable=True, reason="R0 feasible", criteria=CRITERIA_YES)  # fmt: skip
    with store.unit_of_work() as session:
        ballot = session.query(m.MdtBallot).filter_by(patient_id=other).one().id
    dm = sv.Context(store, PROTOCOL, trial.users["data_manager"])
    lock = sv.lock_records(dm, "patient", reason="cleaned", patient_id=other)
    return {
        "{ballot_id}": str(ballot),
        "{lock_id}": str(lock["lock_id"]),
        "{ae_id}": str(bare),
        "{sae_id}": str(sae["sae_id"]),
        "{entity}": "screenings",
        "{entity_id}": str(screening),
        "{query_id}": str(query["query_id"]),
    }


def _url(path: str, patient: int, ids: dict[str, str]) -> str:
    url = path.replace("{patient_id}", str(patient))
    for placeholder, value in ids.items():
        url = url.replace(placeholder, value)
    return url


def expected(role: str, service: str, *, patient_page: bool, other_site: bool) -> int:
    """200 when the role grants the service's action and (for a patient's page) the patient
    is in the role's read scope; else 403."""
    if not allowed(role, SERVICE_ACTIONS[service]):
        return 403
    if patient_page:
        scope = READ_SCOPE[role]
        if other_site and scope in ("site", "assigned"):
            return 403
        if scope == "mdt":  # a randomised patient without an open flag awaits no MDT review
            return 403
    return 200


def test_every_page_declares_its_service(web_trial):
    app = web_trial.app
    undeclared = []
    for route in app.routes:
        path = getattr(route, "path", "")
        if path.startswith(("/api/", "/static", "/login", "/logout", "/account")) or not hasattr(route, "methods"):  # fmt: skip
            continue
        for method in route.methods - {"HEAD"}:
            if (method, path) not in PAGE_SERVICES:
                undeclared.append((method, path))
    assert undeclared == []
    assert all(service in SERVICE_ACTIONS for service in PAGE_SERVICES.values())


@pytest.mark.parametrize("role", [*ROLES, OTHER_SITE])
def test_each_role_opens_exactly_the_pages_it_may(web_trial, role):
    patient = _patient(web_trial)
    ids = _ids(web_trial, patient)
    username = web_trial.users.get(role, role)
    real_role = "coordinator" if role == OTHER_SITE else role
    b = Browser(web_trial)
    assert b.login(username).status_code == 303
    wrong = []
    for (method, path), service in sorted(PAGE_SERVICES.items()):
        if method != "GET":
            continue
        url = _url(path, patient, ids)
        want = expected(real_role, service, patient_page="{patient_id}" in path, other_site=role == OTHER_SITE)  # fmt: skip
        want = ALLOWED_STATUS.get(path, want) if want == 200 else want
        got = b.get(url).status_code
        if got != want:
            wrong.append((url, service, want, got))
    assert wrong == [], "\n".join(map(str, wrong))


@pytest.mark.parametrize("role", ROLES)
def test_a_role_without_the_action_cannot_post_and_nothing_is_written(web_trial, role):
    patient = _patient(web_trial)
    b = Browser(web_trial)
    assert b.login(web_trial.users[role]).status_code == 303
    before = sv.verify(web_trial.store).rows
    wrong = []
    for (method, path), service in sorted(PAGE_SERVICES.items()):
        if method != "POST" or allowed(role, SERVICE_ACTIONS[service]):
            continue
        url = path.replace("{patient_id}", str(patient))
        got = b.post(url, {"on_date": "2025-01-01", "reason": "x"}).status_code
        if got != 403:
            wrong.append((url, got))
    assert wrong == [], "\n".join(map(str, wrong))
    # logins write their own audit rows; nothing else may have been added
    after = sv.verify(web_trial.store)
    assert after.ok and after.rows == before


def test_without_a_session_every_page_sends_to_the_login_page(web_trial):
    b = Browser(web_trial)
    for (method, path), _ in sorted(PAGE_SERVICES.items()):
        url = path.replace("{patient_id}", "1")
        response = b.get(url) if method == "GET" else b.post(url, {}, csrf=False)
        assert response.status_code == 303, url
        assert response.headers["location"].startswith("/login?why=login")
