"""`talentop serve --demo`: the newcomer's trial. Every printed login works over the API, each
role is refused outside its role or site with a problem+json, and the demo patients are there.

Issue 10, "Done when": a newcomer can `talentop serve --demo`, log in through the API with a
printed login, and is refused every time they step outside their role or site.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from talentop.api import create_app
from talentop.demo.server import DEMO_LOGINS, prepare
from talentop.store import Store

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve-demo")
    trial = prepare(folder, n_patients=24, seed=2025)
    store = Store(trial.url, keys=trial.keys)
    yield trial, TestClient(create_app(store, "talentop"), raise_server_exceptions=False)
    store.dispose()


def _login(client, username, password):
    r = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, (username, r.text)
    client.cookies.clear()
    return {"Authorization": f"Bearer {r.json()['token']}"}


def test_every_printed_login_works_and_has_its_role(demo):
    trial, client = demo
    assert [(u, r) for u, r, _p, _n in trial.logins] == [(u, r) for u, r, *_ in DEMO_LOGINS]
    passwords = [p for _u, _r, p, _n in trial.logins]
    assert len(set(passwords)) == len(passwords)  # fresh random password each
    for username, role, password, _note in trial.logins:
        me = client.get("/api/v1/auth/me", headers=_login(client, username, password))
        assert me.status_code == 200, me.text
        assert me.json()["role"] == role and me.json()["username"] == username


def test_site_staff_see_their_site_and_are_refused_the_other(demo):
    trial, client = demo
    logins = {u: p for u, _r, p, _n in trial.logins}
    zs = client.get(
        "/api/v1/patients?site=ZS", headers=_login(client, "coord_zs", logins["coord_zs"])
    )
    assert zs.status_code == 200 and zs.json()["total"] > 0
    one = zs.json()["items"][0]["patient_id"]
    fd2 = _login(client, "coord_fd2", logins["coord_fd2"])
    listed = client.get("/api/v1/patients", headers=fd2).json()["items"]
    assert one not in {p["patient_id"] for p in listed}
    refused = client.get(f"/api/v1/patients/{one}", headers=fd2)
    assert refused.status_code in (403, 404)
    assert refused.headers["content-type"].startswith("application/problem+json")
    # A monitor never writes clinical data; a statistician never registers.
    for user in ("monitor_zs", "stats"):
        r = client.post(
            "/api/v1/patients",
            headers=_login(client, user, logins[user]),
            json={
                "site_code": "ZS",
                "pseudo_id": "NEW1",
                "registered_on": "2024-06-01",
                "sex": "F",
                "birth_year": 1960,
            },
        )
        assert r.status_code == 403, (user, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    # The data manager of ZS runs the edit checks of its site.
    dm = _login(client, "dm_zs", logins["dm_zs"])
    assert client.get("/api/v1/queries", headers=dm).status_code == 200
