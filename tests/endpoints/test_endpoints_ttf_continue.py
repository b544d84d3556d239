"""TTF continue reasons: a discontinuation that ends treatment but neither fails nor censors.

Rule source: the protocol's TTF definition (``ttf.continue_reasons``; TALENTOP lists
``maintenance_completed`` so the published arm-A median of 20.4 months, beyond the end of the
12-month maintenance, is observable) and FDA 2018 (TTF: discontinuation of treatment for any
failure reason). Randomisation 2024-01-01 (day 0); AVAL = days / 30.4375 (admiral, no +1).
"""

import datetime as dt

import pytest

from talentop.endpoints import CENSORING_CODES, PatientTimeline, derive_adtte
from talentop.errors import InvalidInput

RAND = dt.date(2024, 1, 1)
CUTOFF = dt.date(2026, 6, 30)
FAILURES = ["progression", "toxicity", "death"]
MONTH = 30.4375


def day(n: int) -> dt.date:
    return RAND + dt.timedelta(days=n)


def code(description: str) -> int:
    return next(c for c, (desc, _, _) in CENSORING_CODES.items() if desc == description)


def ttf(timeline: PatientTimeline, **lists):
    frame = derive_adtte([timeline], failure_reasons=FAILURES, cutoff_date=CUTOFF, **lists)
    return frame[frame.PARAMCD == "TTF"].iloc[0]


def patient(**fields) -> PatientTimeline:
    return PatientTimeline(usubjid="S01-001", arm="A", randomisation_date=RAND, **fields)


# Month 13 = day 396 (13 x 30.4375 = 395.7); month 19 = day 578 (19 x 30.4375 = 578.3).
COMPLETED_THEN_PROGRESSED = patient(
    discontinuations=[(day(396), "completed")],
    progression_date_recist=day(578),
    last_contact_date=day(600),
)


def test_completion_then_progression_is_a_failure_under_continue():
    """Maintenance completed at month 13 (day 396), RECIST progression at month 19 (day 578).
    Continue: completion is skipped, the first failure is the progression -> ADT day 578,
    CNSR 0, EVNTDESC PROGRESSION, AVAL 578 / 30.4375 = 18.990 months."""
    row = ttf(COMPLETED_THEN_PROGRESSED, censor_reasons=[], continue_reasons=["completed"])
    assert (row.ADT, row.CNSR, row.EVNTDESC) == (day(578), 0, "PROGRESSION")
    assert row.AVAL == pytest.approx(578 / MONTH, abs=1e-12)
    assert row.AVAL == pytest.approx(18.990, abs=5e-4)


def test_completion_censors_when_listed_as_a_censoring_reason():
    """Same patient, completion in censor_reasons: censored on the completion date (day 396),
    CNSR 9 (DISCONTINUATION NOT A FAILURE), AVAL 396 / 30.4375 = 13.010 months; the later
    progression does not count."""
    row = ttf(COMPLETED_THEN_PROGRESSED, censor_reasons=["completed"])
    assert (row.ADT, row.CNSR, row.EVNTDESC, row.CNSDTDSC) == (
        day(396),
        code("DISCONTINUATION NOT A FAILURE"),
        "DISCONTINUATION NOT A FAILURE",
        "DISCONTINUATION DATE",
    )
    assert row.AVAL == pytest.approx(13.010, abs=5e-4)


def test_death_and_failure_discontinuation_after_completion_count():
    """Continue: death on day 450 after completion on day 396 -> DEATH on day 450; a
    toxicity discontinuation on day 420 (before the death) -> that discontinuation."""
    died = patient(discontinuations=[(day(396), "completed")], death_date=day(450))
    row = ttf(died, censor_reasons=[], continue_reasons=["completed"])
    assert (row.ADT, row.CNSR, row.EVNTDESC) == (day(450), 0, "DEATH")
    stopped = patient(
        discontinuations=[(day(396), "completed"), (day(420), "toxicity")], death_date=day(450)
    )
    row = ttf(stopped, censor_reasons=[], continue_reasons=["completed"])
    assert (row.ADT, row.CNSR, row.EVNTDESC) == (day(420), 0, "DISCONTINUATION: toxicity")


def test_no_failure_after_completion_is_censored_at_last_contact_not_at_completion():
    """Completion day 396, last seen alive day 700 (before the cut), no failure: censored at
    day 700 (LAST DATE KNOWN ALIVE), described as treatment ended without failure; if
    follow-up reaches past the cut-off, censored at the cut-off (day 911 = 2026-06-30)."""
    quiet = patient(discontinuations=[(day(396), "completed")], last_contact_date=day(700))
    row = ttf(quiet, censor_reasons=[], continue_reasons=["completed"])
    description = "TREATMENT ENDED, NO FAILURE AT LAST CONTACT"
    assert (row.ADT, row.CNSR, row.EVNTDESC, row.CNSDTDSC) == (
        day(700),
        code(description),
        description,
        "LAST DATE KNOWN ALIVE",
    )
    followed = patient(discontinuations=[(day(396), "completed")], last_contact_date=day(950))
    row = ttf(followed, censor_reasons=[], continue_reasons=["completed"])
    assert (row.ADT, row.CNSR) == (CUTOFF, code("DATA CUT-OFF"))
    assert (CUTOFF - RAND).days == 911


def test_continue_reason_is_not_an_unknown_reason():
    """Without the list the same reason is unknown (refused); with it, accepted."""
    with pytest.raises(InvalidInput, match=r"discontinuation reason='completed' on 2025-01-31"):
        ttf(COMPLETED_THEN_PROGRESSED, censor_reasons=[])
    assert (
        ttf(COMPLETED_THEN_PROGRESSED, censor_reasons=[], continue_reasons={"completed"}).CNSR == 0
    )


@pytest.mark.parametrize(
    ("lists", "message"),
    [
        (
            {"censor_reasons": ["completed"], "continue_reasons": ["completed"]},
            r"censor_reasons and continue_reasons both list \['completed'\]: expected disjoint",
        ),
        (
            {"censor_reasons": [], "continue_reasons": ["completed", "toxicity"]},
            r"failure_reasons and continue_reasons both list \['toxicity'\]: expected disjoint",
        ),
    ],
)
def test_continue_reasons_must_not_fail_or_censor(lists, message):
    with pytest.raises(InvalidInput, match=message):
        ttf(COMPLETED_THEN_PROGRESSED, **lists)


def test_continue_reasons_leave_os_and_pfs_alone():
    """Only TTF reads the reason lists: OS and PFS rows are identical under both readings."""
    options = {"failure_reasons": FAILURES, "cutoff_date": CUTOFF}
    timeline = COMPLETED_THEN_PROGRESSED
    a = derive_adtte([timeline], censor_reasons=["completed"], **options)
    b = derive_adtte([timeline], censor_reasons=[], continue_reasons=["completed"], **options)
    others = a.PARAMCD != "TTF"
    assert a[others].reset_index(drop=True).equals(b[b.PARAMCD != "TTF"].reset_index(drop=True))
