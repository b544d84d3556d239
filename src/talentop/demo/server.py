"""`talentop serve --demo`: a fresh in-silico trial to try the API and the pages on.

The synthetic cohort of `talentop demo` (smaller by default, so the server starts in
seconds) goes through the real services into a new SQLite database; then one login per
role is made with a fresh random password, printed once for the newcomer. Nothing here is
for a real trial: a real server starts from `talentop db init` and `talentop user add`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from talentop.demo.pipeline import (
    FIRST_SCREENING,
    data_cut,
    fresh_sqlite,
    seed_randomisation_secret,
)

#: (username, role, home site or None, specialty, note) of the demo logins. Site codes are
#: the demo cohort's (``generate_cohort``); MDT members and the investigator already exist.
DEMO_LOGINS = (
    ("admin", "admin", None, None, "everything: users, sites, every site's patients"),
    ("coord_zs", "coordinator", "ZS", None, "registers and screens at site ZS"),
    ("inv_zs", "investigator", "ZS", None, "treats and randomises at site ZS"),
    ("dr_surgeon_1", "mdt_member", None, "hepatobiliary_surgeon", "MDT vote (surgeon)"),
    ("dr_oncologist", "mdt_member", None, "hepatologist_or_oncologist", "MDT vote (oncologist)"),
    ("dr_radiologist", "mdt_member", None, "radiologist", "MDT vote (radiologist)"),
    ("surgeon_zs", "surgeon", "ZS", None, "records surgery at site ZS"),
    ("monitor_zs", "monitor", None, None, "reads site ZS and its audit trail"),
    ("dm_zs", "data_manager", "ZS", None, "queries, edit checks and locks at site ZS"),
    ("stats", "statistician", None, None, "reads every site pseudonymised; ADTTE"),
    ("coord_fd2", "coordinator", "FD2", None, "site FD2: refused site ZS's patients"),
)


@dataclass(frozen=True)
class DemoTrial:
    url: str
    logins: list[tuple[str, str, str, str]]  # username, role, password, note
    patients: int
    keys: object  # talentop.store.keys.KeyRing: the demo's key and checkpoint folders


def prepare(folder: Path, *, n_patients: int = 60, seed: int = 2025, progress=None) -> DemoTrial:
    """Build the demo trial in ``folder`` and return its URL and the printed logins."""
    from talentop.demo.cohort import generate_cohort
    from talentop.demo.outcomes import outcome_model
    from talentop.demo.run import run_cohort
    from talentop.protocol import load_protocol
    from talentop.services import Context, identity
    from talentop.store import Store, queries
    from talentop.store.keys import KeyRing

    folder = Path(folder)
    url = fresh_sqlite(folder / "talentop-serve-demo.db")
    keys = KeyRing.from_environment(folder / "keys", folder / "checkpoints")
    store = Store(url, keys=keys)
    seed_randomisation_secret(store, seed)
    protocol = load_protocol("talentop")
    model = outcome_model()
    cohort = generate_cohort(n_patients, seed=seed, first_screening=FIRST_SCREENING, model=model)
    run_cohort(cohort, store, protocol, cutoff_date=data_cut(model), model=model, progress=progress)
    system = Context(store, protocol, "system")
    logins = []
    for username, role, site, specialty, note in DEMO_LOGINS:
        password = "demo-" + secrets.token_urlsafe(12)
        with store.unit_of_work() as session:
            exists = queries.user_by_name(session, username) is not None
        if exists:
            identity.change_password(system, password, username=username)
        else:
            identity.create_account(
                system, username, role, password, site_code=site, specialty=specialty
            )
        if role == "monitor":
            identity.change_role(system, username, assigned_sites=["ZS"])
        logins.append((username, role, password, note))
    store.dispose()
    return DemoTrial(url, logins, n_patients, keys)
