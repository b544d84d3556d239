"""ADTTE from the database, censoring case by case (FDA 2007 PFS guidance, Appendix 3
Table A; CDISC ADTTE CNSR 0 = event), and the CSV / SAS XPT export read back."""

from __future__ import annotations

import pandas as pd
import pytest

from flow_helpers import PROTOCOL, assess, context, day, statistician, to_randomised
from talentop import services as sv

pytestmark = pytest.mark.db

RANDOMISED_DAY = 73  # flow_helpers.to_randomised randomises on day 73
DAYS_PER_MONTH = 365.25 / 12


def months(from_day: int, to_day: int) -> float:
    return (to_day - from_day) / DAYS_PER_MONTH


def row(frame, pseudo_id, paramcd):
    hit = frame[(frame.USUBJID == f"TALENTOP-SH01-{pseudo_id}") & (frame.PARAMCD == paramcd)]
    assert len(hit) == 1, (pseudo_id, paramcd)
    return hit.iloc[0]


@pytest.fixture
def cohort(store):
    """Four randomised patients, one per censoring situation."""
    ctx = context(store)
    # 1. Death after missed visits: last assessment day 115, death day 400 (6-weekly visits).
    p1, _ = to_randomised(ctx, "DEATHGAP", shrink=0.9)
    assess(ctx, p1, 115, shrink=0.9)
    sv.record_death(ctx, p1, day(400), cause="liver failure")
    # 2. Lost to follow-up: assessed day 115, seen alive day 200, then lost.
    p2, _ = to_randomised(ctx, "LOST", shrink=0.9)
    assess(ctx, p2, 115, shrink=0.9)
    sv.record_follow_up(ctx, p2, day(200), status="alive", method="phone")
    sv.record_follow_up(ctx, p2, day(260), status="lost_to_follow_up")
    # 3. Death after the data cut-off (cut-off day 300).
    p3, _ = to_randomised(ctx, "CUTOFF", shrink=0.9)
    assess(ctx, p3, 115, shrink=0.9)
    assess(ctx, p3, 157, shrink=0.9)
    sv.record_death(ctx, p3, day(320))
    # 4. New anticancer therapy (day 150) before progression (day 200).
    p4, _ = to_randomised(ctx, "NEWTX", shrink=0.9)
    assess(ctx, p4, 115, shrink=0.9)
    sv.record_discontinuation(ctx, p4, day(150), "new_anticancer_therapy")
    sv.record_new_therapy(ctx, p4, day(150), description="lenvatinib")
    assess(ctx, p4, 200, shrink=1.5)
    return ctx


def test_censoring_rules_case_by_case(cohort):
    # The expected AVALs below count from the stored randomisation dates: check them first.
    assert {t.randomisation_date for t in sv.patient_timelines(statistician(cohort))} == {
        day(RANDOMISED_DAY)
    }
    frame = sv.derive_endpoints(statistician(cohort), day(300))
    assert set(frame.PARAMCD) == {"TTF", "OS", "PFS", "PFSMR"}
    assert len(frame) == 16

    # Death after > 1 missed visit (cut-off day 500): PFS censored at the last adequate
    # assessment (code 8); OS and TTF count the death.
    frame_late = sv.derive_endpoints(statistician(cohort), day(500))
    pfs = row(frame_late, "DEATHGAP", "PFS")
    assert (pfs.CNSR, pfs.EVNTDESC) == (8, "EVENT AFTER MISSED VISITS")
    assert pfs.AVAL == pytest.approx(months(RANDOMISED_DAY, 115), abs=1e-9)
    # At a day-300 cut-off the death (day 400) is ignored: no progression by then.
    assert row(frame, "DEATHGAP", "PFS").EVNTDESC == "NO PROGRESSION"
    os_dead = row(frame_late, "DEATHGAP", "OS")
    assert (os_dead.CNSR, os_dead.EVNTDESC) == (0, "DEATH")
    assert os_dead.AVAL == pytest.approx(months(RANDOMISED_DAY, 400), abs=1e-9)
    assert row(frame_late, "DEATHGAP", "TTF").CNSR == 0

    # Lost to follow-up: OS at the last date known alive (day 200), PFS at the last
    # adequate assessment (day 115), both code 3.
    os_lost = row(frame, "LOST", "OS")
    assert (os_lost.CNSR, os_lost.EVNTDESC) == (3, "LOST TO FOLLOW-UP")
    assert os_lost.AVAL == pytest.approx(months(RANDOMISED_DAY, 200), abs=1e-9)
    pfs_lost = row(frame, "LOST", "PFS")
    assert (pfs_lost.CNSR, pfs_lost.AVAL) == (
        3,
        pytest.approx(months(RANDOMISED_DAY, 115), abs=1e-9),
    )
    assert row(frame, "LOST", "TTF").CNSR == 3

    # Data cut-off: death on day 320 after the day-300 cut-off -> alive at the cut-off.
    os_cut = row(frame, "CUTOFF", "OS")
    assert (os_cut.CNSR, os_cut.EVNTDESC) == (2, "DATA CUT-OFF")
    assert os_cut.AVAL == pytest.approx(months(RANDOMISED_DAY, 300), abs=1e-9)
    pfs_cut = row(frame, "CUTOFF", "PFS")
    assert (pfs_cut.CNSR, pfs_cut.EVNTDESC) == (6, "NO PROGRESSION")
    assert pfs_cut.AVAL == pytest.approx(months(RANDOMISED_DAY, 157), abs=1e-9)

    # New anticancer therapy before progression: PFS (RECIST and mRECIST) censored at the
    # last assessment before it (code 7); TTF: discontinuation for a failure reason.
    for paramcd in ("PFS", "PFSMR"):
        censored = row(frame, "NEWTX", paramcd)
        assert (censored.CNSR, censored.EVNTDESC) == (7, "NEW ANTICANCER THERAPY")
        assert censored.AVAL == pytest.approx(months(RANDOMISED_DAY, 115), abs=1e-9)
    ttf = row(frame, "NEWTX", "TTF")
    assert (ttf.CNSR, ttf.EVNTDESC) == (0, "DISCONTINUATION: new_anticancer_therapy")
    assert ttf.AVAL == pytest.approx(months(RANDOMISED_DAY, 150), abs=1e-9)


def test_timelines_come_from_stored_rows(cohort):
    timelines = {t.usubjid: t for t in sv.patient_timelines(statistician(cohort))}
    newtx = timelines["TALENTOP-SH01-NEWTX"]
    assert newtx.randomisation_date == day(RANDOMISED_DAY)
    assert newtx.progression_date_recist == day(200)
    assert newtx.new_anticancer_therapy_date == day(150)
    assert newtx.discontinuations == ((day(150), "new_anticancer_therapy"),)
    assert newtx.strata == {"depth_of_response": "shallow", "ecog": "ecog0"}
    lost = timelines["TALENTOP-SH01-LOST"]
    assert lost.lost_to_follow_up and lost.last_contact_date == day(200)


def test_export_csv_and_xpt_read_back(cohort, tmp_path):
    result = sv.export_adtte(
        statistician(cohort), tmp_path, formats=("csv", "xpt"), cutoff_date=day(300)
    )
    assert result["rows"] == 16 and result["patients"] == 4
    expected = sv.derive_endpoints(statistician(cohort), day(300))
    csv = pd.read_csv(tmp_path / "adtte.csv")
    xpt = pd.read_sas(tmp_path / "adtte.xpt", format="xport", encoding="utf-8")
    for back in (csv, xpt):
        assert len(back) == 16
        assert list(back.USUBJID) == list(expected.USUBJID)
        assert list(back.PARAMCD) == list(expected.PARAMCD)
        assert back.CNSR.astype(int).tolist() == expected.CNSR.astype(int).tolist()
        assert back.AVAL.to_numpy() == pytest.approx(expected.AVAL.to_numpy(), abs=1e-9)
    with pytest.raises(Exception, match="formats"):
        sv.export_adtte(statistician(cohort), tmp_path, formats=("sas7bdat",))


def test_missed_visit_rule_boundary_follows_the_protocol_interval(store):
    """FDA 2007 Appendix 3 Table A: death or progression after MORE than one missed
    visit is censored at the last adequate assessment; after exactly one it is an event.
    The calendar is the protocol's (assessment.interval_weeks from randomisation) and a
    visit counts as missed only once its +/- assessment.window_days window has closed.

    Randomised day 73, scanned day 115 (= 73 + 42, the first visit). Visit 157 is missed;
    visit 199's window runs to 199 + window. A death on its last day (199 + window) is
    after one missed visit -> event; one day later visit 199 is missed too -> censored at
    day 115. (The earlier version of this test counted visits from the last scan without a
    window, so a death one day after visit 199 was censored: the rule QA item 2 fixed.)"""
    ctx = context(store)
    interval = PROTOCOL.assessment.interval_weeks * 7
    window = PROTOCOL.assessment.window_days
    last = RANDOMISED_DAY + interval
    one_missed, _ = to_randomised(ctx, "ONEMISS", shrink=0.9)
    assess(ctx, one_missed, last, shrink=0.9)
    sv.record_death(ctx, one_missed, day(last + 2 * interval + window))
    two_missed, _ = to_randomised(ctx, "TWOMISS", shrink=0.9)
    assess(ctx, two_missed, last, shrink=0.9)
    sv.record_death(ctx, two_missed, day(last + 2 * interval + window + 1))
    frame = sv.derive_endpoints(statistician(ctx), day(last + 3 * interval))
    event = row(frame, "ONEMISS", "PFS")
    assert (event.CNSR, event.EVNTDESC) == (0, "DEATH")
    assert event.AVAL == pytest.approx(
        months(RANDOMISED_DAY, last + 2 * interval + window), abs=1e-9
    )
    censored = row(frame, "TWOMISS", "PFS")
    assert (censored.CNSR, censored.EVNTDESC) == (8, "EVENT AFTER MISSED VISITS")
    assert censored.AVAL == pytest.approx(months(RANDOMISED_DAY, last), abs=1e-9)
    # OS counts both deaths whatever the visits.
    assert row(frame, "TWOMISS", "OS").CNSR == row(frame, "ONEMISS", "OS").CNSR == 0
