"""One patient through the forms, as a site would, without JavaScript (plain form posts):
register, screen (one field wrong, then right), baseline lesions (a row added and one
removed), induction, doses, the assessment with its RECIST response computed before saving,
the MDT members' own votes until the decision, randomisation with its confirmation step,
the allocation record. Every problem is shown next to its field with what was typed kept;
a step the protocol forbids says its rule; a form without its CSRF token writes nothing."""

from __future__ import annotations

import re

import pytest
from web_helpers import Browser

from flow_helpers import CRITERIA_FORM, PROTOCOL, day, register
from patient_records import ELIGIBLE
from talentop import services as sv
from talentop.services import identity
from trial_builder import PASSWORD

pytestmark = pytest.mark.db


def _error_for(html: str, field: str) -> str | None:
    match = re.search(rf'id="err-{re.escape(field)}"[^>]*>([^<]*)<', html)
    return match.group(1) if match else None


def _value_of(html: str, field: str) -> str | None:
    match = re.search(
        rf'id="in-{re.escape(field)}" name="{re.escape(field)}" value="([^"]*)"', html
    )
    return match.group(1) if match else None


def _state(store, pid: int) -> str:
    return sv.patient_summary(sv.Context(store, PROTOCOL, "system"), pid)["state"]


def _screening_form(record: dict) -> dict[str, str]:
    form = {"screened_on": day(-7).isoformat()}
    for key, value in record.items():
        form[key] = {True: "yes", False: "no"}.get(value, str(value)) if isinstance(value, bool) else str(value)  # fmt: skip
    return form


def test_one_patient_through_the_forms_to_the_allocation_record(web_trial):
    store = web_trial.store
    system = sv.Context(store, PROTOCOL, "system")
    for name, specialty in (("onc_a", "hepatologist_or_oncologist"), ("rad_a", "radiologist")):
        identity.create_account(system, name, "mdt_member", PASSWORD, specialty=specialty)
    coord = Browser(web_trial)
    coord.login("coordinator_a")

    # register: a wrong date first, everything typed comes back
    bad = coord.post("/patients/new", {"site_code": "SH01", "pseudo_id": "WEB-1", "registered_on": "06/01/2025", "birth_year": "1966"})  # fmt: skip
    assert bad.status_code == 422
    assert _error_for(bad.text, "registered_on").startswith("Enter a date as year-month-day")
    assert (
        _value_of(bad.text, "pseudo_id") == "WEB-1" and _value_of(bad.text, "birth_year") == "1966"
    )
    ok = coord.post("/patients/new", {"site_code": "SH01", "pseudo_id": "WEB-1", "registered_on": day(-14).isoformat(), "sex": "M", "birth_year": "1966"})  # fmt: skip
    assert ok.status_code == 303
    pid = int(ok.headers["location"].split("/")[2].split("?")[0])
    page = coord.get(f"/patients/{pid}")
    assert "Registered" in page.text and f'href="/patients/{pid}/screening"' in page.text
    assert f'href="/patients/{pid}/randomise"' not in page.text  # not the coordinator's step
    assert f'href="/patients/{pid}/consent"' in page.text

    # informed consent first: screening before it is refused with the rule
    early = coord.post(f"/patients/{pid}/screening", _screening_form(ELIGIBLE))
    assert early.status_code == 409 and "informed consent" in early.text
    consent = {"consented_on": day(-14).isoformat(), "form_version": PROTOCOL.consent.forms[0].version, "obtained_by": "Dr Chen", "scope_treatment": "on", "scope_follow_up": "on", "scope_data_use": "on"}  # fmt: skip
    assert coord.post(f"/patients/{pid}/consent", consent).status_code == 303

    # a POST without the CSRF token: 403, nothing written
    rows = sv.verify(store).rows
    refused = coord.post(f"/patients/{pid}/screening", _screening_form(ELIGIBLE), csrf=False)
    assert refused.status_code == 403 and "CSRF" in refused.text
    assert sv.verify(store).rows == rows and _state(store, pid) == "registered"

    # screening: ECOG typed in words is an error next to ECOG; the rest is kept
    form = _screening_form({**ELIGIBLE, "ecog": "zero"})
    wrong = coord.post(f"/patients/{pid}/screening", form)
    assert wrong.status_code == 422
    assert _error_for(wrong.text, "ecog") == "Enter a whole number, e.g. 2."
    assert _value_of(wrong.text, "ecog") == "zero" and _value_of(wrong.text, "inr") == "1.1"
    assert _state(store, pid) == "registered"
    # left empty: marked as needed, with the criterion it decides
    partial = coord.post(f"/patients/{pid}/screening", {k: v for k, v in _screening_form(ELIGIBLE).items() if k != "platelets_10e9_l"})  # fmt: skip
    assert partial.status_code == 422 and (_error_for(partial.text, "platelets_10e9_l") or "").startswith("Needed to decide")  # fmt: skip
    # live verdicts (what htmx asks for while typing)
    live = coord.post(f"/patients/{pid}/screening/check", _screening_form(ELIGIBLE), headers={"HX-Request": "true"})  # fmt: skip
    assert live.status_code == 200 and "Overall: <strong>eligible</strong>" in live.text
    assert "<html" not in live.text  # a fragment
    failing = coord.post(f"/patients/{pid}/screening/check", _screening_form({**ELIGIBLE, "extrahepatic_spread": True}), headers={"HX-Request": "true"})  # fmt: skip
    assert "not eligible" in failing.text and "crit-not_met" in failing.text
    saved = coord.post(f"/patients/{pid}/screening", _screening_form(ELIGIBLE))
    assert saved.status_code == 303 and _state(store, pid) == "screened"

    # baseline lesions: add a row, remove it, a bad diameter is shown on its row
    base = {"baseline_date": day(-7).isoformat(), "rows": "3",
            "lesion-0-id": "T1", "lesion-0-kind": "target", "lesion-0-organ": "liver", "lesion-0-diameter_mm": "60", "lesion-0-viable_diameter_mm": "50",
            "lesion-1-id": "T2", "lesion-1-kind": "target", "lesion-1-organ": "liver", "lesion-1-diameter_mm": "forty",
            "lesion-2-id": "N1", "lesion-2-kind": "non_target", "lesion-2-organ": "portal_vein"}  # fmt: skip
    added = coord.post(f"/patients/{pid}/lesions", {**base, "action": "add"})
    assert added.status_code == 200 and 'id="lesion-row-3"' in added.text
    removed = coord.post(f"/patients/{pid}/lesions", {**base, "rows": "4", "lesion-3-id": "T9", "action": "remove-3"})  # fmt: skip
    assert 'id="lesion-row-3"' not in removed.text and 'value="T2"' in removed.text
    bad = coord.post(f"/patients/{pid}/lesions", {**base, "action": "save"})
    assert bad.status_code == 422 and _error_for(bad.text, "lesion-1-diameter_mm")
    assert 'value="forty"' in bad.text
    good = coord.post(f"/patients/{pid}/lesions", {**base, "lesion-1-diameter_mm": "40", "lesion-1-viable_diameter_mm": "30", "action": "save"})  # fmt: skip
    assert good.status_code == 303

    # a step the protocol does not allow yet: its rule is shown
    early = coord.post(f"/patients/{pid}/completion", {"on_date": day(0).isoformat()})
    assert early.status_code in (403, 409)
    inv = Browser(web_trial)
    inv.login("investigator_a")
    early = inv.post(f"/patients/{pid}/completion", {"on_date": day(0).isoformat()})
    assert early.status_code == 409 and "Rule: the post-induction response assessment closes induction" in early.text  # fmt: skip
    assert inv.post(f"/patients/{pid}/induction", {"start_date": day(0).isoformat()}).status_code == 303  # fmt: skip

    # doses: the protocol dose is computed from the weight while typing
    preview = coord.post(f"/patients/{pid}/doses/preview", {"cycle": "1", "drug": "bevacizumab", "weight_kg": "70", "dose_given_mg": "700"}, headers={"HX-Request": "true"})  # fmt: skip
    assert "Protocol dose: 1050 mg" in preview.text and "differs by more than 10%" in preview.text
    for cycle in PROTOCOL.induction.cycles:
        for drug in cycle.drugs:
            mg = drug.dose if drug.dose_unit == "mg" else drug.dose * 70
            r = coord.post(f"/patients/{pid}/doses", {"cycle": str(cycle.number), "drug": drug.drug, "weight_kg": "70", "dose_given_mg": f"{mg:g}", "given_on": day(21 * (cycle.number - 1)).isoformat()})  # fmt: skip
            assert r.status_code == 303, r.text

    # the assessment: PR computed before saving (htmx fragment and the no-JavaScript page)
    visit = {"visit_date": day(70).isoformat(), "target-T1": "36", "target-T2": "24", "non_target-N1": "present", "new_lesions": "none"}  # fmt: skip
    shown = coord.post(f"/patients/{pid}/assessment/preview", visit, headers={"HX-Request": "true"})
    assert 'id="response-recist11"' in shown.text and '<strong class="overall">PR</strong>' in shown.text  # fmt: skip
    assert "mRECIST" in shown.text and "-40.0%" in shown.text
    assert (
        sv.verify(store).ok and _state(store, pid) == "induction"
    )  # nothing stored by the preview
    whole = coord.post(f"/patients/{pid}/assessment/preview", visit)
    assert "<html" in whole.text and '<strong class="overall">PR</strong>' in whole.text
    assert _value_of(whole.text, "target-T1") == "36"
    assert coord.post(f"/patients/{pid}/assessment", visit).status_code == 303
    assert inv.post(f"/patients/{pid}/completion", {"on_date": day(71).isoformat()}).status_code == 303  # fmt: skip
    assert _state(store, pid) == "assessed"

    # three MDT members, each logged in, each their own vote; the decision at quorum
    for n, member in enumerate(("mdt_member_a", "onc_a", "rad_a"), start=1):
        b = Browser(web_trial)
        b.login(member)
        form = b.get(f"/patients/{pid}/vote")
        assert form.status_code == 200 and "Cast my vote" in form.text
        r = b.post(f"/patients/{pid}/vote", {"vote_date": day(72).isoformat(), "resectable": "yes", "reason": f"R0 feasible ({member})", **CRITERIA_FORM})  # fmt: skip
        assert r.status_code == 200 and "Your vote is recorded" in r.text
        if n < 3:
            assert 'id="mdt-decision"' not in r.text and f"{n} vote(s) cast" in r.text
        else:
            assert "The MDT has decided: resectable</strong>, 3 of 3 votes" in r.text
    decided = inv.get(f"/patients/{pid}").text
    assert "Decision (randomisation" in decided and "<strong>resectable</strong>, 3 of 3" in decided
    assert f'href="/patients/{pid}/randomise"' in decided
    again = b.post(f"/patients/{pid}/vote", {"vote_date": day(72).isoformat(), "resectable": "no", "reason": "changed my mind", **CRITERIA_FORM})  # fmt: skip
    assert again.status_code == 403  # decided: no longer awaiting a review, out of their scope

    # randomise: confirm the stratum values, then the arm and the allocation record
    step = inv.post(f"/patients/{pid}/randomise/confirm", {"randomised_on": day(73).isoformat()})
    assert step.status_code == 200 and "Please confirm" in step.text
    assert "Depth of response" in step.text and "-40" in step.text and "ECOG" in step.text
    assert _state(store, pid) == "assessed"  # nothing drawn yet
    key = re.search(r'name="idempotency_key" value="([^"]+)"', step.text).group(1)
    done = inv.post(f"/patients/{pid}/randomise", {"randomised_on": day(73).isoformat(), "idempotency_key": key})  # fmt: skip
    assert done.status_code == 303 and done.headers["location"] == f"/patients/{pid}/allocation"
    record = inv.get(done.headers["location"])
    arm = re.search(r'id="allocated-arm">([AB])<', record.text).group(1)
    assert arm == sv.patient_summary(system, pid)["arm"]
    number = re.search(r'id="allocation-number">(\d+)<', record.text).group(1)
    # the same confirmation sent twice (a double click): the same allocation, not a second
    twice = inv.post(f"/patients/{pid}/randomise", {"randomised_on": day(73).isoformat(), "idempotency_key": key})  # fmt: skip
    assert twice.status_code == 303
    assert re.search(r'id="allocation-number">(\d+)<', inv.get(twice.headers["location"]).text).group(1) == number  # fmt: skip
    assert sv.verify(store).ok

    # another site's coordinator cannot open the patient
    other = Browser(web_trial)
    other.login("coord_b")
    refused = other.get(f"/patients/{pid}")
    assert (
        refused.status_code == 403 and "Not allowed" in refused.text and "WEB-1" not in refused.text
    )


def test_the_dashboard_numbers_link_to_lists_of_exactly_those_patients(web_trial):
    from flow_helpers import to_assessed, to_induction, to_randomised

    ctx = sv.Context(web_trial.store, PROTOCOL, "inv1")
    to_induction(ctx, "D1")
    to_assessed(ctx, "D2")
    to_randomised(ctx, "D3")
    sv.screen_patient(ctx, register(ctx, "SH01", "D4", day(-14)), {**ELIGIBLE, "extrahepatic_spread": True}, day(-7))  # fmt: skip
    b = Browser(web_trial)
    b.login("investigator_a")
    page = b.get("/").text
    links = re.findall(r'<a href="(/patients[^"]*)" id="funnel-(\w+)"[^>]*>(\d+)</a>', page)
    assert len(links) >= 10
    counts = {key: int(n) for _, key, n in links}
    assert counts["registered"] == 4 and counts["screen_failed"] == 1 and counts["randomised"] == 1
    for href, key, n in links:
        listed = b.get(href.replace("&amp;", "&")).text
        total = int(re.search(r'id="patient-count">(\d+) patient', listed).group(1))
        assert total == int(n), (key, href)
    assert '<svg class="chart"' in page and '<title id="chart-title">' in page


def test_surgery_clavien_dindo_and_maintenance_through_the_forms(web_trial):
    from flow_helpers import randomised_in_arm

    ctx = sv.Context(web_trial.store, PROTOCOL, "inv1")
    pid = randomised_in_arm(ctx, "A")
    surgeon = Browser(web_trial)
    surgeon.login("surgeon_a")
    page = surgeon.get(f"/patients/{pid}").text
    assert f'href="/patients/{pid}/surgery"' in page
    early = surgeon.post(f"/patients/{pid}/surgery", {"surgery_date": day(50).isoformat(), "procedure": "right hepatectomy", "margin": "R0", "blood_loss_ml": "450"})  # fmt: skip
    assert early.status_code == 422 and "on or after randomisation" in early.text
    done = surgeon.post(f"/patients/{pid}/surgery", {"surgery_date": day(120).isoformat(), "procedure": "right hepatectomy", "margin": "R0", "blood_loss_ml": "450"})  # fmt: skip
    assert done.status_code == 303 and _state(web_trial.store, pid) == "operated"
    bad = surgeon.post(f"/patients/{pid}/complication", {"onset_date": day(125).isoformat(), "description": "bile leak", "clavien_dindo": "3a"})  # fmt: skip
    assert bad.status_code == 422 and "Choose one of" in bad.text
    ok = surgeon.post(f"/patients/{pid}/complication", {"onset_date": day(125).isoformat(), "description": "bile leak", "clavien_dindo": "IIIa"})  # fmt: skip
    assert ok.status_code == 303
    inv = Browser(web_trial)
    inv.login("investigator_a")
    assert inv.post(f"/patients/{pid}/maintenance", {"start_date": day(150).isoformat()}).status_code == 303  # fmt: skip
    assert _state(web_trial.store, pid) == "maintenance"
    timeline = inv.get(f"/patients/{pid}").text
    assert "Surgical complication" in timeline and "IIIa" in timeline


def test_statistician_downloads_adtte_from_the_analysis_page(web_trial):
    from flow_helpers import to_randomised

    to_randomised(sv.Context(web_trial.store, PROTOCOL, "inv1"), "S1")
    stats = Browser(web_trial)
    stats.login("statistician_a")
    page = stats.get("/analysis?cutoff=2025-12-31")
    assert page.status_code == 200 and "Nothing to analyse yet" in page.text  # one patient
    links = re.findall(r'href="(/api/v1/exports/adtte\.(?:csv|xpt)\?cutoff=2025-12-31)"', page.text)
    assert len(links) == 2
    csv = stats.get(links[0])
    assert csv.status_code == 200 and csv.text.startswith("USUBJID,ARM")
    assert "TALENTOP-SH01-S1" in csv.text
    xpt = stats.get(links[1])
    assert xpt.status_code == 200 and xpt.content[:80].startswith(b"HEADER RECORD")
    coord = Browser(web_trial)
    coord.login("coordinator_a")
    assert coord.get("/analysis").status_code == 403
    assert coord.get(links[0]).status_code == 403
