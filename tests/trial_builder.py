"""A trial behind the REST API (used by the API and the page tests): two sites, one login per role, patients at both sites.

Roles at site SH01 (coordinator, data_manager, investigator, surgeon), without a site
(admin, mdt_member, statistician), and a monitor assigned to SH01; a coordinator and an
investigator of BJ02. Every test gets its own database (SQLite, and PostgreSQL when
``TALENTOP_TEST_POSTGRES_URL`` is set).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi.testclient import TestClient

from flow_helpers import PROTOCOL, context
from talentop import services as sv
from talentop.api import create_app
from talentop.services import identity
from talentop.services.permissions import ROLES

PASSWORD = "correct horse battery staple"
INVESTIGATOR = "inv1"  # what flow_helpers.context creates at SH01
NO_SITE = ("admin", "mdt_member", "statistician", "monitor")
SPECIALTY = {"mdt_member": "hepatobiliary_surgeon"}


@dataclass
class ApiTrial:
    store: object
    app: object
    users: dict[str, str] = field(default_factory=dict)  # role -> username at SH01 (or none)

    def client(self) -> TestClient:
        return TestClient(self.app, raise_server_exceptions=False)

    def login(self, username: str, password: str = PASSWORD) -> dict[str, str]:
        """Authorization header of a fresh session of ``username``."""
        result = identity.login(self.store, username, password)
        return {"Authorization": f"Bearer {result.session_token}"}

    def as_role(self, role: str) -> dict[str, str]:
        return self.login(self.users[role])


def username(role: str) -> str:
    """The SH01 (or site-less) account ``seed_trial`` creates for ``role``."""
    return f"{role}_a"


def seed_trial(store) -> None:
    """The trial's sites and accounts, written through the services."""
    context(store, INVESTIGATOR)  # SH01, inv1 (investigator), mdt1, surgeon1, stat1
    system = sv.Context(store, PROTOCOL, "system")
    sv.create_site(system, "BJ02", "Beijing")
    for role in ROLES:
        identity.create_account(
            system,
            username(role),
            role,
            PASSWORD,
            site_code=None if role in NO_SITE else "SH01",
            specialty=SPECIALTY.get(role),
        )
    identity.change_role(system, username("monitor"), assigned_sites=["SH01"])
    identity.create_account(system, "coord_b", "coordinator", PASSWORD, site_code="BJ02")
    identity.create_account(system, "inv_b", "investigator", PASSWORD, site_code="BJ02")


def trial_on(store) -> ApiTrial:
    """The app over a store ``seed_trial`` wrote, with the role -> username map."""
    trial = ApiTrial(store, create_app(store, PROTOCOL))
    trial.users.update({role: username(role) for role in ROLES})
    trial.users["_ctx"] = INVESTIGATOR
    return trial


def build_trial(store) -> ApiTrial:
    seed_trial(store)
    return trial_on(store)
