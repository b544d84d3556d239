"""Doses, induction calendar and the bevacizumab-to-surgery interval from the protocol.

Sources: IMbrave150 / FDA label (atezolizumab 1200 mg + bevacizumab 15 mg/kg IV q3w);
TALENTOP (seed + NCT04649489): 3 cycles atezo/bev then 1 cycle atezo alone; bevacizumab
label: withhold >= 28 days before elective surgery (literature: 6 weeks).
"""

from datetime import date, timedelta

import pytest

from talentop.clinical import (
    check_surgery_timing,
    cycle_doses_mg,
    days_from_last_bevacizumab,
    dose_mg,
    earliest_surgery_date,
    induction_calendar,
    validate_ecog,
)
from talentop.errors import InvalidInput
from talentop.protocol import load_protocol, protocol_from_mapping

P = load_protocol("talentop")


def test_doses_come_from_protocol_entries():
    cycle1, cycle4 = P.induction.cycles[0], P.induction.cycles[3]
    assert cycle_doses_mg(cycle1, weight_kg=70) == {"atezolizumab": 1200.0, "bevacizumab": 1050.0}
    assert cycle_doses_mg(cycle4, weight_kg=70) == {"atezolizumab": 1200.0}
    assert dose_mg(cycle4.drugs[0]) == 1200.0  # fixed dose needs no weight


def test_a_changed_protocol_changes_the_dose():
    data = P.model_dump(mode="json")
    data["induction"]["cycles"][0]["drugs"][1]["dose"] = 7.5
    other = protocol_from_mapping(data)
    assert cycle_doses_mg(other.induction.cycles[0], weight_kg=80)["bevacizumab"] == 600.0


def test_weight_based_dose_needs_plausible_weight():
    bev = P.induction.cycles[0].drugs[1]
    with pytest.raises(InvalidInput, match="weight_kg=None: expected a body weight: bevacizumab"):
        dose_mg(bev)
    with pytest.raises(InvalidInput, match="weight_kg=700"):
        dose_mg(bev, weight_kg=700)


def test_calendar_q3w_windows_and_bevacizumab_left_out_of_last_cycle():
    start = date(2025, 1, 6)
    cal = induction_calendar(P, start, weight_kg=60)
    assert [v.planned_date for v in cal.visits] == [
        date(2025, 1, 6),
        date(2025, 1, 27),
        date(2025, 2, 17),
        date(2025, 3, 10),
    ]
    assert cal.visits[1].window_start == date(2025, 1, 24)
    assert cal.visits[1].window_end == date(2025, 1, 30)
    assert ["bevacizumab" in v.drugs for v in cal.visits] == [True, True, True, False]
    assert cal.visits[0].doses_mg == {"atezolizumab": 1200.0, "bevacizumab": 900.0}
    assert cal.last_date_of("bevacizumab") == date(2025, 2, 17)
    assert cal.end_date == date(2025, 3, 31)


def test_days_from_last_bevacizumab_and_washout_check():
    cal = induction_calendar(P, date(2025, 1, 6))
    last_bev = date(2025, 2, 17)
    assert days_from_last_bevacizumab(cal, last_bev + timedelta(days=27)) == 27
    assert earliest_surgery_date(cal, P) == last_bev + timedelta(days=28)
    early = check_surgery_timing(cal, last_bev + timedelta(days=27), P)
    on_time = check_surgery_timing(cal, last_bev + timedelta(days=28), P)
    assert (early.ok, on_time.ok, on_time.min_days) == (False, True, 28)
    # Literature alternative: 6 weeks.
    assert not check_surgery_timing(cal, last_bev + timedelta(days=41), P, min_days=42).ok
    with pytest.raises(InvalidInput, match="surgery_date='2025-02-01'"):
        days_from_last_bevacizumab(cal, date(2025, 2, 1))


@pytest.mark.parametrize("value", [0, 1, "2", 5.0])
def test_ecog_accepts_0_to_5(value):
    assert validate_ecog(value) == int(float(value))


@pytest.mark.parametrize("value", [-1, 6, 1.5, "one", True, None])
def test_ecog_refuses_the_rest(value):
    with pytest.raises(InvalidInput, match=r"ecog=.*expected a whole number 0-5"):
        validate_ecog(value)
