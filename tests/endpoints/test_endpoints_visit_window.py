"""PFS missed-visit rule with a visit window and a phase-dependent calendar.

FDA 2007 Appendix 3 Table A (clinical-rules 7.2): "death or progression after more than one
missed visit" -> censored at the last adequate assessment (CNSR 8); otherwise an event. A
scheduled visit is missed only if no adequate assessment falls within [visit - window,
visit + window]; visits run from randomisation every ``assessment_interval_days`` on
treatment, then every ``follow_up_interval_days`` after the first discontinuation.
"""

import datetime as dt

import pytest

from talentop.endpoints import PatientTimeline, derive_adtte
from talentop.endpoints.schedule import VisitSchedule, scheduled_visits
from talentop.errors import InvalidInput
from talentop.protocol import load_protocol
from talentop.services.endpoints import adtte_for_protocol

R = dt.date(2025, 1, 1)
CUTOFF = R + dt.timedelta(days=600)
PROTOCOL = load_protocol("talentop")  # 6-weekly scans on treatment, 12-weekly after, +/- 7 d


def day(n: int) -> dt.date:
    return R + dt.timedelta(days=n)


def pfs(timeline, **options):
    frame = (
        adtte_for_protocol([timeline], PROTOCOL, CUTOFF)
        if not options
        else derive_adtte(
            [timeline],
            failure_reasons=["progression", "unacceptable_toxicity"],
            censor_reasons=[],
            cutoff_date=CUTOFF,
            **options,
        )
    )
    row = frame[frame.PARAMCD == "PFS"].iloc[0]
    return (row.ADT - R).days, int(row.CNSR), row.EVNTDESC


def progressed(pd_day, scans, **fields):
    dates = tuple(day(d) for d in scans) + (day(pd_day),)
    return PatientTimeline(usubjid="X1", arm="A", randomisation_date=R, assessment_dates=dates,
                           progression_date_recist=day(pd_day), **fields)  # fmt: skip


def test_qa_case_one_missed_visit_and_a_scan_one_day_late_is_an_event():
    """QA round 2 item 2. Protocol: visits every 42 days from randomisation (42, 84, 126,
    168, 210), window 7. Scans 42, 84, 126; PD documented on day 211. Visit 168 has no scan
    in [161, 175]: missed. Visit 210's window [203, 217] holds the day-211 scan: done, one
    day late. One missed visit is not "more than one" -> PFS event on day 211 (CNSR 0)."""
    assert pfs(progressed(211, [42, 84, 126])) == (211, 0, "PROGRESSION")


def test_pd_after_the_second_visit_window_closed_is_censored_at_the_last_scan():
    """Same scans, PD on day 218: visit 210's window [203, 217] closed with no scan, so
    visits 168 and 210 are both missed (more than one) -> censored at day 126, CNSR 8.
    Day 217, the window's last day, is still an event."""
    assert pfs(progressed(218, [42, 84, 126])) == (126, 8, "EVENT AFTER MISSED VISITS")
    assert pfs(progressed(217, [42, 84, 126])) == (217, 0, "PROGRESSION")


def test_scans_early_or_late_within_the_window_count_for_their_visit():
    """Scans 36 (visit 42 - 6), 91 (visit 84 + 7), 122 (visit 126 - 4), 174 (168 + 6):
    every visit up to 168 done; PD on day 240 misses visit 210 only (its window closed on
    217; visit 252 is not yet due) -> one missed visit -> event on day 240."""
    assert pfs(progressed(240, [36, 91, 122, 174])) == (240, 0, "PROGRESSION")


def test_follow_up_phase_uses_the_follow_up_imaging_interval():
    """Treatment stops on day 130 (toxicity). On-treatment visits 42, 84, 126; after it the
    calendar goes on from visit 126 every 84 days (follow_up.imaging_interval_weeks 12):
    210, 294. Scans 42, 84, 126; PD on day 300: visit 210 missed, visit 294's window
    [287, 301] holds day 300 -> one missed visit -> event. Had the 42-day interval applied
    after treatment too, visits 168, 210 and 252 would be missed -> censored at day 126."""
    stopped = {"discontinuations": ((day(130), "unacceptable_toxicity"),)}
    timeline = progressed(300, [42, 84, 126], **stopped)
    assert pfs(timeline) == (300, 0, "PROGRESSION")
    assert pfs(timeline, assessment_interval_days=42, visit_window_days=7) == (
        126, 8, "EVENT AFTER MISSED VISITS",
    )  # fmt: skip
    assert pfs(
        timeline, assessment_interval_days=42, visit_window_days=7, follow_up_interval_days=84
    ) == (300, 0, "PROGRESSION")


def test_death_before_the_first_scan_after_one_missed_visit_is_an_event():
    """Table A "death before first PD assessment -> progressed". Death on day 90: visit 42
    (window to 49) missed; visit 84's window [77, 91] still open -> one missed -> event."""
    dead = PatientTimeline(usubjid="X2", arm="B", randomisation_date=R, death_date=day(90))
    assert pfs(dead) == (90, 0, "DEATH")
    later = PatientTimeline(usubjid="X2", arm="B", randomisation_date=R, death_date=day(92))
    assert pfs(later) == (0, 8, "EVENT AFTER MISSED VISITS")


def test_calendar_switches_interval_at_the_first_discontinuation():
    """On treatment every 42 days while on or before the stop (day 130): 42, 84, 126; then
    every 84 days from visit 126: 210, 294, 378."""
    timeline = PatientTimeline(usubjid="X3", arm="A", randomisation_date=R,
                               discontinuations=((day(130), "progression"),))  # fmt: skip
    schedule = VisitSchedule(interval_days=42, window_days=7, follow_up_interval_days=84)
    visits = scheduled_visits(timeline, schedule, day(400))
    assert [(v - R).days for v in visits] == [42, 84, 126, 210, 294, 378]


def test_window_settings_are_validated():
    """Windows of half the interval or more overlap (one scan would count for two visits)."""
    timeline = progressed(211, [42])
    with pytest.raises(InvalidInput, match=r"visit_window_days=21: expected less than half"):
        pfs(timeline, assessment_interval_days=42, visit_window_days=21)
    with pytest.raises(InvalidInput, match=r"visit_window_days=-1: expected an integer >= 0"):
        pfs(timeline, assessment_interval_days=42, visit_window_days=-1)
    with pytest.raises(InvalidInput, match=r"follow_up_interval_days=0: expected an integer"):
        pfs(timeline, assessment_interval_days=42, follow_up_interval_days=0)
