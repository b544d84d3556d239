"""The pages in Debian's Chromium (headless, through Playwright's ``executable_path``; never a
downloaded browser), against uvicorn serving a database of the test's own.

The issue's scenario: a coordinator registers and screens a patient (one field first wrong,
then corrected, the verdicts live), records baseline lesions and an assessment and sees PR
computed before saving; three MDT members each log in and vote; an investigator randomises
and sees the arm; a coordinator of another site gets a 403 page; a form posted without its
CSRF token writes nothing; the dashboard counts move. Every page is also opened at 1280 and
390 px: nothing wider than the window, a label for every input, no Content Security Policy
violation, no request leaving the server. Screenshots go to the test's temporary folder
(``<tmp>/screenshots/``) and, when ``TALENTOP_ARTIFACTS`` names a folder, there too.
"""

from __future__ import annotations

import re

import pytest
from browser_helpers import WIDTHS, Person, Server, Shots, open_each
from browser_helpers import check_page as _check_page

from flow_helpers import CRITERIA_FORM, PROTOCOL, day
from patient_records import ELIGIBLE
from talentop import services as sv
from talentop.services import identity
from trial_builder import PASSWORD, build_trial

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.db]


def _screening_values() -> dict[str, str]:
    out = {}
    for key, value in ELIGIBLE.items():
        if key == "informed_consent":
            continue  # not typed: the services take it from the consent records
        out[key] = ("yes" if value else "no") if isinstance(value, bool) else str(value)
    return out


@pytest.fixture
def served(tmp_path):
    """A fresh trial (per test: its own SQLite file) behind uvicorn."""
    from talentop.store import Store, init_database

    store = Store(f"sqlite:///{tmp_path / 'web.db'}")
    init_database(store)
    trial = build_trial(store)
    system = sv.Context(store, PROTOCOL, "system")
    for name, specialty in (("onc_a", "hepatologist_or_oncologist"), ("rad_a", "radiologist")):
        identity.create_account(system, name, "mdt_member", PASSWORD, specialty=specialty)
    with Server(trial.app) as server:
        yield trial, server
    store.dispose()


def test_the_issue_scenario_in_chromium(chromium, served, tmp_path):
    trial, server = served
    shots = Shots(tmp_path)
    store = trial.store
    system = sv.Context(store, PROTOCOL, "system")

    coord = Person(chromium, server.url)
    coord.go("/login")
    shots(coord.page, "login")
    coord.login("coordinator_a", keyboard=True)
    funnel = lambda p, key: int(p.page.inner_text(f"#funnel-{key}"))  # noqa: E731
    before = {key: funnel(coord, key) for key in ("registered", "screened", "randomised")}
    shots(coord.page, "dashboard")
    _check_page(coord)

    # register
    coord.go("/patients/new")
    coord.fill("pseudo_id", "PW-001")
    coord.fill("registered_on", day(-14).isoformat())
    coord.fill("birth_year", "1966")
    shots(coord.page, "register")
    coord.submit("main button[type=submit]")
    pid = int(re.search(r"/patients/(\d+)", coord.page.url).group(1))
    assert coord.page.inner_text("#patient-state") == "Registered"

    # informed consent before any screening procedure
    coord.go(f"/patients/{pid}/consent")
    coord.fill("consented_on", day(-14).isoformat())
    coord.fill("form_version", PROTOCOL.consent.forms[0].version)
    coord.fill("obtained_by", "Dr Chen, investigator")
    for scope in ("treatment", "follow_up", "data_use"):
        coord.page.check(f"#in-scope_{scope}")
    shots(coord.page, "consent")
    coord.submit("main button[type=submit]")
    assert "saved=consent" in coord.page.url, coord.page.inner_text("main")

    # screening: ECOG typed in words, the verdicts say so live; saved, the error is next to it
    coord.go(f"/patients/{pid}/screening")
    coord.fill("screened_on", day(-7).isoformat())
    for key, value in _screening_values().items():
        coord.fill(key, "zero" if key == "ecog" else value)
    coord.page.wait_for_selector("#verdicts .verdict-problem")
    assert "ECOG" in coord.page.inner_text("#verdicts") or "ecog" in coord.page.inner_text("#verdicts")  # fmt: skip
    coord.submit("button:text('Save screening')")
    assert coord.page.inner_text("#err-ecog") == "Enter a whole number, e.g. 2."
    assert coord.page.input_value("#in-inr") == "1.1"  # what was typed is kept
    shots(coord.page, "screening-error")
    coord.fill("ecog", "0")
    coord.page.wait_for_selector("#overall-verdict:has-text('Overall: eligible')")
    shots(coord.page, "screening-eligible")
    _check_page(coord)
    coord.submit("button:text('Save screening')")
    assert coord.page.inner_text("#patient-state") == "Screened, eligible"

    # baseline lesions: a row added and removed again, then saved
    coord.go(f"/patients/{pid}/lesions")
    coord.fill("baseline_date", day(-7).isoformat())
    for i, (organ, mm, viable) in enumerate((("liver", "60", "50"), ("liver", "40", "30"))):
        coord.fill(f"lesion-{i}-organ", organ)
        coord.fill(f"lesion-{i}-diameter_mm", mm)
        coord.fill(f"lesion-{i}-viable_diameter_mm", viable)
    coord.fill("lesion-2-organ", "portal_vein")
    coord.page.click("button:text('Add a lesion')")
    coord.page.wait_for_selector("#lesion-row-3")
    coord.submit("button:text('Remove lesion 4')")
    assert coord.page.locator("#lesion-row-3").count() == 0
    shots(coord.page, "lesions")
    coord.submit("button:text('Save baseline')")
    assert "saved=lesions" in coord.page.url

    # induction and its doses (the site's investigator, through the services: not the point)
    inv_ctx = sv.Context(store, PROTOCOL, "inv1")
    sv.start_induction(inv_ctx, pid, day(0))
    for cycle in PROTOCOL.induction.cycles:
        for drug in cycle.drugs:
            mg = drug.dose if drug.dose_unit == "mg" else drug.dose * 70
            sv.record_dose(inv_ctx, pid, cycle=cycle.number, drug=drug.drug, dose_given_mg=mg, given_on=day(21 * (cycle.number - 1)), weight_kg=70)  # fmt: skip
    coord.go(f"/patients/{pid}/doses")
    coord.fill("cycle", "1")
    coord.fill("drug", "bevacizumab")
    coord.fill("weight_kg", "70")
    coord.page.wait_for_selector("#dose-preview:has-text('Protocol dose: 1050 mg')")
    shots(coord.page, "dose")

    # the assessment: PR computed and explained before saving
    coord.go(f"/patients/{pid}/assessment")
    coord.fill("visit_date", day(70).isoformat())
    coord.fill("target-T1", "36")
    coord.fill("target-T2", "24")
    coord.fill("non_target-N1", "present")
    coord.page.wait_for_selector("#response-recist11 .overall:text('PR')")
    assert "Why:" in coord.page.inner_text("#response")
    assert sv.patient_summary(system, pid)["state"] == "induction"  # not stored yet
    shots(coord.page, "assessment")
    _check_page(coord)
    coord.submit("button:text('Save assessment')")
    assert "PR" in coord.page.inner_text("#resp-title + table")
    shots(coord.page, "patient")

    inv = Person(chromium, server.url)
    inv.login("investigator_a")
    inv.go(f"/patients/{pid}/completion")
    inv.fill("on_date", day(71).isoformat())
    inv.submit("main button[type=submit]")
    assert inv.page.inner_text("#patient-state") == "Assessed after induction"

    # three MDT members, each logged in, each their own vote
    for n, member in enumerate(("mdt_member_a", "onc_a", "rad_a"), start=1):
        mdt = Person(chromium, server.url)
        mdt.login(member)
        mdt.go("/mdt-queue")
        mdt.submit(f"a[href='/patients/{pid}/vote']")
        mdt.fill("vote_date", day(72).isoformat())
        mdt.fill("resectable", "yes")
        mdt.fill("reason", f"R0 feasible, remnant adequate ({member})")
        for name, value in CRITERIA_FORM.items():  # what the vote rests on
            mdt.fill(name, value)
        if n == 1:
            shots(mdt.page, "vote")
        mdt.submit("button:text('Cast my vote')")
        text = mdt.page.inner_text("main")
        assert ("The MDT has decided: resectable" in text) == (n == 3), text
        if n == 3:
            shots(mdt.page, "vote-decided")
        mdt.close()

    # the investigator randomises: the stratum values to confirm, then the arm
    inv.go(f"/patients/{pid}")
    inv.submit(f"a[href='/patients/{pid}/randomise']")
    inv.fill("randomised_on", day(73).isoformat())
    inv.submit("button:text('Continue')")
    confirm = inv.page.inner_text(".confirm")
    assert "Depth of response" in confirm and "ECOG" in confirm
    shots(inv.page, "randomise-confirm")
    _check_page(inv)
    inv.submit("#confirm-randomise")
    arm = inv.page.inner_text("#allocated-arm")
    assert arm in ("A", "B") and arm == sv.patient_summary(system, pid)["arm"]
    shots(inv.page, "allocation")
    _check_page(inv)

    # a form without its CSRF token (hidden input and htmx header removed): 403, nothing written
    labs = len([r for r in sv.patient_timeline(system, pid)["records"] if r["kind"] == "labs"])
    inv.go(f"/patients/{pid}/labs")
    inv.fill("sampled_on", day(74).isoformat())
    inv.fill("test", "albumin")
    inv.fill("value", "38")
    inv.fill("unit", "g/L")
    inv.page.evaluate(
        "document.querySelectorAll('input[name=csrf_token]').forEach(e => e.remove());"
        "document.body.removeAttribute('hx-headers')"
    )
    with inv.page.expect_response(lambda r: r.request.method == "POST") as posted:
        inv.page.click("button:text('Save')")
    assert posted.value.status == 403
    inv.page.wait_for_load_state("load")
    assert "CSRF" in inv.page.inner_text("main")
    after = len([r for r in sv.patient_timeline(system, pid)["records"] if r["kind"] == "labs"])
    assert after == labs

    # a coordinator of another site cannot open the patient
    other = Person(chromium, server.url)
    other.login("coord_b")
    response = other.go(f"/patients/{pid}")
    assert response.status == 403 and "Not allowed" in other.page.inner_text("h1")
    assert "PW-001" not in other.page.content()
    shots(other.page, "forbidden")

    # the dashboard counts moved
    coord.go("/")
    assert funnel(coord, "registered") == before["registered"] + 1
    assert funnel(coord, "screened") == before["screened"] + 1
    assert funnel(coord, "randomised") == before["randomised"] + 1
    coord.submit("#funnel-randomised")
    assert "PW-001" in coord.page.inner_text("main")
    # the list refreshes in place while a pseudo id is typed (htmx), the address follows
    coord.go("/patients")
    coord.page.fill("#f-q", "PW-0")
    coord.page.wait_for_selector("#patient-count:text('1 patient')")
    coord.page.wait_for_url(re.compile(r"q=PW-0"))
    for person in (coord, inv, other):
        person.close()
    assert len(shots.taken) >= 14


#: Pages opened at each width by a role that may see them ({pid}: the randomised patient).
PAGES = [
    ("admin", "/"),
    ("admin", "/patients"),
    ("admin", "/patients/new"),
    ("admin", "/patients/{pid}"),
    ("admin", "/patients/{pid}/screening"),
    ("admin", "/patients/{pid}/lesions"),
    ("admin", "/patients/{pid}/assessment"),
    ("admin", "/patients/{pid}/allocation"),
    ("admin", "/patients/{pid}/audit"),
    ("admin", "/patients/{pid}/surgery"),
    ("admin", "/patients/{pid}/adverse-event"),
    ("admin", "/patients/{pid}/discontinuation"),
    ("admin", "/patients/{pid}/randomise"),
    ("admin", "/mdt-queue"),
    ("admin", "/account"),
    ("monitor", "/audit"),
    ("statistician", "/analysis"),
    ("mdt_member", "/patients/{assessed}/vote"),
]


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_fits_the_window_and_is_labelled(chromium, served, tmp_path, width):
    from flow_helpers import to_assessed, to_randomised

    trial, server = served
    ctx = sv.Context(trial.store, PROTOCOL, "inv1")
    pid, _ = to_randomised(ctx, "FIT1")
    assessed = to_assessed(ctx, "FIT2")
    open_each(chromium, server, trial.users, PAGES, width, Shots(tmp_path), pid=pid, assessed=assessed)  # fmt: skip
