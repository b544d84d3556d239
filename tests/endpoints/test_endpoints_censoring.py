"""Censoring rules, case by case.

Each scenario's expected (ADT, CNSR, EVNTDESC) is derived by hand in its docstring from
FDA "Clinical Trial Endpoints for the Approval of Cancer Drugs and Biologics" (2007),
Appendix 3 Table A (PFS 1, documented progression only), and CDISC ADaM ADTTE / admiral
``derive_param_tte`` (CNSR 0 = event, positive = censored, ADT >= STARTDT).
Randomisation is 2024-01-01 (day 0); assessments every 56 days; one missed visit allowed.
"""

import datetime as dt

import pytest

from talentop.endpoints import CENSORING_CODES, PatientTimeline, derive_adtte
from talentop.errors import InvalidInput

RAND = dt.date(2024, 1, 1)
CUTOFF = dt.date(2025, 6, 30)
FAILURES = ["toxicity", "progression", "death"]
CENSORS = ["withdrawal", "completed_maintenance", "surgery"]


def day(n: int) -> dt.date:
    return RAND + dt.timedelta(days=n)


def derive(timeline, **overrides):
    options = {
        "failure_reasons": FAILURES,
        "censor_reasons": CENSORS,
        "cutoff_date": CUTOFF,
        "assessment_interval_days": 56,
        "missed_visits_allowed": 1,
    } | overrides
    frame = derive_adtte([timeline], **options)
    return {row.PARAMCD: row for row in frame.itertuples()}


def outcome(row):
    return row.ADT, row.CNSR, row.EVNTDESC


def code(description):
    return next(c for c, (desc, _, _) in CENSORING_CODES.items() if desc == description)


def patient(**fields):
    return PatientTimeline(usubjid=fields.pop("usubjid", "S01-001"), arm="A",
                           randomisation_date=RAND, **fields)  # fmt: skip


def test_death_after_two_missed_visits_is_censored_at_last_adequate_assessment():
    """Table A: "Death or progression after more than one missed visit -> date of last
    radiological assessment -> censored". Last assessment day 56; visits due on days 112
    and 168 missed; death on day 170 -> PFS ADT = day 56, CNSR = 8. OS counts the death."""
    rows = derive(patient(assessment_dates=[day(56)], death_date=day(170),
                          last_contact_date=day(150)))  # fmt: skip
    assert outcome(rows["PFS"]) == (day(56), code("EVENT AFTER MISSED VISITS"),
                                     "EVENT AFTER MISSED VISITS")  # fmt: skip
    assert rows["PFS"].CNSDTDSC == "LAST ADEQUATE ASSESSMENT"
    assert outcome(rows["OS"]) == (day(170), 0, "DEATH")


def test_death_between_adequate_visits_is_an_event():
    """Table A: "Death between adequate assessment visits -> date of death -> progressed".
    Assessments days 56 and 112, death day 140 (no visit missed) -> ADT day 140, CNSR 0."""
    rows = derive(patient(assessment_dates=[day(56), day(112)], death_date=day(140)))
    assert outcome(rows["PFS"]) == (day(140), 0, "DEATH")
    assert outcome(rows["PFSMR"]) == (day(140), 0, "DEATH")


def test_death_after_exactly_one_missed_visit_is_still_an_event():
    """One missed visit is allowed: last assessment day 56, visit day 112 missed, death day
    160 (before the day-168 visit) -> event on day 160."""
    rows = derive(patient(assessment_dates=[day(56)], death_date=day(160)))
    assert outcome(rows["PFS"]) == (day(160), 0, "DEATH")


def test_death_before_first_assessment_is_an_event():
    """Table A: "Death before first PD assessment -> date of death -> progressed" (day 30)."""
    rows = derive(patient(death_date=day(30)))
    assert outcome(rows["PFS"]) == (day(30), 0, "DEATH")


def test_progression_documented_is_an_event_and_differs_by_criteria():
    """Table A: "Progression documented between scheduled visits -> progressed". PD by
    RECIST 1.1 on day 112, by mRECIST earlier on day 56 -> PFS day 112, PFSMR day 56."""
    rows = derive(patient(assessment_dates=[day(56), day(112)],
                          progression_date_recist=day(112), progression_date_mrecist=day(56)))  # fmt: skip
    assert outcome(rows["PFS"]) == (day(112), 0, "PROGRESSION")
    assert outcome(rows["PFSMR"]) == (day(56), 0, "PROGRESSION")


def test_no_progression_is_censored_at_last_adequate_assessment():
    """Table A: "No progression -> date of last radiological assessment -> censored"."""
    rows = derive(patient(assessment_dates=[day(56), day(112), day(168)],
                          last_contact_date=day(200)))  # fmt: skip
    assert outcome(rows["PFS"]) == (day(168), code("NO PROGRESSION"), "NO PROGRESSION")
    assert outcome(rows["OS"]) == (day(200), code("LAST DATE KNOWN ALIVE"), "LAST DATE KNOWN ALIVE")


def test_lost_to_follow_up():
    """Lost after the day-112 assessment, last contact day 130: PFS censored at the last
    adequate assessment (day 112), OS at the last date known alive (day 130), both code 3."""
    rows = derive(patient(assessment_dates=[day(56), day(112)], last_contact_date=day(130),
                          lost_to_follow_up=True))  # fmt: skip
    ltfu = code("LOST TO FOLLOW-UP")
    assert outcome(rows["PFS"]) == (day(112), ltfu, "LOST TO FOLLOW-UP")
    assert outcome(rows["OS"]) == (day(130), ltfu, "LOST TO FOLLOW-UP")


def test_events_after_data_cutoff_are_ignored():
    """Death 10 days after the cut-off: OS censored at the cut-off (the patient was alive
    then), code 2; PD after the cut-off is unknown at the cut-off: PFS censored at the last
    assessment on or before the cut-off (Table A "No progression")."""
    last_before = CUTOFF - dt.timedelta(days=20)
    rows = derive(patient(assessment_dates=[day(56), last_before, CUTOFF + dt.timedelta(days=5)],
                          progression_date_recist=CUTOFF + dt.timedelta(days=5),
                          death_date=CUTOFF + dt.timedelta(days=10)))  # fmt: skip
    assert outcome(rows["OS"]) == (CUTOFF, code("DATA CUT-OFF"), "DATA CUT-OFF")
    assert outcome(rows["PFS"]) == (last_before, code("NO PROGRESSION"), "NO PROGRESSION")
    assert rows["TTF"].ADT == CUTOFF and rows["TTF"].CNSR == code("DATA CUT-OFF")


def test_new_anticancer_therapy_censors_at_last_assessment_before_it():
    """Table A: "New anticancer treatment started -> last radiological assessment ->
    censored". Assessments days 56, 112; new therapy day 130; PD day 168 -> ADT day 112."""
    rows = derive(patient(assessment_dates=[day(56), day(112), day(168)],
                          new_anticancer_therapy_date=day(130), progression_date_recist=day(168)))  # fmt: skip
    assert outcome(rows["PFS"]) == (day(112), code("NEW ANTICANCER THERAPY"),
                                    "NEW ANTICANCER THERAPY")  # fmt: skip


def test_surgery_is_protocol_therapy_unless_configured():
    """TALENTOP SAP choice (clinical-rules 7.2): resection in the surgical arm is protocol
    therapy, not a censoring event; configured as censoring it behaves like new therapy."""
    timeline = patient(assessment_dates=[day(56), day(112)], surgery_date=day(80),
                       progression_date_recist=day(112))  # fmt: skip
    assert outcome(derive(timeline)["PFS"]) == (day(112), 0, "PROGRESSION")
    censored = derive(timeline, surgery_censors_in_arms=["A"])["PFS"]
    assert outcome(censored) == (day(56), code("NEW ANTICANCER THERAPY"), "NEW ANTICANCER THERAPY")


def test_no_baseline_assessment_is_censored_at_randomisation():
    """Table A: "No baseline tumor assessments -> randomization -> censored"; AVAL 0."""
    rows = derive(patient(has_baseline_assessment=False, assessment_dates=[day(56)],
                          progression_date_recist=day(56)))  # fmt: skip
    assert outcome(rows["PFS"]) == (RAND, code("NO BASELINE TUMOUR ASSESSMENT"),
                                    "NO BASELINE TUMOUR ASSESSMENT")  # fmt: skip
    assert rows["PFS"].AVAL == 0.0


def test_no_post_baseline_assessment_is_censored_at_randomisation():
    """No adequate post-baseline assessment, alive: PFS censored at randomisation."""
    rows = derive(patient(last_contact_date=day(40)))
    assert outcome(rows["PFS"]) == (RAND, code("NO ADEQUATE POST-BASELINE ASSESSMENT"),
                                    "NO ADEQUATE POST-BASELINE ASSESSMENT")  # fmt: skip


def test_ttf_by_toxicity_is_an_event_but_withdrawal_is_censored():
    """TTF per the protocol's failure_reasons: toxicity (listed as failure) on day 90 ->
    event day 90; withdrawal (listed as censor reason) on day 90 -> censored day 90 code 9."""
    toxic = derive(patient(discontinuations=[(day(90), "toxicity")]))["TTF"]
    assert outcome(toxic) == (day(90), 0, "DISCONTINUATION: toxicity")
    withdrawn = derive(patient(discontinuations=[(day(90), "withdrawal"), (day(120), "toxicity")]))
    assert outcome(withdrawn["TTF"]) == (day(90), code("DISCONTINUATION NOT A FAILURE"),
                                         "DISCONTINUATION NOT A FAILURE")  # fmt: skip
    # The same withdrawal is a failure when the protocol says so.
    strict = derive(patient(discontinuations=[(day(90), "withdrawal")]),
                    failure_reasons=FAILURES + ["withdrawal"], censor_reasons=["surgery"])  # fmt: skip
    assert outcome(strict["TTF"]) == (day(90), 0, "DISCONTINUATION: withdrawal")


def test_ttf_death_and_listed_progression_are_failures():
    """FDA TTF: discontinuation for any failure reason including progression and death."""
    assert outcome(derive(patient(death_date=day(50)))["TTF"]) == (day(50), 0, "DEATH")
    progressed = derive(patient(progression_date_recist=day(70)))["TTF"]
    assert outcome(progressed) == (day(70), 0, "PROGRESSION")
    not_listed = derive(patient(progression_date_recist=day(70), last_contact_date=day(100)),
                        failure_reasons=["toxicity"], censor_reasons=CENSORS)["TTF"]  # fmt: skip
    assert outcome(not_listed) == (day(100), code("ON TREATMENT AT LAST CONTACT"),
                                   "ON TREATMENT AT LAST CONTACT")  # fmt: skip


def test_unknown_discontinuation_reason_names_patient_and_reason():
    with pytest.raises(InvalidInput, match=r"patient 'S01-001': discontinuation reason='bored'"):
        derive(patient(discontinuations=[(day(10), "bored")]))


def test_overlapping_reason_lists_are_refused():
    with pytest.raises(InvalidInput, match=r"both list \['toxicity'\]: expected disjoint"):
        derive(patient(), censor_reasons=["toxicity"])


def test_adt_never_before_startdt():
    """admiral: ADT = max(ADT, STARTDT). A death dated before randomisation (data error
    kept as recorded) gives ADT = STARTDT and AVAL 0."""
    rows = derive(patient(death_date=RAND - dt.timedelta(days=3)))
    assert rows["OS"].ADT == RAND and rows["OS"].AVAL == 0.0 and rows["OS"].CNSR == 0


def test_invalid_timeline_fields_are_named():
    with pytest.raises(InvalidInput, match=r"death_date='2024-02-01': expected a date or None"):
        patient(death_date="2024-02-01")


def test_progression_after_two_missed_visits_is_censored():
    """Table A: "Death or progression after more than one missed visit". Last assessment
    day 56; days 112 and 168 missed; PD found on day 200 -> censored at day 56, code 8."""
    rows = derive(patient(assessment_dates=[day(56), day(200)], progression_date_recist=day(200)))
    assert outcome(rows["PFS"]) == (day(56), code("EVENT AFTER MISSED VISITS"),
                                    "EVENT AFTER MISSED VISITS")  # fmt: skip
    # With the missed-visit rule switched off the same progression is an event.
    relaxed = derive(patient(assessment_dates=[day(56), day(200)],
                             progression_date_recist=day(200)), assessment_interval_days=None)  # fmt: skip
    assert outcome(relaxed["PFS"]) == (day(200), 0, "PROGRESSION")


def test_new_therapy_after_progression_does_not_censor():
    """Table A censors for new therapy only when it starts before a documented event:
    PD day 112, new therapy day 120 -> PFS event day 112."""
    rows = derive(patient(assessment_dates=[day(56), day(112)], progression_date_recist=day(112),
                          new_anticancer_therapy_date=day(120)))  # fmt: skip
    assert outcome(rows["PFS"]) == (day(112), 0, "PROGRESSION")
