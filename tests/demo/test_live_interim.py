"""The statistician's interim analysis of a live database (``talentop.demo.live``) is the
demo's own: rebuilt from the stored records alone, it gives the demo run's CONSORT counts,
endpoints, hazard ratios and subgroups to the last digit, and its CONSORT boxes add up at any
moment of a trial still recruiting."""

from __future__ import annotations

import math

import pytest

from flow_helpers import (
    PROTOCOL,
    context,
    day,
    randomised_in_arm,
    register,
    to_assessed,
    to_induction,
    to_randomised,
)
from talentop import services as sv
from talentop.demo.analysis import consort_flow, key_figures
from talentop.demo.live import (
    AWAITING_DECISION,
    IN_INDUCTION,
    WAITING_INDUCTION,
    WAITING_SCREENING,
    live_interim,
    live_report,
    trial_run,
)
from talentop.errors import InvalidInput, PermissionDenied
from talentop.protocol import load_protocol
from talentop.store import Store

pytestmark = pytest.mark.slow

SAME = (
    "screened", "induction", "randomised", "arm_a", "arm_b", "operated", "ttf_median_a",
    "ttf_median_b", "ttf_hr", "ttf_hr_ci", "ttf_p", "os_median_a", "os_median_b", "os_hr",
    "os_ci", "os_p", "ttf_events", "os_events", "cd3_pct", "vp3_vp4_pct", "ttf_z",
)  # fmt: skip


def _same(a, b) -> bool:
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def test_live_interim_equals_the_demo_runs_own(small_demo):
    store = Store(small_demo.database_url)
    ctx = sv.Context(store, load_protocol("talentop"), "system")
    interim, run = live_interim(ctx, small_demo.run.cutoff_date)
    demo, live = key_figures(small_demo.interim), key_figures(interim)
    different = {k: (demo[k], live[k]) for k in SAME if not _same(demo[k], live[k])}
    assert different == {}
    assert interim.flow.excluded == small_demo.interim.flow.excluded
    # the demo calls a declined randomisation "Withdrew consent"; the database says declined
    rename = {"Declined randomisation": "Withdrew consent"}
    assert {rename.get(k, k): v for k, v in interim.flow.not_randomised.items()} == dict(
        small_demo.interim.flow.not_randomised
    )
    assert interim.flow.problems() == []
    assert interim.subgroups.equals(small_demo.interim.subgroups)
    report = live_report(ctx, small_demo.run.cutoff_date)
    assert "Live trial database" in report.subtitle
    assert {s.anchor for s in report.sections} >= {"consort", "ttf", "os", "subgroups", "published"}
    store.dispose()


@pytest.mark.db
def test_consort_boxes_add_up_while_patients_are_on_their_way(store):
    ctx = context(store)
    sv.register_patient(ctx, "SH01", "R1", registered_on=day(-14))  # not screened yet
    eligible = register(ctx, "SH01", "E1", day(-14))
    from patient_records import ELIGIBLE

    sv.screen_patient(ctx, eligible, ELIGIBLE, day(-7))  # eligible, induction not started
    to_induction(ctx, "I1")  # in induction
    to_assessed(ctx, "A1")  # assessed, awaiting the MDT
    to_randomised(ctx, "Z1")
    run = trial_run(ctx, day(200))
    flow = consort_flow(run)
    assert flow.problems() == []
    assert run.screened == 5 and run.induction == 3
    assert run.screen_failures[WAITING_SCREENING] == 1
    assert run.screen_failures[WAITING_INDUCTION] == 1
    assert run.not_randomised == {IN_INDUCTION: 1, AWAITING_DECISION: 1}


@pytest.mark.db
def test_live_interim_needs_analysis_rights_and_patients_in_both_arms(store):
    ctx = context(store)
    to_randomised(ctx, "Z1")
    with pytest.raises(PermissionDenied):
        live_interim(ctx, day(200))  # an investigator: no 'analysis' permission
    stats = sv.Context(store, PROTOCOL, "stat1")
    with pytest.raises(InvalidInput, match="at least 2 randomised patients in every arm"):
        live_interim(stats, day(200))


@pytest.mark.db
def test_a_live_interim_before_any_event_says_what_it_cannot_estimate(store):
    """Early in a trial: two patients randomised to each arm, no failure or death yet. The
    statistician's analysis page still has its report; the log-rank P, the HR and the
    interim bound say why they are missing (this failed in the log-rank test before)."""
    ctx = context(store)
    for n in range(2):
        for arm in ("A", "B"):
            randomised_in_arm(ctx, arm, prefix=f"N{n}")
    stats = sv.Context(store, PROTOCOL, "stat1")
    interim, run = live_interim(stats, day(200))
    assert interim.flow.randomised >= 4 and int(interim.ttf.data.event.sum()) == 0
    assert interim.ttf.logrank_reason == "no events in either arm"
    assert math.isnan(interim.ttf.logrank_p) and interim.ttf.hr_reason is not None
    assert interim.gs["efficacy_z"] is None and interim.gs["cumulative_alpha"] == 0.0
    report = live_report(stats, day(200))
    assert {s.anchor for s in report.sections} >= {"consort", "ttf", "os"}
