"""The data-management (issue 12) and conduct (issue 13) pages in Debian's Chromium: one
trial behind uvicorn for the whole module (each test its own patients), each page's happy
path by the role it is for and its security (another site's user gets the 403 page; a form
whose CSRF token was removed is refused with 403 and writes nothing); every new page fits
1280 and 390 px with a label on every input. Screenshots go to the test's folder.

Clinical facts the paths rest on: RECIST 1.1 (Eisenhauer 2009) Table 1, a decrease of at
least 30 % of the sum of diameters is PR (100 -> 60 mm is -40 %), less is SD (-22 %); ICH
E2A II.A seriousness criteria and II.C (an unexpected suspected serious reaction is a
SUSAR; hepatic failure is not in atezolizumab's reference safety information)."""

from __future__ import annotations

import re

import pytest
from browser_helpers import WIDTHS, Person, Server, Shots, check_page, open_each

from flow_helpers import PROTOCOL, to_assessed, to_induction
from talentop import services as sv
from talentop.store import models as m
from trial_builder import PASSWORD, build_trial

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.db]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One trial behind uvicorn for the module (its own SQLite file, key and checkpoint
    folders: the per-test folders of ``key_folders`` change under a module's store)."""
    from talentop.store import Store, init_database
    from talentop.store.keys import KeyRing

    folder = tmp_path_factory.mktemp("browser-data")
    keys = KeyRing(folder / "keys", folder / "checkpoints")
    store = Store(f"sqlite:///{folder / 'web.db'}", keys=keys)
    init_database(store)
    trial = build_trial(store)
    with Server(trial.app) as server:
        yield trial, server
    store.dispose()


@pytest.fixture(scope="module")
def people(chromium, served):
    """One logged-in window per person, shared by the module's tests."""
    _, server = served
    opened: dict[str, Person] = {}

    def person(username: str) -> Person:
        if username not in opened:
            opened[username] = Person(chromium, server.url)
            opened[username].login(username)
        return opened[username]

    yield person
    for p in opened.values():
        p.close()


def _without_csrf(person: Person, button: str) -> int:
    """Remove the form's CSRF token (and htmx's header), click ``button``: the status."""
    person.page.evaluate(
        "document.querySelectorAll('input[name=csrf_token]').forEach(e => e.remove());"
        "document.body.removeAttribute('hx-headers')"
    )
    with person.page.expect_response(lambda r: r.request.method == "POST") as posted:
        person.page.click(button)
    person.page.wait_for_load_state("load")
    assert "CSRF" in person.page.inner_text("main")
    return posted.value.status


def _count(store, model) -> int:
    with store.unit_of_work() as session:
        return session.query(model).count()


def _forbidden(person: Person, path: str, secret: str) -> None:
    response = person.go(path)
    assert response.status == 403 and "Not allowed" in person.page.inner_text("h1"), path
    assert secret not in person.page.content()


def test_query_correction_verification_lock_and_signature(served, people, tmp_path):
    trial, _ = served
    store = trial.store
    shots = Shots(tmp_path)
    pid = to_assessed(sv.Context(store, PROTOCOL, "investigator_a"), "BD-01")  # PR
    with store.unit_of_work() as session:
        lesion = session.query(m.Lesion).filter_by(patient_id=pid, code="T1").one()
        meas = session.query(m.LesionMeasurement).filter_by(lesion_id=lesion.id).one().id
    record = f"/patients/{pid}/records/lesion_measurements/{meas}"

    # the monitor raises a query on the size from the record page
    monitor = people("monitor_a")
    monitor.go(f"/patients/{pid}")
    monitor.submit(f"a[href='{record}']")
    monitor.fill("field", "diameter_mm")
    monitor.fill("text", "CRF 36 mm; the radiology report says 54 mm?")
    shots(monitor.page, "record")
    monitor.submit("button:text('Raise the query')")
    query_url = monitor.page.url.split("?")[0].removeprefix(monitor.base)
    assert monitor.page.inner_text("#query-state") == "open"

    # the coordinator finds it in the list, answers with the corrected value: PR -> SD
    coord = people("coordinator_a")
    coord.go("/queries?state=open")
    shots(coord.page, "queries")
    check_page(coord)
    coord.submit(f"#query-list a[href='{query_url}']")
    coord.fill("answer", "radiology report: 54 mm")
    coord.fill("value", "54")
    coord.fill("category", "transcription_error")
    coord.submit("#answer-button")
    assert coord.page.inner_text("#query-state") == "answered"
    after = coord.page.inner_text("#rederived-responses")
    assert "PR" in after and "SD" in after
    shots(coord.page, "query-answered")

    # the monitor closes the query and verifies the record; a data manager locks it
    monitor.go(query_url)
    monitor.fill("close_note", "matches the source")
    monitor.submit("#close-button")
    assert monitor.page.inner_text("#query-state") == "closed"
    monitor.go(record)
    monitor.submit("#verify-button")
    assert monitor.page.inner_text("#sdv-status").startswith("Status: verified")
    dm = people("data_manager_a")
    dm.go(record)
    dm.fill("reason", "cleaned for the interim")
    dm.submit("button:text('Lock this record')")
    assert "cleaned for the interim" in dm.page.inner_text("#record-locks")

    # the investigator signs the case report (password again)
    inv = people("investigator_a")
    inv.go(f"/patients/{pid}/sign")
    inv.fill("milestone", "end_of_induction")
    inv.fill("meaning", "approved")
    inv.fill("password", PASSWORD)
    shots(inv.page, "sign")
    check_page(inv)
    inv.submit("main button[type=submit]")
    signatures = inv.page.inner_text("#signatures")
    assert "valid" in signatures and "approved" in signatures

    # security: another site's coordinator; a correction without its CSRF token
    other = people("coord_b")
    for path in (record, query_url, f"/patients/{pid}/audit"):
        _forbidden(other, path, "BD-01")
    other.go("/queries")
    assert "BD-01" not in other.page.inner_text("main")  # a site sees its own queries only
    lock_id = re.search(r"/locks/(\d+)/unlock", dm.page.content()).group(1)
    dm.go(f"/locks/{lock_id}/unlock")
    dm.fill("reason", "late source document")
    dm.submit("main button[type=submit]")
    corrections = _count(store, m.Correction)
    coord.go(f"{record}/correct")
    coord.fill("field", "diameter_mm")
    coord.fill("value", "52")
    coord.fill("reason", "late report")
    coord.fill("category", "late_result")
    assert _without_csrf(coord, "main form button[type=submit]") == 403
    assert _count(store, m.Correction) == corrections

    # the audit history shows it all, with the CSV download
    monitor.go(f"/patients/{pid}/audit")
    text = monitor.page.inner_text("main")
    for seen in ("radiology report: 54 mm", "matches the source", "cleaned for the interim", "late source document", "approved"):  # fmt: skip
        assert seen in text, (seen, text)
    assert monitor.page.locator(f"a[href='/api/v1/patients/{pid}/audit.csv']").count() == 1
    shots(monitor.page, "audit")


def test_sae_deviation_and_medication_pages(served, people, tmp_path):
    trial, _ = served
    store = trial.store
    shots = Shots(tmp_path)
    inv_ctx = sv.Context(store, PROTOCOL, "investigator_a")
    pid = to_induction(inv_ctx, "BD-02")
    ae = sv.record_adverse_event(inv_ctx, pid, "2025-01-26", term="Hepatic failure", grade=4, attribution="possible", serious=True)  # fmt: skip

    # the SAE report from the patient page: criteria, clock, causality per product
    inv = people("investigator_a")
    inv.go(f"/patients/{pid}")
    inv.submit(f"a[href='/patients/{pid}/adverse-events/{ae}/sae']")
    inv.page.check("#in-crit_life_threatening")
    inv.page.check("#in-crit_hospitalisation")
    inv.fill("awareness_at", "2025-01-27T09:00")
    inv.fill("reported_at", "2025-01-27T20:00")
    inv.fill("utc_offset", "+08:00")
    inv.fill("causality_atezolizumab", "possible")
    inv.fill("causality_bevacizumab", "unlikely")
    inv.fill("narrative", "Jaundice and ascites <grade 4>")
    shots(inv.page, "sae-report")
    check_page(inv)
    inv.submit("main button[type=submit]")
    assert inv.page.inner_text("#sae-susar").startswith("yes")
    assert "Jaundice and ascites <grade 4>" in inv.page.inner_text("main")  # shown as typed
    sae_url = inv.page.url.split("?")[0].removeprefix(inv.base)
    shots(inv.page, "sae")
    inv.submit("#printable-link")
    inv.page.emulate_media(media="print")
    assert "Hepatic failure" in inv.page.inner_text("body")
    shots(inv.page, "sae-printable")
    inv.page.emulate_media(media="screen")

    # a deviation by hand, a concomitant medication; the deviation log shows it
    inv.go(f"/patients/{pid}/deviation")
    inv.fill("deviation_date", "2025-01-28")
    inv.fill("category", "dosing")
    inv.fill("classification", "major")
    inv.fill("description", "cycle 2 given at 15 mg/kg")
    inv.fill("corrective_action", "dose checked by pharmacy")
    inv.fill("preventive_action", "double check of the weight")
    inv.fill("decided_by", "Dr Chen, PI")
    inv.submit("main button[type=submit]")
    assert "/deviation" not in inv.page.url, inv.page.inner_text("main")
    inv.go(f"/patients/{pid}/conmed")
    inv.fill("start_date", "2024-12-01")
    inv.fill("name", "Entecavir")
    inv.fill("indication", "chronic hepatitis B")
    inv.submit("main button[type=submit]")
    assert "Entecavir" in inv.page.inner_text("#conmeds")
    coord = people("coordinator_a")
    coord.go("/deviations")
    assert "cycle 2 given at 15 mg/kg" in coord.page.inner_text("#deviation-log")
    shots(coord.page, "deviations")
    check_page(coord)

    # security: another site's user; a deviation without its CSRF token writes nothing
    other = people("coord_b")
    for path in (sae_url, f"{sae_url}/form", f"/patients/{pid}/adverse-events/{ae}/sae"):
        _forbidden(other, path, "BD-02")
    other.go("/deviations")
    assert "cycle 2 given" not in other.page.inner_text("main")
    before = len(sv.deviation_log(sv.Context(store, PROTOCOL, "system")))
    inv.go(f"/patients/{pid}/deviation")
    inv.fill("deviation_date", "2025-01-29")
    inv.fill("category", "other")
    inv.fill("classification", "minor")
    inv.fill("description", "never saved")
    assert _without_csrf(inv, "main button[type=submit]") == 403
    assert len(sv.deviation_log(sv.Context(store, PROTOCOL, "system"))) == before
    # the monitor reads the SAE but sends no follow-up (not a site's writer)
    monitor = people("monitor_a")
    monitor.go(sae_url)
    assert monitor.page.locator(f"a[href='{sae_url}/follow-up']").count() == 0
    assert monitor.go(f"{sae_url}/follow-up").status == 403


#: The new pages opened at each width ({pid}: a patient with an SAE, a query, a deviation).
PAGES = [
    ("admin", "/queries"),
    ("admin", "/locks"),
    ("admin", "/safety"),
    ("admin", "/deviations"),
    ("admin", "/patients/{pid}/withdrawal"),
    ("admin", "/patients/{pid}/medical-history"),
    ("investigator", "/patients/{pid}/records/screenings/{screening}/correct"),
    ("investigator", "/patients/{pid}/sae/{sae}/follow-up"),
    ("monitor", "/patients/{pid}/records/screenings/{screening}"),
    ("monitor", "/patients/{pid}/queries/{query}"),
    ("data_manager", "/patients/{pid}/lock"),
    ("statistician", "/analysis/sign"),
]


@pytest.mark.parametrize("width", WIDTHS)
def test_the_new_pages_fit_the_window_and_are_labelled(chromium, served, tmp_path, width):
    import datetime as dt

    trial, server = served
    store = trial.store
    inv_ctx = sv.Context(store, PROTOCOL, "investigator_a")
    pid = to_induction(inv_ctx, f"FIT-{width}")
    ae = sv.record_adverse_event(inv_ctx, pid, "2025-01-26", term="Hepatic failure", grade=4, attribution="possible", serious=True)  # fmt: skip
    at = dt.datetime(2025, 1, 27, 9)
    sae = sv.report_sae(inv_ctx, ae, criteria=["hospitalisation"], awareness_at=at, reported_at=at, causality={"atezolizumab": "possible", "bevacizumab": "unlikely"})  # fmt: skip
    with store.unit_of_work() as session:
        screening = session.query(m.Screening).filter_by(patient_id=pid).one().id
    monitor = sv.Context(store, PROTOCOL, "monitor_a")
    query = sv.raise_query(monitor, "screenings", screening, "record.ecog", "ECOG on source?")
    ids = {"pid": pid, "screening": screening, "sae": sae["sae_id"], "query": query["query_id"]}
    open_each(chromium, server, trial.users, PAGES, width, Shots(tmp_path), **ids)
