"""Date floors of ``record_dose`` (QA round 2 item 4) and the bevacizumab restart after
surgery (protocol ``surgery.bevacizumab_restart_min_days``; bevacizumab label: not within
28 days after major surgery), handled like the washout before surgery: refused unless an
override reason is given, which is then recorded as a protocol deviation."""

from __future__ import annotations

import pytest

from flow_helpers import PROTOCOL, context, day, randomised_in_arm, surgeon, to_induction
from talentop import services as sv
from talentop.errors import InvalidInput, ProtocolViolation
from talentop.store import models as m

pytestmark = pytest.mark.db

BEV_MG = 15 * 70  # 15 mg/kg at 70 kg


def test_induction_dose_before_the_induction_start_is_refused_naming_both_dates(store):
    """to_induction: screened day -7, induction started day 0. A cycle-1 dose can be dated
    neither before the eligibility decision nor before the treatment it belongs to: day -10
    and day -1 are refused, naming the induction start and the screening; day 0 is accepted.
    (Day -20 was used before issue 13; it now precedes the consent of day -14 and is refused
    by the consent gate instead.)"""
    ctx = context(store)
    pid = to_induction(ctx, "F001")
    expected = (
        rf"expected on or after the induction start \({day(0)}\) and the screening \({day(-7)}\)"
    )
    for bad in (-10, -1):
        with pytest.raises(InvalidInput, match=rf"given_on='{day(bad)}': {expected}"):
            sv.record_dose(ctx, pid, cycle=1, drug="atezolizumab", dose_given_mg=1200,
                           given_on=day(bad))  # fmt: skip
    out = sv.record_dose(ctx, pid, cycle=1, drug="atezolizumab", dose_given_mg=1200,
                         given_on=day(0))  # fmt: skip
    assert (out["delay_days"], out["deviations"]) == (0, [])


def test_continued_dose_before_randomisation_is_refused(store):
    """Arm B randomised day 73: a continued-treatment dose is randomised treatment, so not
    before day 73."""
    ctx = context(store)
    pid = randomised_in_arm(ctx, "B")
    with pytest.raises(
        InvalidInput,
        match=rf"given_on='{day(72)}': expected on or after randomisation \({day(73)}\)",
    ):
        sv.record_dose(ctx, pid, cycle=5, drug="atezolizumab", dose_given_mg=1200, given_on=day(72))
    assert sv.record_dose(ctx, pid, cycle=5, drug="atezolizumab", dose_given_mg=1200,
                          given_on=day(73))["deviations"] == []  # fmt: skip


def test_bevacizumab_restart_sooner_than_the_protocol_minimum_after_surgery(store):
    """Surgery day 110, maintenance from day 120; restart minimum = protocol setting
    (28 days in talentop.yaml) -> first bevacizumab allowed on day 110 + 28 = 138.
    Day 138 is on time; day 137 (27 days) is refused naming the rule; with an override reason it is recorded and
    a 'bevacizumab_restart' deviation is written. Atezolizumab has no restart minimum, and a
    maintenance dose before the maintenance start (day 119) is refused."""
    minimum = PROTOCOL.surgery.bevacizumab_restart_min_days
    assert minimum == 28
    ctx = context(store)
    pid = randomised_in_arm(ctx, "A")
    sv.record_surgery(surgeon(ctx), pid, day(110), procedure="resection", margin="R0",
                      blood_loss_ml=300)  # fmt: skip
    sv.start_maintenance(ctx, pid, day(120))
    with pytest.raises(InvalidInput, match=r"expected on or after the maintenance start"):
        sv.record_dose(ctx, pid, cycle=1, drug="atezolizumab", dose_given_mg=1200,
                       given_on=day(119))  # fmt: skip
    assert sv.record_dose(ctx, pid, cycle=1, drug="atezolizumab", dose_given_mg=1200,
                          given_on=day(120))["deviations"] == []  # fmt: skip
    early = 110 + minimum - 1
    with pytest.raises(
        ProtocolViolation,
        match=rf"bevacizumab on {day(early)} is {minimum - 1} days after surgery .*"
        rf"give override_reason.*state 'maintenance'.*surgery.bevacizumab_restart_min_days",
    ):
        sv.record_dose(ctx, pid, cycle=1, drug="bevacizumab", dose_given_mg=BEV_MG,
                       given_on=day(early), weight_kg=70)  # fmt: skip
    out = sv.record_dose(ctx, pid, cycle=1, drug="bevacizumab", dose_given_mg=BEV_MG,
                         given_on=day(early), weight_kg=70,
                         override_reason="wound healed, surgeon agreed")  # fmt: skip
    assert out["deviations"] == [
        f"bevacizumab {minimum - 1} days after surgery (< {minimum}); "
        "override: wound healed, surgeon agreed"
    ]
    with store.unit_of_work() as session:
        rows = [d.category for d in session.query(m.ProtocolDeviation).filter_by(patient_id=pid)]
    assert rows == ["bevacizumab_restart"]
    # The boundary: exactly the minimum (day 138) is on time, no deviation.
    other = randomised_in_arm(ctx, "A", prefix="R")
    sv.record_surgery(surgeon(ctx), other, day(110), procedure="resection", margin="R0",
                      blood_loss_ml=300)  # fmt: skip
    sv.start_maintenance(ctx, other, day(120))
    on_time = sv.record_dose(ctx, other, cycle=1, drug="bevacizumab", dose_given_mg=BEV_MG,
                             given_on=day(110 + minimum), weight_kg=70)  # fmt: skip
    assert on_time["deviations"] == []
    assert sv.verify(store).ok
