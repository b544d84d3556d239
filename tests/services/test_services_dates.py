"""Event dates after today are refused across the write services (QA finding 24), unless
the Context allows them (simulations whose calendar runs past the real date)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from flow_helpers import context, day, to_induction
from talentop import services as sv
from talentop.errors import InvalidInput

pytestmark = pytest.mark.db


def test_registration_dated_2099_is_refused(store):
    ctx = context(store)
    with pytest.raises(
        InvalidInput, match=r"registered_on='2099-01-01': expected a date on or before today"
    ):
        sv.register_patient(ctx, "SH01", "P005", registered_on="2099-01-01")
    assert sv.verify(store).ok  # nothing written


def test_today_is_injectable_and_the_boundary_is_inclusive(store):
    ctx = dataclasses.replace(context(store), today=lambda: day(0))
    assert sv.register_patient(ctx, "SH01", "P001", registered_on=day(0)) > 0
    with pytest.raises(InvalidInput, match=rf"registered_on='{day(1)}': expected .*\({day(0)}\)"):
        sv.register_patient(ctx, "SH01", "P002", registered_on=day(1))


def test_future_dates_are_refused_in_other_write_services(store):
    ctx = context(store)
    pid = to_induction(ctx)
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    with pytest.raises(InvalidInput, match=r"^death_date='.*': expected a date on or before"):
        sv.record_death(ctx, pid, tomorrow)
    with pytest.raises(InvalidInput, match=r"^contact_date='"):
        sv.record_follow_up(ctx, pid, tomorrow)
    with pytest.raises(InvalidInput, match=r"^given_on='"):
        sv.record_dose(
            ctx, pid, cycle=1, drug="atezolizumab", dose_given_mg=1200, given_on=tomorrow
        )


def test_allow_future_dates_lets_a_simulation_run_ahead(store):
    ctx = dataclasses.replace(context(store), allow_future_dates=True)
    assert sv.register_patient(ctx, "SH01", "P005", registered_on="2099-01-01") > 0
