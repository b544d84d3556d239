"""ADAE derivation (pure): CDISC study day (SDTMIG 3.x section 4.4.4: the day of the
reference date is day 1, the day before it day -1; there is no day 0), AESEQ order, SAE flags
blank for non-serious events (ADaM OCCDS)."""

import datetime as dt

import pandas as pd

from talentop.endpoints.adae import COLUMNS, derive_adae, study_day

D = dt.date(2025, 1, 6)


def test_study_day_has_no_day_zero():
    assert study_day(D, D) == 1
    assert study_day(D + dt.timedelta(days=1), D) == 2
    assert study_day(D - dt.timedelta(days=1), D) == -1
    assert study_day(D, None) is None


def test_adae_rows_flags_and_sequence():
    base = {"usubjid": "S-1", "site": "SH01", "arm": "A", "first_dose": D, "randomised_on": D,
            "attribution": "possible"}  # fmt: skip
    events = [
        {**base, "id": 2, "term": "Rash", "grade": 1, "serious": False,
         "onset_date": D + dt.timedelta(days=30)},
        {**base, "id": 1, "term": "Hepatic failure", "grade": 4, "serious": True,
         "onset_date": D + dt.timedelta(days=10),
         "sae": {"criteria": {"death": False, "life_threatening": True, "hospitalisation": True,
                              "disability": False, "congenital_anomaly": False,
                              "important_medical_event": False},
                 "outcome": "recovering", "susar": True, "on_time": False}},
        {**base, "usubjid": "S-2", "id": 3, "term": "Fatigue", "grade": 2, "serious": False,
         "first_dose": None, "onset_date": D},
    ]  # fmt: skip
    frame = derive_adae("TALENTOP", events)
    assert list(frame.columns) == COLUMNS
    first = frame.iloc[0]
    assert (first.AESEQ, first.AETERM, first.ASTDY, first.TRTEMFL) == (
        1,
        "Hepatic failure",
        11,
        "Y",
    )
    assert (first.AESER, first.AESLIFE, first.AESDTH, first.SUSARFL, first.SAEONTFL) == (
        "Y", "Y", "N", "Y", "N")  # fmt: skip
    second = frame.iloc[1]
    assert second.AESEQ == 2 and second.AESER == "N" and second.AESLIFE is None
    third = frame.iloc[2]
    assert third.AESEQ == 1 and third.TRTEMFL is None and pd.isna(third.ASTDY)
    assert str(frame.ASTDY.dtype) == "Int64"
