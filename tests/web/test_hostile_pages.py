"""Hostile strings typed into every text field of every form come back escaped on every page
that shows them (the patient list, the patient page and its timeline, the dashboard, the
audit history), and in the form itself when it is shown again with a problem; typed into a
number field, the error message quotes them escaped too. Nothing is ever executed or
interpreted: ``{{7*7}}`` stays ``{{7*7}}``."""

from __future__ import annotations

import pytest
from web_helpers import Browser

from flow_helpers import (
    CRITERIA_FORM,
    PROTOCOL,
    day,
    randomised_in_arm,
    register,
    to_assessed,
    to_induction,
)
from talentop import services as sv
from talentop.web.steps import steps

pytestmark = [pytest.mark.db, pytest.mark.slow]

HOSTILE = [
    "<script>alert('x')</script>",
    '"><img src=x onerror=alert(1)>',
    "'; DROP TABLE patients; --",
    "{{7*7}} ${7*7} <b>bold</b>",
]
RAW = ("<script>alert", "<img src=x", "<b>bold</b>", "<i>T1</i>")


def _escaped(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


def _clean(html: str) -> None:
    for raw in RAW:
        assert raw not in html, raw


#: step slug -> (patient state to set up, the browser role that may save it)
WHERE = {
    "consent": ("unconsented", "investigator"),
    "labs": ("registered", "investigator"),
    "imaging": ("registered", "investigator"),
    "adverse-event": ("registered", "investigator"),
    "new-therapy": ("registered", "investigator"),
    "deviation": ("registered", "investigator"),
    "biospecimen": ("registered", "investigator"),
    "death": ("registered", "investigator"),
    "contact": ("induction", "investigator"),
    "decline": ("assessed", "investigator"),
    "flag": ("arm_B", "investigator"),
    "switch": ("arm_B", "investigator"),
    "surgery": ("arm_A", "surgeon"),
    "discontinuation": ("arm_A", "investigator"),
}


def _patient(ctx, state: str, n: int) -> int:
    name = f"H{n:02d}"
    if state == "unconsented":
        return sv.register_patient(ctx, "SH01", name, registered_on=day(-14))
    if state == "registered":
        return register(ctx, "SH01", name, day(-14))  # with informed consent
    if state == "induction":
        return to_induction(ctx, name)
    if state == "assessed":
        return to_assessed(ctx, name)
    return randomised_in_arm(ctx, state[-1], prefix=name)


def _form(step, text: str) -> dict[str, str]:
    """Every input of ``step`` filled: text inputs with ``text``, the others valid."""
    form = {}
    for spec in step.inputs:
        if spec.is_text:
            form[spec.name] = text
        elif spec.kind == "date":
            form[spec.name] = day(200).isoformat()
        elif spec.kind == "select":
            form[spec.name] = spec.choices[0][0]
        elif spec.kind == "number":
            form[spec.name] = "1"
        elif spec.kind == "checkbox" and spec.group == "scopes":
            form[spec.name] = "on"  # consent: every scope
    return form


def test_every_text_field_of_every_form_comes_back_escaped(web_trial):
    ctx = sv.Context(web_trial.store, PROTOCOL, "inv1")
    browsers = {role: Browser(web_trial) for role in ("investigator", "surgeon", "admin")}
    for role, b in browsers.items():
        b.login(web_trial.users[role])
    admin = browsers["admin"]
    all_steps = {s.slug: s for s in steps(PROTOCOL)}
    checked = 0
    for n, (slug, (state, role)) in enumerate(sorted(WHERE.items())):
        step = all_steps[slug]
        assert any(i.is_text for i in step.inputs), slug
        for k, text in enumerate(HOSTILE):
            pid = _patient(ctx, state, n * 10 + k)
            response = browsers[role].post(f"/patients/{pid}/{slug}", _form(step, text))
            _clean(response.text)
            if response.status_code != 303:  # refused (e.g. no MDT review to switch on)
                assert _escaped(text) in response.text, (slug, response.status_code)
                continue
            urls = (f"/patients/{pid}", f"/patients/{pid}/audit", "/")
            pages = {url: admin.get(url).text for url in urls}  # each page read once
            for html in pages.values():
                _clean(html)
            page = pages[f"/patients/{pid}"]
            assert _escaped(text) in page, slug
            # ``{{7*7}}`` interpreted would read "49 ${7*7}" (the timeline's row ids hold digits)
            assert "49 ${7*7}" not in page.split("Timeline")[1]
            checked += 1
    assert checked >= 40


def test_hostile_pseudo_ids_lesion_codes_and_votes_are_escaped(web_trial):
    from talentop.services import identity
    from trial_builder import PASSWORD

    inv = Browser(web_trial)
    inv.login("investigator_a")
    admin = Browser(web_trial)
    admin.login("admin_a")
    for k, text in enumerate(HOSTILE):
        response = inv.post("/patients/new", {"site_code": "SH01", "pseudo_id": f"{text}{k}", "registered_on": day(-14).isoformat()})  # fmt: skip
        assert response.status_code == 303
        for url in ("/patients", response.headers["location"], "/"):
            html = admin.get(url).text
            _clean(html)
        assert _escaped(f"{text}{k}") in admin.get("/patients").text
    # lesion codes and organs are typed text too, shown in the assessment form's labels
    ctx = sv.Context(web_trial.store, PROTOCOL, "inv1")
    from patient_records import ELIGIBLE

    pid = register(ctx, "SH01", "LES1", day(-14))
    sv.screen_patient(ctx, pid, ELIGIBLE, day(-7))
    lesions = {"baseline_date": day(-7).isoformat(), "rows": "2",
               "lesion-0-id": HOSTILE[0], "lesion-0-kind": "target", "lesion-0-organ": HOSTILE[1], "lesion-0-diameter_mm": "50",
               "lesion-1-id": "<b>bold</b>", "lesion-1-kind": "non_target", "lesion-1-organ": HOSTILE[2], "action": "save"}  # fmt: skip
    too_long = inv.post(f"/patients/{pid}/lesions", lesions)  # a code longer than 16 characters
    assert too_long.status_code == 422 and 'id="err-lesion-0-id"' in too_long.text
    _clean(too_long.text)
    lesions["lesion-0-id"] = "<i>T1</i>'--"
    assert inv.post(f"/patients/{pid}/lesions", lesions).status_code == 303
    for url in (f"/patients/{pid}/assessment", f"/patients/{pid}", f"/patients/{pid}/audit"):
        html = admin.get(url).text if url.endswith("audit") else inv.get(url).text
        _clean(html)
    # a vote's reason, on the patient page of the site
    system = sv.Context(web_trial.store, PROTOCOL, "system")
    for name, specialty in (("onc_h", "hepatologist_or_oncologist"), ("rad_h", "radiologist")):
        identity.create_account(system, name, "mdt_member", PASSWORD, specialty=specialty)
    assessed = to_assessed(ctx, "V1")
    voter = Browser(web_trial)
    voter.login("mdt_member_a")
    r = voter.post(f"/patients/{assessed}/vote", {"vote_date": day(72).isoformat(), "resectable": "yes", "reason": HOSTILE[1], **CRITERIA_FORM})  # fmt: skip
    _clean(r.text)
    html = inv.get(f"/patients/{assessed}").text
    _clean(html)
    assert _escaped(HOSTILE[1]) in html


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_in_number_and_date_fields_is_quoted_back_escaped(web_trial, text):
    inv = Browser(web_trial)
    inv.login("investigator_a")
    ctx = sv.Context(web_trial.store, PROTOCOL, "inv1")
    pid = to_induction(ctx, "N1")
    dose = inv.post(f"/patients/{pid}/doses", {"cycle": text, "drug": "atezolizumab", "dose_given_mg": text, "weight_kg": text, "given_on": text})  # fmt: skip
    assert dose.status_code == 422
    _clean(dose.text)
    assert _escaped(text) in dose.text
    preview = inv.post(f"/patients/{pid}/doses/preview", {"cycle": "1", "drug": text, "weight_kg": "70"}, headers={"HX-Request": "true"})  # fmt: skip
    _clean(preview.text)
    screening = inv.post(f"/patients/{register(ctx, 'SH01', 'N2', day(-14))}/screening", {"screened_on": text, "ecog": text, "vp_grade": text, "hcc_confirmed": text})  # fmt: skip
    assert screening.status_code == 422
    _clean(screening.text)
    live = inv.post(f"/patients/{pid}/screening/check", {"ecog": text}, headers={"HX-Request": "true"})  # fmt: skip
    _clean(live.text)
    listing = inv.get("/patients", params={"q": text[:60], "site": "", "arm": ""})
    _clean(listing.text)
