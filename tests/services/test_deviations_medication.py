"""Deviations entered by hand and medication rules as protocol data (SQLite and PostgreSQL).

Sources: ICH E6(R3) 2.5.3 (the investigator documents all protocol deviations and, for
important ones, explains them and implements measures to prevent a recurrence); ICH E3
Q&A (R1) Q7 (important protocol deviations); NCT04649489 (traditional Chinese medicine
allowed if stopped at least 7 days before the start of treatment); IMbrave150 protocol
(HBV: antiviral treatment and HBV DNA monitoring on atezolizumab + bevacizumab); bevacizumab
SmPC 4.4 (haemorrhage: caution with anticoagulation) for the anticoagulant flag.
"""

from __future__ import annotations

import pytest

from flow_helpers import PROTOCOL, context, day, give_induction, to_induction, to_randomised
from talentop import services as sv
from talentop.errors import InvalidInput, PermissionDenied

pytestmark = pytest.mark.db


def test_deviation_vocabulary_classification_and_capa(store):
    """Categories come from the protocol; the classification defaults to the category's; a
    major deviation needs its preventive action (E6(R3) 2.5.3); who decided is recorded."""
    ctx = context(store)
    pid = to_induction(ctx)
    with pytest.raises(InvalidInput, match="category='late': expected one of the protocol's"):
        sv.record_deviation(ctx, pid, day(3), category="late", description="x")
    with pytest.raises(InvalidInput, match="preventive_action=None: expected the measure"):
        sv.record_deviation(ctx, pid, day(3), category="eligibility", description="ECOG 2")
    with pytest.raises(InvalidInput, match="preventive_action"):
        sv.record_deviation(ctx, pid, day(3), category="visit_window", description="late",
                            classification="major")  # fmt: skip
    minor = sv.record_deviation(ctx, pid, day(3), category="visit_window", description="late")
    major = sv.record_deviation(
        ctx, pid, day(4), category="eligibility", description="ECOG assessed 9 days before",
        corrective_action="ECOG repeated", preventive_action="screening checklist",
        decided_by="Prof Fan (PI)",
    )  # fmt: skip
    log = sv.deviation_log(ctx)
    assert [
        (d["deviation_id"], d["classification"], d["decided_by"], d["source"]) for d in log
    ] == [
        (minor, "minor", "inv1", "manual"),
        (major, "major", "Prof Fan (PI)", "manual"),
    ]


def test_service_raised_deviations_take_their_category_default(store):
    """The surgery washout override the service records is a major deviation in the log and
    the summary, by arm."""
    ctx = context(store)
    pid, arm = to_randomised(ctx)
    sv.record_deviation(ctx, pid, day(74), category="visit_window", description="scan late")
    with store.unit_of_work() as session:
        from talentop.store import models as m
        from talentop.store import writes

        writes.insert(session, "system", m.ProtocolDeviation(
            patient_id=pid, deviation_date=day(75), category="surgery_washout",
            description="surgery 20 days after bevacizumab; override: bleeding"))  # fmt: skip
    summary = sv.deviation_summary(ctx)
    rows = {c["category"]: c for c in summary["categories"]}
    assert rows["surgery_washout"]["classification"] == "major"
    assert rows["surgery_washout"][arm] == 1 and rows["visit_window"][arm] == 1
    assert (summary["total"], summary["major"], summary["manual"]) == (2, 1, 1)
    assert summary["patients_with_major"][arm] == 1


def test_the_deviation_log_is_per_site_and_scoped(store):
    ctx = context(store)
    pid = to_induction(ctx)
    sv.record_deviation(ctx, pid, day(3), category="visit_window", description="late")
    system = sv.Context(store, PROTOCOL, "system")
    sv.create_site(system, "BJ02", "Beijing")
    sv.create_user(system, "coord_bj", "coordinator", site_code="BJ02")
    other = sv.Context(store, PROTOCOL, "coord_bj")
    assert sv.deviation_log(other) == []
    with pytest.raises(PermissionDenied, match="may not read site 'SH01'"):
        sv.deviation_log(other, site="SH01")
    assert [d["site"] for d in sv.deviation_log(ctx, site="SH01")] == ["SH01"]
    stat = sv.Context(store, PROTOCOL, "stat1")
    assert "description" not in sv.deviation_log(stat)[0]


def _rules(findings):
    return [(f["rule"], f["severity"]) for f in findings]


def test_hbv_antiviral_required_when_hbv_dna_detectable(store):
    """HBV DNA above the protocol's limit (20 IU/mL) at screening: an antiviral must be taken
    from induction on; with entecavir ongoing there is no finding."""
    ctx = context(store)
    pid = to_induction(ctx)  # induction starts day 0
    sv.record_lab(ctx, pid, sampled_on=day(-7), test="hbv_dna", value=20, unit="IU/mL")
    assert sv.medication_checks(ctx, pid)["findings"] == []  # 20 is not above 20
    sv.record_lab(ctx, pid, sampled_on=day(-6), test="hbv_dna", value=350, unit="IU/mL")
    findings = sv.medication_checks(ctx, pid)["findings"]
    assert _rules(findings) == [("hbv_antiviral_when_dna_detectable", "violation")]
    assert "hbv_dna 350 IU/mL" in findings[0]["message"]
    out = sv.record_conmed(ctx, pid, day(-200), name="Entecavir", indication="hepatitis B",
                           dose_value=0.5, dose_unit="mg", frequency="once daily")  # fmt: skip
    assert out["drug_class"] == "hbv_antiviral" and out["findings"] == []


def test_hbv_dna_is_monitored_every_12_weeks_on_treatment(store):
    ctx = context(store)
    pid, _ = to_randomised(ctx)
    sv.record_conmed(ctx, pid, day(-200), name="Tenofovir", indication="hepatitis B")
    sv.record_lab(ctx, pid, sampled_on=day(-7), test="hbv_dna", value=500, unit="IU/mL")
    # Doses from day 0 to day 63 (induction): 63 days < 12 weeks, no gap yet.
    assert sv.medication_checks(ctx, pid)["findings"] == []
    sv.record_dose(ctx, pid, cycle=1, drug="atezolizumab", dose_given_mg=1200, given_on=day(90),
                   phase="continued")  # fmt: skip
    findings = sv.medication_checks(ctx, pid)["findings"]
    assert _rules(findings) == [("hbv_antiviral_when_dna_detectable", "violation")]
    assert "no hbv_dna test between 2025-01-06 and 2025-04-06" in findings[0]["message"]
    sv.record_lab(ctx, pid, sampled_on=day(80), test="hbv_dna", value=10, unit="IU/mL")
    assert sv.medication_checks(ctx, pid)["findings"] == []


def test_anticoagulant_taken_with_bevacizumab_is_flagged(store):
    ctx = context(store)
    pid = to_induction(ctx)
    give_induction(ctx, pid)  # bevacizumab days 0, 21, 42
    out = sv.record_conmed(ctx, pid, day(50), stop_date=day(60), name="Rivaroxaban",
                           indication="deep vein thrombosis")  # fmt: skip
    assert out["findings"] == []  # after the last bevacizumab
    out = sv.record_conmed(ctx, pid, day(15), stop_date=day(25), name="enoxaparin sodium",
                           indication="deep vein thrombosis", dose_value=40, dose_unit="mg")  # fmt: skip
    assert _rules(out["findings"]) == [("anticoagulant_with_bevacizumab", "flag")]
    assert out["findings"][0]["date"] == day(21).isoformat()
    alerts = sv.medication_alerts(ctx)
    assert [(a["pseudo_id"], a["rule"]) for a in alerts] == [
        ("P001", "anticoagulant_with_bevacizumab")
    ]


@pytest.mark.parametrize(("stopped", "finding"), [(-7, False), (-6, True), (None, True)])
def test_tcm_washout_of_7_days_before_induction(store, stopped, finding):
    """NCT04649489: traditional Chinese medicine stopped at least 7 days before induction
    (day 0): stopped on day -7 passes, day -6 or still taken is a violation."""
    ctx = context(store)
    pid = to_induction(ctx)
    options = {"stop_date": day(stopped)} if stopped is not None else {}
    out = sv.record_conmed(ctx, pid, day(-60), name="Huaier granule", indication="HCC",
                           **options)  # fmt: skip
    assert out["drug_class"] == "tcm"
    assert _rules(out["findings"]) == ([("tcm_washout", "violation")] if finding else [])


def test_conmed_and_history_inputs(store):
    ctx = context(store)
    pid = to_induction(ctx)
    with pytest.raises(InvalidInput, match="ongoing=True: expected false when a stop_date"):
        sv.record_conmed(ctx, pid, day(0), name="X", indication="y", stop_date=day(2), ongoing=True)
    with pytest.raises(InvalidInput, match="stop_date"):
        sv.record_conmed(ctx, pid, day(5), name="X", indication="y", stop_date=day(2))
    with pytest.raises(InvalidInput, match="drug_class='statin'"):
        sv.record_conmed(ctx, pid, day(0), name="X", indication="y", drug_class="statin")
    hid = sv.record_medical_history(ctx, pid, day(-7), condition="Chronic hepatitis B",
                                    onset_year=2001, ongoing=True)  # fmt: skip
    checks = sv.medication_checks(ctx, pid)
    assert hid > 0 and checks["medical_history"][0]["condition"] == "Chronic hepatitis B"
    with pytest.raises(InvalidInput, match="onset_year=2030"):
        sv.record_medical_history(ctx, pid, day(-7), condition="x", onset_year=2030)


def test_conduct_summary_by_arm_and_its_report_tables(store):
    """The report's consent and medication tables (ICH E3 10.1: disposition with the reasons
    for withdrawal; 10.2 / 12.5: concomitant therapy by group) count patients per arm from
    the records: a randomised patient on entecavir with HBV DNA monitored, a patient in
    induction still taking TCM (tcm_washout violation) who withdrew consent to treatment."""
    from talentop.reports.conduct import consent_table, medication_table

    ctx = context(store)
    pid, arm = to_randomised(ctx)
    sv.record_conmed(ctx, pid, day(-200), name="Entecavir", indication="hepatitis B")
    sv.record_medical_history(ctx, pid, day(-14), condition="chronic hepatitis B", ongoing=True)
    other = to_induction(ctx, "P002")
    sv.record_conmed(ctx, other, day(-60), name="Huaier granule", indication="HCC")
    sv.record_conmed(ctx, other, day(-30), name="Omeprazole", indication="dyspepsia")
    sv.withdraw_consent(ctx, other, day(20), scopes=["treatment"], reason="moved away")

    summary = sv.conduct_summary(ctx)
    arms = summary["arms"]
    assert arms == ["A", "B", "-"]
    assert summary["patients"] == {a: int(a == arm) + int(a == "-") for a in arms}
    assert summary["consent"]["consented"][arm] == 1 and summary["consent"]["consented"]["-"] == 1
    assert summary["withdrawals"]["treatment"] == {a: int(a == "-") for a in arms}
    assert summary["withdrawals"]["follow_up"] == {a: 0 for a in arms}
    medication = {row["class"]: row for row in summary["medication"]}
    assert medication["hbv_antiviral"][arm] == 1 and medication["hbv_antiviral"]["-"] == 0
    assert medication["tcm"]["-"] == 1 and medication["other"]["-"] == 1
    assert medication["any"][arm] == 1 and medication["any"]["-"] == 1
    findings = {row["rule"]: row for row in summary["findings"]}
    assert findings["tcm_washout"]["-"] == 1 and findings["tcm_washout"][arm] == 0
    assert summary["medical_history"] == {a: int(a == arm) for a in arms}

    labels = {"-": "not randomised"}
    consent = consent_table(summary, labels).frame.set_index("")
    assert consent.loc["Withdrew consent: treatment", "not randomised"] == 1
    assert consent.loc["Patients", arm] == 1
    meds = medication_table(summary, labels).frame.set_index("")
    assert meds.loc["Traditional Chinese medicine", "not randomised"] == "1 (100.0%)"
    assert meds.loc["Any concomitant medication", arm] == "1 (100.0%)"
    # Scoped: a coordinator of another site counts nobody.
    system = sv.Context(store, PROTOCOL, "system")
    sv.create_site(system, "BJ02", "Beijing")
    sv.create_user(system, "coord_bj", "coordinator", site_code="BJ02")
    elsewhere = sv.conduct_summary(sv.Context(store, PROTOCOL, "coord_bj"))
    assert elsewhere["patients"] == {a: 0 for a in arms}
