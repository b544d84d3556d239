"""Trial conduct through the pages (issue 13), without JavaScript: an SAE report on an AE
(ICH E2A II.A seriousness criteria; the 24-hour clock of the initial report; an event not
in the reference safety information and suspected is a SUSAR, E2A II.C), a follow-up
report, the printable form; a deviation entered by hand with its CAPA (ICH E6(R3) 2.5,
major needs its preventive action), the log per site and the summary by category and arm;
concomitant medication and medical history on the patient page; a withdrawal of consent
per scope; the patients who must re-consent after a new form version (ICH E6(R3) 2.8.2).
Each page refuses another site's user and a POST without its CSRF token writes nothing."""

from __future__ import annotations

import re

import pytest
from web_helpers import Browser

from flow_helpers import PROTOCOL, day, register, to_induction
from talentop import services as sv
from talentop.api import create_app
from talentop.protocol import protocol_from_mapping
from talentop.store import models as m
from trial_builder import ApiTrial

pytestmark = pytest.mark.db


def _error_for(html: str, field: str) -> str | None:
    match = re.search(rf'id="err-{re.escape(field)}"[^>]*>([^<]*)<', html)
    return match.group(1) if match else None


def _rows(store, kind: str, pid: int) -> int:
    system = sv.Context(store, PROTOCOL, "system")
    return len([r for r in sv.patient_timeline(system, pid)["records"] if r["kind"] == kind])


def test_an_sae_report_its_follow_up_and_the_printable_form(web_trial):
    store = web_trial.store
    inv_ctx = sv.Context(store, PROTOCOL, "investigator_a")
    pid = to_induction(inv_ctx, "SAE1")
    ae = sv.record_adverse_event(inv_ctx, pid, day(20), term="Hepatic failure", grade=4, attribution="possible", serious=True)  # fmt: skip

    # a serious AE entered just now: its report is due, not overdue yet (24 h from entry)
    inv = Browser(web_trial)
    inv.login("investigator_a")
    dash = inv.get("/").text.split('id="sae-title"')[1].split("</section>")[0]
    assert f"/adverse-events/{ae}/sae" not in dash
    patient = inv.get(f"/patients/{pid}").text
    assert "Report as SAE" in patient and "report due" in patient

    url = f"/patients/{pid}/adverse-events/{ae}/sae"
    form = inv.get(url).text
    assert 'name="crit_life_threatening"' in form and 'name="causality_atezolizumab"' in form
    empty = inv.post(url, {"awareness_at": "2025-01-27T09:00", "utc_offset": "+08:00", "outcome": "not_recovered"})  # fmt: skip
    assert empty.status_code == 422
    assert _error_for(empty.text, "crit_death") == "Tick at least one."  # not pydantic's words
    # a product's causality outside the scale is told next to that product's select
    odd = inv.post(url, {"crit_death": "on", "awareness_at": "2025-01-27T09:00", "utc_offset": "+08:00", "outcome": "not_recovered", "causality_bevacizumab": "related"})  # fmt: skip
    assert odd.status_code == 422 and _error_for(odd.text, "causality_bevacizumab")
    assert _rows(store, "sae_reports", pid) == 0
    sent = {
        "crit_life_threatening": "on",
        "crit_hospitalisation": "on",
        "awareness_at": "2025-01-27T09:00",
        "reported_at": "2025-01-27T20:00",
        "utc_offset": "+08:00",
        "causality_atezolizumab": "possible",
        "causality_bevacizumab": "unlikely",
        "outcome": "not_recovered",
        "narrative": "Jaundice & ascites <grade 4>",
    }
    # another site's investigator cannot report it; without the CSRF token nothing is written
    other = Browser(web_trial)
    other.login("inv_b")
    assert other.get(url).status_code == 403 and other.post(url, sent).status_code == 403
    assert inv.post(url, sent, csrf=False).status_code == 403
    assert _rows(store, "sae_reports", pid) == 0
    done = inv.post(url, sent)
    assert done.status_code == 303, done.text
    sae_url = done.headers["location"].split("?")[0]
    page = inv.get(done.headers["location"]).text
    assert "SAE report saved." in page and "Jaundice &amp; ascites &lt;grade 4&gt;" in page
    # Hepatic failure is not in atezolizumab's RSI and is suspected: a SUSAR (E2A II.C)
    assert '<span class="bad">yes</span>: expedited report due' in page.split('id="sae-susar"')[1]
    assert (
        "yes</span>, after 11.0 h" in page.split('id="sae-on-time"')[1].split("</dd>")[0]
    )  # 09:00 -> 20:00
    causality = page.split('id="sae-causality"')[1].split("</table>")[0]
    assert "<td data-label=\"Product\">atezolizumab</td><td data-label=\"Relatedness\">possible</td><td data-label=\"Suspected\">yes</td><td data-label=\"Expected\">no</td>" in causality  # fmt: skip
    assert inv.post(url, sent).status_code == 422  # a second initial report: send a follow-up

    # a follow-up report, then the printable form (its own strict CSP, print CSS)
    follow = inv.post(f"{sae_url}/follow-up", {"info_received_at": "2025-01-30T08:00", "reported_at": "2025-01-30T10:00", "utc_offset": "+08:00", "description": "recovering on ICU", "outcome": "recovering"})  # fmt: skip
    assert follow.status_code == 303, follow.text
    shown = inv.get(sae_url).text.split('id="sae-follow-ups"')[1].split("</table>")[0]
    assert "recovering on ICU" in shown and "(outcome: recovering)" in shown
    printable = inv.get(f"{sae_url}/form")
    assert printable.status_code == 200 and "@media print" in printable.text
    # every time on the form says it is UTC (the follow-up's were bare ISO strings), and the
    # sheet fits a phone (viewport; the 32 % header width only on the label-value tables,
    # which pushed the four-column causality table to 128 %)
    assert "<td>2025-01-30 00:00 UTC</td><td>2025-01-30 02:00 UTC</td>" in printable.text
    assert 'name="viewport"' in printable.text and '<table class="list"><tr><th>Product' in printable.text  # fmt: skip
    assert "script-src" not in printable.headers["content-security-policy"]
    assert "default-src 'none'" in printable.headers["content-security-policy"]
    assert other.get(f"{sae_url}/form").status_code == 403

    # the safety desk lists it; the monitor reads it but cannot send a follow-up
    monitor = Browser(web_trial)
    monitor.login("monitor_a")
    listing = monitor.get("/safety").text.split('id="sae-listing"')[1].split("</table>")[0]
    assert "Hepatic failure, grade 4" in listing and "on time (11" in listing
    assert monitor.post(f"{sae_url}/follow-up", {"description": "x"}).status_code == 403
    assert "Send a follow-up report" not in monitor.get(sae_url).text
    # the SUSAR's expedited report (15 days from awareness, E2A III.A) is overdue: dashboard
    dash = inv.get("/").text.split('id="sae-title"')[1].split("</section>")[0]
    assert f'<a href="{sae_url}">expedited SUSAR report</a>' in dash


def test_deviation_medication_history_and_withdrawal_on_the_patient_page(web_trial):
    store = web_trial.store
    inv_ctx = sv.Context(store, PROTOCOL, "investigator_a")
    pid = to_induction(inv_ctx, "CON1")
    inv = Browser(web_trial)
    inv.login("investigator_a")

    # a deviation by hand: a major one needs its preventive action
    major = {"deviation_date": day(5).isoformat(), "category": "dosing", "classification": "major", "description": "cycle 2 given at 15 mg/kg", "corrective_action": "dose checked by pharmacy", "decided_by": "Dr Chen, PI"}  # fmt: skip
    refused = inv.post(f"/patients/{pid}/deviation", major)
    assert refused.status_code == 422 and _error_for(refused.text, "preventive_action")
    assert "cycle 2 given at 15 mg/kg</textarea>" in refused.text  # what was typed is kept
    assert inv.post(f"/patients/{pid}/deviation", {**major, "preventive_action": "x"}, csrf=False).status_code == 403  # fmt: skip
    assert [d for d in sv.deviation_log(inv_ctx) if d["source"] == "manual"] == []
    saved = inv.post(f"/patients/{pid}/deviation", {**major, "preventive_action": "double check of the weight"})  # fmt: skip
    assert saved.status_code == 303, saved.text
    coord = Browser(web_trial)
    coord.login("coordinator_a")
    log = coord.get("/deviations?site=SH01").text
    row = log.split('id="deviation-log"')[1].split("</table>")[0]
    assert "cycle 2 given at 15 mg/kg" in row and "Preventive: double check of the weight" in row
    assert "Dr Chen, PI" in row and "by hand" in row and "dev-major" in row
    summary = log.split('id="deviation-summary"')[1].split("</table>")[0]
    assert "not randomised" in summary  # the patient is in induction, no arm yet
    other = Browser(web_trial)
    other.login("coord_b")
    assert "cycle 2 given at 15 mg/kg" not in other.get("/deviations").text  # another site's log
    assert other.post(f"/patients/{pid}/deviation", {**major, "preventive_action": "y"}).status_code == 403  # fmt: skip

    # concomitant medication and medical history, listed on the patient page
    med = {"start_date": day(-30).isoformat(), "name": "Entecavir", "indication": "chronic hepatitis B", "dose_value": "0.5", "dose_unit": "mg", "frequency": "once daily", "ongoing": "yes"}  # fmt: skip
    assert inv.post(f"/patients/{pid}/conmed", {**med, "dose_value": "half"}).status_code == 422
    early = inv.post(f"/patients/{pid}/conmed", {**med, "stop_date": day(-40).isoformat()})
    assert "on or after start date (" in _error_for(early.text, "stop_date")  # not "start_date"
    assert inv.post(f"/patients/{pid}/conmed", med).status_code == 303
    hist = {"recorded_on": day(-14).isoformat(), "condition": "Chronic hepatitis B <HBV>", "onset_year": "2009", "ongoing": "yes"}  # fmt: skip
    assert inv.post(f"/patients/{pid}/medical-history", hist).status_code == 303
    assert other.post(f"/patients/{pid}/medical-history", hist).status_code == 403
    page = inv.get(f"/patients/{pid}").text
    meds = page.split('id="conmeds"')[1].split("</table>")[0]
    assert "Entecavir" in meds and "hbv antiviral" in meds and "0.5 mg once daily" in meds
    assert "Chronic hepatitis B &lt;HBV&gt; since 2009 (ongoing)" in page.split('id="medical-history"')[1]  # fmt: skip

    # withdrawal of follow-up: treatment goes too (implied); no further dose accepted
    none = inv.post(f"/patients/{pid}/withdrawal", {"withdrawn_on": day(30).isoformat()})
    assert none.status_code == 422 and _error_for(none.text, "withdraw_treatment") == "Tick at least one."  # fmt: skip
    out = inv.post(f"/patients/{pid}/withdrawal", {"withdrawn_on": day(30).isoformat(), "withdraw_follow_up": "on", "reason": "moved abroad"})  # fmt: skip
    assert out.status_code == 303, out.text
    withdrawn = inv.get(f"/patients/{pid}").text.split('id="consent-withdrawals"')[1].split("</div>")[0]  # fmt: skip
    assert "follow up on" in withdrawn and "treatment on" in withdrawn and "implied by follow up" in withdrawn  # fmt: skip


def test_the_patients_who_must_re_consent_after_a_new_form_version(web_trial):
    data = PROTOCOL.model_dump(mode="json")
    data["consent"]["forms"].append({"version": "2.0", "effective_on": day(40).isoformat(), "reconsent_required": True})  # fmt: skip
    protocol = protocol_from_mapping(data)
    store = web_trial.store
    ctx = sv.Context(store, protocol, "investigator_a")
    on_study = to_induction(ctx, "RC1")
    register(ctx, "SH01", "RC2")  # not consented yet: nothing to re-consent
    trial = ApiTrial(store, create_app(store, protocol), users=web_trial.users)
    coord = Browser(trial)
    coord.login("coordinator_a")
    listed = coord.get("/").text.split('id="reconsent-list"')[1].split("</ul>")[0]
    assert f'href="/patients/{on_study}"' in listed and "RC1" in listed and "RC2" not in listed
    assert "signed form 1.0, form 2.0 in force" in listed
    assert "Must re-consent on form 2.0" in coord.get(f"/patients/{on_study}").text
    other = Browser(trial)
    other.login("coord_b")
    assert "RC1" not in other.get("/").text  # another site's patient
    consent = {"consented_on": day(41).isoformat(), "form_version": "2.0", "obtained_by": "Dr Chen", "scope_treatment": "on", "scope_follow_up": "on", "scope_data_use": "on"}  # fmt: skip
    assert coord.post(f"/patients/{on_study}/consent", consent).status_code == 303
    assert 'id="reconsent-list"' not in coord.get("/").text


def test_edit_checks_in_batch_from_the_queries_page(web_trial):
    store = web_trial.store
    inv_ctx = sv.Context(store, PROTOCOL, "investigator_a")
    to_induction(inv_ctx, "EC1")
    dm = Browser(web_trial)
    dm.login("data_manager_a")
    page = dm.get("/queries").text
    assert 'action="/checks/run"' in page
    # The site is chosen from a list; a code the user may not see is refused next to the
    # field, the form still there (it used to end on a 404 page), and nothing is run.
    assert '<select id="in-site" name="site"' in page and '<option value="SH01">' in page
    before = sv.query_counts(sv.Context(store, PROTOCOL, "system"))["by_state"]["open"]
    wrong = dm.post("/checks/run", {"site": "XX99"})
    assert wrong.status_code == 422
    assert 'id="err-site"' in wrong.text and 'action="/checks/run"' in wrong.text
    assert sv.query_counts(sv.Context(store, PROTOCOL, "system"))["by_state"]["open"] == before
    assert dm.post("/checks/run", {}, csrf=False).status_code == 403
    done = dm.post("/checks/run", {"site": "SH01"})
    assert done.status_code == 200, done.text
    result = done.text.split('id="checks-result"')[1].split("</p>")[0]
    opened = int(re.search(r"(\d+) quer", result).group(1))
    assert re.search(r"\d+ patients? checked", result)
    after = sv.query_counts(sv.Context(store, PROTOCOL, "system"))["by_state"]["open"]
    assert after == before + opened
    # each finding links to the record it is about (not to an internal patient number)
    if opened:
        findings = done.text.split('id="checks-findings"')[1].split("</ul>")[0]
        assert re.search(r'href="/patients/\d+/records/[a-z_]+/\d+"', findings)
        assert ">patient " not in findings
    coord = Browser(web_trial)
    coord.login("coordinator_a")
    assert 'action="/checks/run"' not in coord.get("/queries").text
    assert coord.post("/checks/run", {}).status_code == 403


def test_an_edit_check_warning_is_saved_anyway_with_a_comment(web_trial):
    """The protocol's ``albumin_range`` edit check (15-60 g/L): 3.8 is g/dL typed as g/L."""
    store = web_trial.store
    pid = register(sv.Context(store, PROTOCOL, "investigator_a"), "SH01", "EW1")
    inv = Browser(web_trial)
    inv.login("investigator_a")
    lab = {"sampled_on": day(-10).isoformat(), "test": "albumin", "value": "3.8", "unit": "g/L"}
    warned = inv.post(f"/patients/{pid}/labs", lab)
    assert warned.status_code == 409 and 'id="edit-check-warnings"' in warned.text
    assert "albumin outside 15-60 g/L" in warned.text and 'value="3.8"' in warned.text
    assert 'name="check_comment"' in warned.text
    assert _rows(store, "labs", pid) == 0  # nothing saved yet
    saved = inv.post(f"/patients/{pid}/labs", {**lab, "check_comment": "3.8 g/dL on the source; unit confirmed by the lab"})  # fmt: skip
    assert saved.status_code == 303, saved.text
    assert _rows(store, "labs", pid) == 1
    with store.unit_of_work() as session:  # the warning is kept with its comment, no query
        finding = session.query(m.CheckFinding).filter_by(patient_id=pid).one()
        assert finding.check_id == "albumin_range" and finding.query_id is None
        assert finding.comment == "3.8 g/dL on the source; unit confirmed by the lab"
