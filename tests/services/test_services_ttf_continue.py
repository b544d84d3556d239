"""The services derive TTF with the protocol's continue reasons (``ttf.continue_reasons``).

TALENTOP's protocol file lists ``maintenance_completed`` as a continue reason: completing
maintenance ends treatment but neither fails nor censors TTF (protocol.md: the published
arm-A median TTF, 20.4 months, lies beyond the end of the 12-month maintenance). The same
stored patient under a protocol that censors at completion is censored on that date.
"""

from __future__ import annotations

import pytest

from flow_helpers import PROTOCOL, assess, context, day, statistician, to_randomised
from talentop import services as sv
from talentop.protocol import protocol_from_mapping

pytestmark = pytest.mark.db

RANDOMISED_DAY = 73  # flow_helpers.to_randomised randomises on day 73
DAYS_PER_MONTH = 365.25 / 12
COMPLETED = 73 + 396  # month 13 after randomisation (13 x 30.4375 = 395.7 days)
PROGRESSED = 73 + 578  # month 19 after randomisation (19 x 30.4375 = 578.3 days)


def censoring_at_completion(protocol):
    """The same protocol with its continue reasons moved to the censoring reasons."""
    data = protocol.model_dump()
    ttf = data["ttf"]
    ttf["censor_reasons"] = ttf["censor_reasons"] + ttf["continue_reasons"]
    ttf["continue_reasons"] = []
    return protocol_from_mapping(data)


@pytest.fixture
def completed_then_progressed(store):
    """Randomised day 73, PR on day 115, maintenance completed day 469, PD on day 651."""
    ctx = context(store)
    pid, _ = to_randomised(ctx, "DONE", shrink=0.6)
    assess(ctx, pid, 115, shrink=0.6)
    assert sv.record_discontinuation(ctx, pid, day(COMPLETED), "maintenance_completed")
    assess(ctx, pid, PROGRESSED, shrink=1.5)  # +50% from baseline, far above the nadir: PD
    return ctx


def _ttf(frame):
    rows = frame[(frame.USUBJID == "TALENTOP-SH01-DONE") & (frame.PARAMCD == "TTF")]
    assert len(rows) == 1
    return rows.iloc[0]


def test_protocol_continue_reason_lets_a_later_progression_fail_ttf(completed_then_progressed):
    """Protocol file as shipped: completion (day 469) skipped, PD on day 651 is the event:
    AVAL (651 - 73) / 30.4375 = 18.990 months, CNSR 0."""
    assert "maintenance_completed" in PROTOCOL.ttf.continue_reasons
    timeline = sv.patient_timelines(statistician(completed_then_progressed))[0]
    assert timeline.discontinuations == ((day(COMPLETED), "maintenance_completed"),)
    assert timeline.progression_date_recist == day(PROGRESSED)
    row = _ttf(sv.derive_endpoints(statistician(completed_then_progressed), day(900)))
    assert (row.CNSR, row.EVNTDESC, row.ADT) == (0, "PROGRESSION", day(PROGRESSED))
    assert row.AVAL == pytest.approx((PROGRESSED - RANDOMISED_DAY) / DAYS_PER_MONTH, abs=1e-9)
    assert row.AVAL == pytest.approx(18.990, abs=5e-4)


def test_the_same_patient_is_censored_at_completion_when_it_censors(completed_then_progressed):
    """Completion moved to censor_reasons: censored on day 469, AVAL 396 / 30.4375 = 13.010
    months, CNSR 9 (DISCONTINUATION NOT A FAILURE)."""
    ctx = sv.Context(
        completed_then_progressed.store,
        censoring_at_completion(PROTOCOL),
        completed_then_progressed.actor,
    )
    row = _ttf(sv.derive_endpoints(statistician(ctx), day(900)))
    assert (row.CNSR, row.EVNTDESC, row.ADT) == (
        9,
        "DISCONTINUATION NOT A FAILURE",
        day(COMPLETED),
    )
    assert row.AVAL == pytest.approx(13.010, abs=5e-4)


def test_export_applies_the_protocol_lists(completed_then_progressed, tmp_path):
    """``export_adtte`` (``talentop export adtte``) writes the same TTF row as derive_endpoints."""
    import pandas as pd

    sv.export_adtte(
        statistician(completed_then_progressed), tmp_path, formats=("csv",), cutoff_date=day(900)
    )
    back = pd.read_csv(tmp_path / "adtte.csv")
    ttf = back[back.PARAMCD == "TTF"].iloc[0]
    assert (ttf.CNSR, ttf.EVNTDESC) == (0, "PROGRESSION")
    assert ttf.AVAL == pytest.approx(18.990, abs=5e-4)
