"""Serious adverse event reports on top of the AE records (SQLite and PostgreSQL).

Sources, as each test cites them:
- ICH E2A (1994) II.B: serious = results in death, is life-threatening, requires inpatient
  hospitalisation or prolongation of existing hospitalisation, results in persistent or
  significant disability/incapacity, is a congenital anomaly/birth defect; or an important
  medical event. II.A.2: an adverse reaction has a reasonable possibility of a causal
  relationship. II.C: unexpected = not consistent with the reference safety information
  (more severe than described is unexpected). III.B.1: fatal or life-threatening unexpected
  ADRs no later than 7 calendar days after the sponsor's first knowledge; III.B.2: other
  serious unexpected ADRs no later than 15 calendar days.
- 21 CFR 312.32(c)(1)-(2): IND safety reports in 15 calendar days; unexpected fatal or
  life-threatening suspected adverse reactions in 7 calendar days.
- ICH E6(R3) 2.7: SAEs reported to the sponsor immediately after the investigator becomes
  aware, with causality; follow-up reports as necessary (protocol clock: 24 hours).
"""

from __future__ import annotations

import datetime as dt

import pytest

from flow_helpers import PROTOCOL, context, day, randomised_in_arm, surgeon, to_randomised
from talentop import services as sv
from talentop.errors import InvalidInput, PermissionDenied
from talentop.store import models as m
from talentop.store import queries

pytestmark = pytest.mark.db

CAUSALITY = {"atezolizumab": "unlikely", "bevacizumab": "probable"}


def at(n: int, hour: int = 9, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day(n), dt.time(hour, minute))


@pytest.fixture
def patient(store):
    ctx = context(store)
    pid, _ = to_randomised(ctx)
    return ctx, pid


def sponsor(ctx):
    """The sponsor's pharmacovigilance (an admin: expedited reports are the sponsor's)."""
    sv.create_user(sv.Context(ctx.store, PROTOCOL, "system"), "pv1", "admin")
    return sv.Context(ctx.store, PROTOCOL, "pv1")


def _ae(ctx, pid, n=80, term="Gastrointestinal haemorrhage", grade=3):
    return sv.record_adverse_event(ctx, pid, day(n), term=term, grade=grade, attribution="probable")


def test_the_24_hour_clock_runs_from_awareness(patient):
    """E6(R3) 2.7 "immediately", the protocol's 24 h: reported exactly 24 h after awareness
    is on time; one minute later is late by that minute."""
    ctx, pid = patient
    first = sv.report_sae(ctx, _ae(ctx, pid), criteria=["hospitalisation"], awareness_at=at(80),
                          reported_at=at(81), causality=CAUSALITY)  # fmt: skip
    assert first["on_time"] and first["hours_to_report"] == 24.0
    assert first["due_at"] == at(81).isoformat()
    late = sv.report_sae(ctx, _ae(ctx, pid, 82), criteria=["hospitalisation"],
                         awareness_at=at(82), reported_at=at(83, 9, 1), causality=CAUSALITY)  # fmt: skip
    assert not late["on_time"] and late["late_by_hours"] == pytest.approx(1 / 60, abs=0.01)
    with store_session(ctx) as session:
        ae = queries.get(session, m.AdverseEvent, first["adverse_event_id"])
        assert ae.serious  # the AE record is the source, now marked serious


def store_session(ctx):
    return ctx.store.unit_of_work()


def test_offsets_are_converted_to_utc(patient):
    """A site time with an offset (Shanghai, +08:00) is stored in UTC: 09:00+08:00 (01:00Z)
    aware and 00:00Z the next day reported is 23 hours, on time; the naive 09:00 (UTC) the
    same report would be 15 hours."""
    ctx, pid = patient
    out = sv.report_sae(ctx, _ae(ctx, pid), criteria=["hospitalisation"],
                        awareness_at=f"{day(80)}T09:00:00+08:00",
                        reported_at=f"{day(81)}T00:00:00Z", causality=CAUSALITY)  # fmt: skip
    assert out["hours_to_report"] == 23.0 and out["on_time"]
    assert sv.sae_listing(ctx)[0]["awareness_at"] == f"{day(80)}T01:00:00"


def test_seriousness_criteria_follow_ich_e2a(patient):
    """E2A II.B: at least one criterion; "results in death" goes with a fatal (CTCAE grade 5)
    event both ways; unknown criteria are refused."""
    ctx, pid = patient
    ae = _ae(ctx, pid)
    for criteria, message in (
        ([], "criteria"),
        (["serious-ish"], "criteria"),
        (["death"], "'death' needs a fatal AE"),
    ):
        with pytest.raises(InvalidInput, match=message):
            sv.report_sae(ctx, ae, criteria=criteria, awareness_at=at(80), causality=CAUSALITY,
                          reported_at=at(80, 12))  # fmt: skip
    fatal = _ae(ctx, pid, 85, grade=5)
    with pytest.raises(InvalidInput, match="expected 'death' among them"):
        sv.report_sae(ctx, fatal, criteria=["hospitalisation"], awareness_at=at(85),
                      reported_at=at(85, 12), causality=CAUSALITY)  # fmt: skip
    out = sv.report_sae(ctx, fatal, criteria=["death"], awareness_at=at(85),
                        reported_at=at(85, 12), causality=CAUSALITY)  # fmt: skip
    # Bevacizumab's RSI lists GI haemorrhage up to grade 5 (fatal bleeding is labelled).
    assert out["expected"] == {"atezolizumab": False, "bevacizumab": True}
    assert not out["susar"]


def test_causality_is_asked_for_every_product_and_surgery_once_operated(store):
    """Each drug of the protocol needs a relatedness; the resection only once the patient was
    operated before the onset (arm A); unknown products are refused."""
    ctx = context(store)
    a = randomised_in_arm(ctx, "A")
    ae = sv.record_adverse_event(
        ctx, a, day(80), term="Bile leak", grade=3, attribution="unrelated"
    )
    with pytest.raises(InvalidInput, match="a relatedness for every product"):
        sv.report_sae(ctx, ae, criteria=["hospitalisation"], awareness_at=at(80),
                      reported_at=at(80, 12), causality={"atezolizumab": "unrelated"})  # fmt: skip
    with pytest.raises(InvalidInput, match=r"causality=\['aspirin'\]"):
        sv.report_sae(ctx, ae, criteria=["hospitalisation"], awareness_at=at(80),
                      reported_at=at(80, 12), causality={**CAUSALITY, "aspirin": "possible"})  # fmt: skip
    sv.record_surgery(surgeon(ctx), a, day(110), procedure="right hepatectomy", margin="R0",
                      blood_loss_ml=300)  # fmt: skip
    after = sv.record_adverse_event(ctx, a, day(113), term="Bile leak", grade=3,
                                    attribution="unrelated")  # fmt: skip
    with pytest.raises(InvalidInput, match="surgery"):
        sv.report_sae(ctx, after, criteria=["hospitalisation"], awareness_at=at(113),
                      reported_at=at(113, 12), causality=CAUSALITY)  # fmt: skip
    out = sv.report_sae(ctx, after, criteria=["hospitalisation"], awareness_at=at(113),
                        reported_at=at(113, 12),
                        causality={"atezolizumab": "unlikely", "bevacizumab": "unlikely",
                                   "surgery": "definite"})  # fmt: skip
    # A bile leak is an expected complication of hepatectomy: related, expected, no SUSAR.
    assert out["expected"]["surgery"] and out["related"]["surgery"] and not out["susar"]


def test_expectedness_and_the_susar_flag(patient):
    """E2A II.C: expected only as listed in the RSI and no more severe; SUSAR = serious +
    suspected (possible/probable/definite) + unexpected for that product."""
    ctx, pid = patient
    cases = [
        # term, grade, causality, expected per product, SUSAR
        ("Hypertension", 3, {"atezolizumab": "unlikely", "bevacizumab": "probable"},
         {"atezolizumab": False, "bevacizumab": True}, False),
        ("Proteinuria", 4, {"atezolizumab": "unrelated", "bevacizumab": "probable"},
         {"atezolizumab": False, "bevacizumab": False}, True),  # RSI lists grade <= 3
        ("Hepatic failure", 4, {"atezolizumab": "possible", "bevacizumab": "unlikely"},
         {"atezolizumab": False, "bevacizumab": False}, True),
        ("Hepatic failure", 4, {"atezolizumab": "unlikely", "bevacizumab": "unrelated"},
         {"atezolizumab": False, "bevacizumab": False}, False),  # not suspected: no SUSAR
    ]  # fmt: skip
    for i, (term, grade, causality, expected, susar) in enumerate(cases):
        ae = _ae(ctx, pid, 80 + i, term=term, grade=grade)
        out = sv.report_sae(ctx, ae, criteria=["hospitalisation"], awareness_at=at(80 + i),
                            reported_at=at(80 + i, 12), causality=causality)  # fmt: skip
        assert (out["expected"], out["susar"]) == (expected, susar), term


def test_expedited_clock_7_days_fatal_or_life_threatening_else_15(patient):
    """E2A III.B; 21 CFR 312.32(c)(1)-(2): day 0 is the sponsor's first knowledge (the initial
    report); 7 calendar days for a life-threatening SUSAR, 15 otherwise."""
    ctx, pid = patient
    causality = {"atezolizumab": "possible", "bevacizumab": "unlikely"}
    grave = sv.report_sae(ctx, _ae(ctx, pid, 80, "Hepatic failure", 4),
                          criteria=["life_threatening", "hospitalisation"], awareness_at=at(80),
                          reported_at=at(80, 20), causality=causality)  # fmt: skip
    other = sv.report_sae(ctx, _ae(ctx, pid, 81, "Hepatic failure", 3),
                          criteria=["hospitalisation"], awareness_at=at(81),
                          reported_at=at(82, 8), causality=causality)  # fmt: skip
    assert grave["expedited_due_on"] == day(87).isoformat()
    assert other["expedited_due_on"] == day(97).isoformat()
    pv = sponsor(ctx)
    with pytest.raises(PermissionDenied, match="does not grant 'manage_trial'"):
        sv.record_expedited_report(ctx, grave["sae_id"], day(88))
    sent = sv.record_expedited_report(pv, grave["sae_id"], day(88))
    assert sent == {"sae_id": grave["sae_id"], "expedited_due_on": day(87).isoformat(),
                    "on_time": False, "late_by_days": 1}  # fmt: skip
    with pytest.raises(InvalidInput, match="a SUSAR"):
        plain = sv.report_sae(ctx, _ae(ctx, pid, 83), criteria=["hospitalisation"],
                              awareness_at=at(83), reported_at=at(83, 9), causality=CAUSALITY)  # fmt: skip
        sv.record_expedited_report(pv, plain["sae_id"], day(84))


def test_follow_up_reports_have_their_own_clock_and_can_make_a_susar(patient):
    """E6(R3) 2.7: subsequent information as a follow-up report (24 h from receipt); new
    causality can turn an SAE into a SUSAR, whose expedited clock starts at that report; a
    fatal outcome updates the AE (grade 5) and adds "death"."""
    ctx, pid = patient
    ae = _ae(ctx, pid, 80, "Hepatic failure", 3)
    first = sv.report_sae(ctx, ae, criteria=["hospitalisation"], awareness_at=at(80),
                          reported_at=at(80, 15),
                          causality={"atezolizumab": "unlikely", "bevacizumab": "unlikely"})  # fmt: skip
    assert not first["susar"]
    fu = sv.record_sae_follow_up(ctx, first["sae_id"], info_received_at=at(84),
                                 reported_at=at(85, 10), description="biopsy: immune hepatitis",
                                 causality={"atezolizumab": "probable"})  # fmt: skip
    assert fu["sequence"] == 1 and not fu["on_time"] and fu["late_by_hours"] == 1.0
    assert fu["became_susar"] and fu["expedited_due_on"] == day(100).isoformat()
    with pytest.raises(InvalidInput, match="'death' needs a fatal AE"):
        sv.record_sae_follow_up(ctx, first["sae_id"], info_received_at=at(90),
                                reported_at=at(90, 10), description="died", criteria=["death"])  # fmt: skip
    fatal = sv.record_sae_follow_up(ctx, first["sae_id"], info_received_at=at(90),
                                    reported_at=at(90, 10), description="died of liver failure",
                                    criteria=["death"], grade=5, outcome="fatal")  # fmt: skip
    # Fatal: the 7-day clock from this report (day 97) is earlier than the 15-day one.
    assert fatal["sequence"] == 2 and fatal["expedited_due_on"] == day(97).isoformat()
    listing = sv.sae_listing(ctx)
    assert listing[0]["criteria"] == ["death", "hospitalisation"] and listing[0]["grade"] == 5
    assert listing[0]["follow_ups_late"] == 1 and listing[0]["outcome"] == "fatal"
    assert sv.verify(ctx.store).ok


def test_overdue_lists_reports_missing_against_their_clocks(patient):
    """A serious AE without a report is overdue 24 h after it was entered; a SUSAR without
    its expedited report after its due date; neither once sent."""
    ctx, pid = patient
    ae = sv.record_adverse_event(ctx, pid, day(80), term="Hypertension", grade=3,
                                 attribution="probable", serious=True)  # fmt: skip
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert sv.overdue_saes(ctx, now=now + dt.timedelta(hours=23)) == []
    overdue = sv.overdue_saes(ctx, now=now + dt.timedelta(hours=25))
    assert [(o["kind"], o["adverse_event_id"]) for o in overdue] == [("initial_report_missing", ae)]
    susar = sv.report_sae(ctx, _ae(ctx, pid, 81, "Hepatic failure", 4), criteria=["life_threatening"],
                          awareness_at=at(81), reported_at=at(81, 12),
                          causality={"atezolizumab": "possible", "bevacizumab": "unlikely"})  # fmt: skip
    sv.report_sae(ctx, ae, criteria=["hospitalisation"], awareness_at=at(80),
                  reported_at=at(80, 12), causality=CAUSALITY)  # fmt: skip
    kinds = [o["kind"] for o in sv.overdue_saes(ctx, now=at(89))]
    assert kinds == ["expedited_report_missing"]
    assert sv.overdue_saes(ctx, now=at(88)) == []  # due day 88, overdue from day 89
    sv.record_expedited_report(sponsor(ctx), susar["sae_id"], day(88))
    assert sv.overdue_saes(ctx, now=at(120)) == []


def test_reports_go_on_after_death_and_respect_sites(store):
    """A death does not end safety reporting; a user of another site cannot report."""
    ctx = context(store)
    pid, _ = to_randomised(ctx)
    ae = _ae(ctx, pid, 80)
    sv.record_death(ctx, pid, day(82), cause="bleeding")
    out = sv.report_sae(ctx, ae, criteria=["hospitalisation"], awareness_at=at(83),
                        reported_at=at(83, 10), causality=CAUSALITY)  # fmt: skip
    assert out["on_time"]
    system = sv.Context(store, PROTOCOL, "system")
    sv.create_site(system, "BJ02", "Beijing")
    sv.create_user(system, "inv_bj", "investigator", site_code="BJ02")
    other = sv.Context(store, PROTOCOL, "inv_bj")
    with pytest.raises(PermissionDenied, match="belongs to site 'BJ02'"):
        sv.record_sae_follow_up(other, out["sae_id"], info_received_at=at(84), description="x",
                                reported_at=at(84, 10))  # fmt: skip
    # The statistician reads the listing pseudonymised: no narrative or free text.
    stat = sv.Context(store, PROTOCOL, "stat1")
    assert "narrative" not in sv.sae_listing(stat)[0]
    form = sv.sae_form(ctx, out["sae_id"])
    assert form["protocol"]["registry_id"] == "NCT04649489"
    assert form["clocks"]["initial_report_hours"] == 24


def test_printable_form_shows_the_clock_and_escapes_text(patient):
    from talentop.reports.sae_form import render_sae_form

    ctx, pid = patient
    out = sv.report_sae(ctx, _ae(ctx, pid), criteria=["hospitalisation"], awareness_at=at(80),
                        reported_at=at(81, 13), causality=CAUSALITY,
                        narrative="<script>alert(1)</script> melaena")  # fmt: skip
    html = render_sae_form(sv.sae_form(ctx, out["sae_id"]))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "no: 4.0 h late" in html and "Gastrointestinal haemorrhage" in html
