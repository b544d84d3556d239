"""TTF with an arm-B switch to surgery and with local therapy; TACE-PFS.

Switch readings: ICH E9(R1) addendum on estimands (2019), section A.3.2 strategies for an
intercurrent event - treatment policy ("ignore": follow-up for failure goes on), hypothetical
("censor" at the switch), composite ("event": the switch is a failure). TACE-PFS: TALENTACE
(ESMO GI 2025 LBA2): time from randomisation to untreatable progression, TACE failure/
refractoriness or death; refractoriness by JSH (two consecutive insufficient responses).
Randomisation 2024-01-01 (day 0); AVAL = days / 30.4375.
"""

import datetime as dt

import pytest

from talentop.endpoints import CENSORING_CODES, PatientTimeline, derive_adtte
from talentop.endpoints.tace import TacePfsRule
from talentop.errors import InvalidInput

RAND = dt.date(2024, 1, 1)
CUTOFF = dt.date(2026, 6, 30)
FAILURES = ["progression", "untreatable_progression", "tace_refractoriness"]


def day(n: int) -> dt.date:
    return RAND + dt.timedelta(days=n)


def code(description: str) -> int:
    return next(c for c, (desc, _, _) in CENSORING_CODES.items() if desc == description)


def row(timeline, paramcd="TTF", **options):
    frame = derive_adtte(
        [timeline], failure_reasons=FAILURES, censor_reasons=[], cutoff_date=CUTOFF, **options
    )
    return frame[frame.PARAMCD == paramcd].iloc[0]


SWITCHED = PatientTimeline(
    usubjid="B-001",
    arm="B",
    randomisation_date=RAND,
    switch_date=day(200),
    surgery_date=day(230),
    discontinuations=[(day(500), "progression")],
    last_contact_date=day(600),
)


def test_switch_ignored_treatment_policy_counts_the_later_failure():
    result = row(SWITCHED, switch_handling="ignore")
    assert (result.ADT, result.CNSR, result.EVNTDESC) == (
        day(500),
        0,
        "DISCONTINUATION: progression",
    )


def test_switch_censored_hypothetical():
    result = row(SWITCHED, switch_handling="censor")
    assert (result.ADT, result.CNSR, result.EVNTDESC) == (
        day(200), code("SWITCH TO SURGERY"), "SWITCH TO SURGERY",
    )  # fmt: skip
    assert result.AVAL == pytest.approx(200 / 30.4375)


def test_switch_as_event_composite():
    result = row(SWITCHED, switch_handling="event")
    assert (result.ADT, result.CNSR, result.EVNTDESC) == (day(200), 0, "SWITCH TO SURGERY")


def test_a_failure_before_the_switch_wins_in_every_reading():
    early = PatientTimeline(
        usubjid="B-002", arm="B", randomisation_date=RAND, switch_date=day(300),
        discontinuations=[(day(100), "progression")],
    )  # fmt: skip
    for handling in ("ignore", "censor", "event"):
        assert row(early, switch_handling=handling).ADT == day(100)


def test_local_therapy_effect_is_the_protocols():
    treated = PatientTimeline(
        usubjid="A-003", arm="A", randomisation_date=RAND, local_therapy_dates=[day(60)],
        last_contact_date=day(400),
    )  # fmt: skip
    assert row(treated, local_therapy_effect="continue").EVNTDESC == "ON TREATMENT AT LAST CONTACT"
    assert row(treated, local_therapy_effect="failure").CNSR == 0
    assert row(treated, local_therapy_effect="censor").CNSR == code("LOCAL THERAPY")


def test_bad_handling_is_refused():
    with pytest.raises(InvalidInput, match="switch_handling='cross'"):
        row(SWITCHED, switch_handling="cross")


RULE = TacePfsRule(
    event_reasons=frozenset({"untreatable_progression", "tace_refractoriness"}),
    refractory_after=2,
    insufficient_responses=frozenset({"SD", "PD"}),
)


def test_treatable_progression_is_not_a_tace_pfs_event():
    """mRECIST PD at day 120 followed by a repeat TACE is not an event; untreatable
    progression recorded at day 400 is."""
    timeline = PatientTimeline(
        usubjid="T-001", arm="B", randomisation_date=RAND,
        progression_date_mrecist=day(120),
        local_therapy_dates=[day(7), day(130)],
        local_therapy_responses=[(day(60), "PR"), (day(190), "SD")],
        discontinuations=[(day(400), "untreatable_progression")],
        assessment_dates=[day(60), day(120), day(190), day(250), day(400)],
    )  # fmt: skip
    result = row(timeline, "TACEPFS", tace_pfs=RULE)
    assert (result.ADT, result.CNSR, result.EVNTDESC) == (day(400), 0, "UNTREATABLE PROGRESSION")
    assert row(timeline, "PFSMR", tace_pfs=RULE).ADT == day(120)


def test_refractoriness_from_two_insufficient_post_tace_responses():
    timeline = PatientTimeline(
        usubjid="T-002", arm="B", randomisation_date=RAND,
        local_therapy_responses=[(day(60), "SD"), (day(150), "PD")],
        assessment_dates=[day(60), day(150), day(240)],
    )  # fmt: skip
    result = row(timeline, "TACEPFS", tace_pfs=RULE)
    assert (result.ADT, result.EVNTDESC) == (day(150), "TACE REFRACTORINESS (POST-TACE RESPONSES)")


def test_no_event_censors_at_the_last_adequate_assessment():
    timeline = PatientTimeline(
        usubjid="T-003", arm="A", randomisation_date=RAND,
        assessment_dates=[day(63), day(126)], last_contact_date=day(200),
    )  # fmt: skip
    result = row(timeline, "TACEPFS", tace_pfs=RULE)
    assert (result.ADT, result.CNSR) == (day(126), code("NO TACE-PFS EVENT"))
    death = PatientTimeline(
        usubjid="T-004", arm="A", randomisation_date=RAND, death_date=day(90),
        assessment_dates=[day(63)],
    )  # fmt: skip
    assert row(death, "TACEPFS", tace_pfs=RULE).EVNTDESC == "DEATH"


def test_without_a_rule_there_is_no_tace_pfs_row():
    frame = derive_adtte(
        [SWITCHED], failure_reasons=FAILURES, censor_reasons=[], cutoff_date=CUTOFF
    )
    assert "TACEPFS" not in set(frame.PARAMCD)
