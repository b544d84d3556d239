"""Post-randomisation imaging: schedule, PD measurements, and PFS/TTF agreement in the demo.

Rules: RECIST 1.1 (Eisenhauer 2009) section 4.3.1 - PD is a >= 20% increase of the sum of
target diameters over the nadir with an absolute increase >= 5 mm, or an unequivocal new
lesion (4.3.3); mRECIST (Lencioni & Llovet 2010) applies the same thresholds to viable
diameters. Schedule: protocol ``assessment.interval_weeks`` on treatment,
``follow_up.imaging_interval_weeks`` after; FDA 2007 Table A for PFS dating.
"""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from talentop.demo.cohort import generate_cohort
from talentop.demo.imaging import SCAN_JITTER_DAYS, Schedule, course_for, documented_pd
from talentop.protocol import load_protocol
from talentop.recist import evaluate
from talentop.store import Store, queries
from talentop.store import models as m

START = dt.date(2022, 1, 10)


def _schedule(jitter=0):
    return Schedule(START, 6, 12, (jitter,) * 50)


def test_schedule_uses_on_treatment_then_follow_up_interval():
    dates = _schedule().dates(START + dt.timedelta(weeks=18), START + dt.timedelta(weeks=60))
    gaps = [(b - a).days for a, b in zip([START, *dates], dates, strict=False)]
    assert gaps == [42, 42, 42, 84, 84, 84]


def test_schedule_jitter_stays_within_the_protocol_window():
    protocol = load_protocol("talentop")
    schedule = Schedule.for_patient(protocol, START, np.random.default_rng(1))
    assert max(abs(j) for j in schedule.jitter) == SCAN_JITTER_DAYS
    assert SCAN_JITTER_DAYS <= protocol.assessment.window_days
    dates = schedule.dates(START + dt.timedelta(days=3000), START + dt.timedelta(days=3000))
    nominal = [START + dt.timedelta(weeks=6 * k) for k in range(1, len(dates) + 1)]
    assert all(abs((d - n).days) <= SCAN_JITTER_DAYS for d, n in zip(dates, nominal, strict=True))


def test_documented_pd_is_the_next_scan_or_unscheduled_before_death():
    scans = [START + dt.timedelta(weeks=6 * k) for k in range(1, 6)]
    latent = START + dt.timedelta(days=50)
    death = START + dt.timedelta(days=300)
    assert documented_pd(scans, latent, death) == scans[1]
    # next scheduled scan after the death: deterioration prompts a scan on the latent date
    assert documented_pd(scans, latent, scans[1] - dt.timedelta(days=1)) == latent
    assert documented_pd(scans, None, death) is None
    assert documented_pd(scans, death, death) is None


def _case(patient, visits, criteria):
    """The engine case of a synthetic patient: induction visits, then ``visits``."""
    key = "viable" if criteria == "mrecist" else "target"
    followups = list(patient.followups) + [
        {
            "date": d.isoformat(),
            "target": v[key],
            "non_target": v["non_target"],
            "new_lesions": v["new_lesions"],
        }
        for d, v in visits
    ]
    return {"criteria": criteria, "baseline": patient.baseline, "followups": followups}


@pytest.mark.parametrize("criteria", ["recist1.1", "mrecist"])
def test_course_measurements_give_pd_exactly_at_the_documented_scan(criteria):
    cohort = generate_cohort(80, seed=3)
    checked = 0
    for patient in cohort:
        if patient.latent_response == "PD":
            continue
        last = dt.date.fromisoformat(patient.followups[-1]["date"])
        scans = [last + dt.timedelta(weeks=6 * k) for k in range(1, 5)]
        course = course_for(patient, scans[2], np.random.default_rng(patient.index))
        case = _case(patient, [(d, course.visit(d)) for d in scans], criteria)
        result = evaluate(case)
        if result["timepoints"][1]["overall_response"] == "PD":
            continue  # progressed during induction (not randomised in the demo)
        responses = [t["overall_response"] for t in result["timepoints"][2:]]
        assert "PD" not in responses[:2], (patient.index, responses)
        assert responses[2] == "PD"
        assert result["progression_date"] == scans[2].isoformat()
        if not course.pd_by_new_lesion:  # the RECIST rule itself: +20% and +5 mm over nadir
            sums = [sum(v for v in f["target"].values()) for f in case["followups"]]
            base = sum(t["diameter_mm"] for t in patient.baseline["target"])
            nadir = min([base, *sums[:-2]])
            assert sums[-2] >= 1.2 * nadir and sums[-2] - nadir >= 5
        checked += 1
    assert checked >= 30


def test_after_resection_recurrence_is_pd_by_new_lesion():
    patient = next(p for p in generate_cohort(40, seed=3) if p.latent_response == "PR")
    last = dt.date.fromisoformat(patient.followups[-1]["date"])
    scans = [last + dt.timedelta(weeks=6 * k) for k in range(1, 4)]
    course = course_for(patient, scans[2], np.random.default_rng(0))
    course.resected_on = last + dt.timedelta(days=20)
    result = evaluate(_case(patient, [(d, course.visit(d)) for d in scans], "recist1.1"))
    points = result["timepoints"][2:]
    assert [p["overall_response"] for p in points][-1] == "PD"
    assert points[0]["overall_response"] != "PD"
    assert result["progression_date"] == scans[2].isoformat()


def _recist_pd_dates(url):
    store = Store(url)
    with store.unit_of_work() as session:
        out = {}
        for allocation in queries.randomisations(session):
            visits = {
                v.id: v.visit_date
                for v in queries.rows_for(session, m.AssessmentVisit, allocation.patient_id)
            }
            out[allocation.patient_id] = {
                visits[r.visit_id]
                for r in queries.rows_for(session, m.ResponseAssessment, allocation.patient_id)
                if r.criteria == "recist1.1" and r.overall_response == "PD"
            }
        return out


@pytest.mark.slow
@pytest.mark.db
def test_every_ttf_progression_has_a_recist_pd_scan_that_day(small_demo):
    adtte = pd.read_csv(small_demo.report.parent / "adtte.csv")
    ttf = adtte[adtte.PARAMCD == "TTF"].set_index("USUBJID")
    pd_dates = _recist_pd_dates(small_demo.database_url)
    by_usubjid = {row["usubjid"]: row["patient_id"] for row in small_demo.run.patients}
    progressions = ttf[ttf.EVNTDESC == "DISCONTINUATION: progression"]
    assert len(progressions) >= 3
    for usubjid, row in progressions.iterrows():
        day = dt.date.fromisoformat(str(row.ADT))
        assert day in pd_dates[by_usubjid[usubjid]], usubjid


@pytest.mark.slow
@pytest.mark.db
@pytest.mark.parametrize("param", ["PFS", "PFSMR"])
def test_pfs_has_progression_events_consistent_with_ttf(small_demo, param):
    adtte = pd.read_csv(small_demo.report.parent / "adtte.csv")
    pfs = adtte[adtte.PARAMCD == param].set_index("USUBJID")
    ttf = adtte[adtte.PARAMCD == "TTF"].set_index("USUBJID")
    ttf_pd = ttf[ttf.EVNTDESC == "DISCONTINUATION: progression"]
    assert (pfs.EVNTDESC == "PROGRESSION").sum() >= len(ttf_pd) >= 3
    assert (pfs.CNSR == 0).sum() >= len(ttf_pd)
    # the same progression date in both endpoints
    assert (pfs.loc[ttf_pd.index, "EVNTDESC"] == "PROGRESSION").all()
    assert (pfs.loc[ttf_pd.index, "ADT"] == ttf_pd.ADT).all()
    # PFS cannot end before TTF for a patient who failed: failure comes first or together
    both = ttf.index[(ttf.CNSR == 0) & (pfs.CNSR == 0)]
    assert (pd.to_datetime(pfs.loc[both, "ADT"]) >= pd.to_datetime(ttf.loc[both, "ADT"])).all()
    # no artefact censoring: only patients randomised less than one interval (+ jitter)
    # before the cut have no post-baseline scan
    unscanned = pfs[pfs.EVNTDESC == "NO ADEQUATE POST-BASELINE ASSESSMENT"]
    latest = small_demo.run.cutoff_date - dt.timedelta(weeks=6, days=3)
    assert (pd.to_datetime(unscanned.STARTDT) > pd.Timestamp(latest)).all()
