"""ADTTE dataset shape, AVAL in months, CNSR semantics, KM oracle, XPT/CSV round trips."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter

from talentop.endpoints import PatientTimeline, derive_adtte, to_csv, write_xpt
from talentop.errors import InvalidInput

RAND = dt.date(2024, 1, 1)
CUTOFF = dt.date(2026, 1, 1)
SAS_EPOCH = dt.date(1960, 1, 1)


def _cohort(n=80, seed=4):
    """Simulated patients: exponential death times, uniform accrual, random contact loss."""
    rng = np.random.default_rng(seed)
    timelines = []
    for i in range(n):
        start = RAND + dt.timedelta(days=int(rng.integers(0, 200)))
        death = start + dt.timedelta(days=int(rng.exponential(400)) + 1)
        contact = start + dt.timedelta(days=int(rng.integers(1, 700)))
        died = death <= contact
        timelines.append(
            PatientTimeline(
                usubjid=f"P{i:03d}",
                arm="A" if i % 2 else "B",
                randomisation_date=start,
                death_date=death if died else None,
                last_contact_date=min(contact, death),
                strata={"ecog": str(i % 2), "depth": "deep" if i % 3 else "shallow"},
            )
        )
    return timelines


def _derive(timelines, **options):
    return derive_adtte(timelines, failure_reasons=["toxicity"], censor_reasons=["withdrawal"],
                        cutoff_date=CUTOFF, **options)  # fmt: skip


def test_one_row_per_patient_and_parameter_with_adtte_columns():
    frame = _derive(_cohort(10))
    assert len(frame) == 40
    assert sorted(frame["PARAMCD"].unique()) == ["OS", "PFS", "PFSMR", "TTF"]
    assert list(frame.columns[:4]) == ["USUBJID", "ARM", "DEPTH", "ECOG"]
    assert {"STARTDT", "ADT", "AVAL", "AVALU", "CNSR", "EVNTDESC", "CNSDTDSC"} <= set(frame)
    assert (frame["ADT"] >= frame["STARTDT"]).all()
    assert frame.groupby("USUBJID").size().eq(4).all()


def test_aval_is_days_over_days_per_month():
    """Death 365 days after randomisation: AVAL = 365 / 30.4375 = 11.9918 months;
    admiral add_one = TRUE gives 366 / 30.4375 = 12.0246 months."""
    timeline = PatientTimeline("P1", "A", RAND, death_date=RAND + dt.timedelta(days=365))
    os_row = _derive([timeline]).set_index("PARAMCD").loc["OS"]
    assert os_row["AVAL"] == pytest.approx(365 / (365.25 / 12), rel=1e-12)
    assert os_row["AVALU"] == "MONTHS"
    plus_one = _derive([timeline], add_one_day=True).set_index("PARAMCD").loc["OS"]
    assert plus_one["AVAL"] == pytest.approx(366 / (365.25 / 12), rel=1e-12)
    per_30 = _derive([timeline], days_per_month=30.0).set_index("PARAMCD").loc["OS"]
    assert per_30["AVAL"] == pytest.approx(365 / 30)


def test_cnsr_zero_is_the_event_indicator():
    """CDISC ADTTE: event indicator is CNSR == 0 (censoring codes are 1, 2, 3...; using
    1 - CNSR would turn code-2 censorings into events with negative indicators)."""
    frame = _derive(_cohort()).query("PARAMCD == 'OS'")
    events = frame["CNSR"] == 0
    assert (events == frame["EVNTDESC"].eq("DEATH")).all()
    assert (frame.loc[~events, "CNSR"] > 0).all()


def test_km_on_derived_os_matches_km_on_raw_dates():
    """lifelines Kaplan-Meier as oracle: fitted on raw dates (death or last contact, capped
    at the cut-off) and on the derived AVAL/CNSR, the curves and medians agree."""
    timelines = _cohort(120, seed=9)
    frame = _derive(timelines).query("PARAMCD == 'OS'").set_index("USUBJID")
    raw_days, raw_event = [], []
    for t in timelines:
        end = t.death_date if t.death_date is not None else t.last_contact_date
        died = t.death_date is not None and t.death_date <= CUTOFF
        raw_days.append((min(end, CUTOFF) - t.randomisation_date).days)
        raw_event.append(died)
    raw = KaplanMeierFitter().fit(np.array(raw_days) / 30.4375, np.array(raw_event))
    derived_rows = frame.loc[[t.usubjid for t in timelines]]
    derived = KaplanMeierFitter().fit(derived_rows["AVAL"], derived_rows["CNSR"] == 0)
    grid = np.linspace(0, 20, 81)
    np.testing.assert_allclose(
        derived.survival_function_at_times(grid).to_numpy(),
        raw.survival_function_at_times(grid).to_numpy(),
        atol=1e-12,
    )
    assert derived.median_survival_time_ == pytest.approx(raw.median_survival_time_)


def test_xpt_round_trip_with_pandas_reader(tmp_path):
    """SAS transport v5 read back by pandas.read_sas(format="xport"). pandas decodes IBM
    zero as 5.4e-79 (pandas-dev/pandas#50670), hence an absolute tolerance on numbers."""
    frame = _derive(_cohort(12))
    path = write_xpt(frame, tmp_path / "adtte.xpt")
    back = pd.read_sas(path, format="xport", encoding="utf-8")
    assert list(back.columns) == list(frame.columns)
    np.testing.assert_allclose(back["AVAL"], frame["AVAL"], rtol=1e-12, atol=1e-70)
    np.testing.assert_allclose(back["CNSR"], frame["CNSR"], atol=1e-70)
    sas_days = [(d - SAS_EPOCH).days for d in frame["ADT"]]
    np.testing.assert_allclose(back["ADT"], sas_days, atol=1e-70)
    assert back["USUBJID"].tolist() == frame["USUBJID"].tolist()
    assert back["EVNTDESC"].tolist() == frame["EVNTDESC"].tolist()


def test_xpt_keeps_labels_and_date_formats(tmp_path):
    import pyreadstat

    path = write_xpt(_derive(_cohort(3)), tmp_path / "adtte.xpt")
    data, meta = pyreadstat.read_xport(str(path))
    assert meta.column_names_to_labels["CNSR"] == "Censor (0 = event)"
    assert meta.original_variable_types["ADT"].startswith("DATE")
    assert isinstance(data["ADT"].iloc[0], dt.date)


def test_xpt_refuses_long_names(tmp_path):
    from talentop.errors import InvalidInput

    frame = _derive(_cohort(2)).rename(columns={"EVNTDESC": "EVENTDESCRIPTION"})
    with pytest.raises(InvalidInput, match=r"column 'EVENTDESCRIPTION': expected a SAS name"):
        write_xpt(frame, tmp_path / "x.xpt")


def test_csv_round_trip(tmp_path):
    frame = _derive(_cohort(12))
    back = pd.read_csv(to_csv(frame, tmp_path / "adtte.csv"), dtype={"ECOG": str})
    assert back["ADT"].tolist() == [d.isoformat() for d in frame["ADT"]]
    np.testing.assert_allclose(back["AVAL"], frame["AVAL"], rtol=1e-15)
    assert back["CNSR"].tolist() == frame["CNSR"].tolist()


def test_patients_randomised_after_the_cutoff_are_left_out_and_counted():
    """QA finding 9: an interim dataset holds only patients randomised by the cut-off."""
    early = PatientTimeline("P1", "A", RAND, last_contact_date=RAND + dt.timedelta(days=90))
    late = PatientTimeline(
        "P2", "B", CUTOFF + dt.timedelta(days=1), last_contact_date=CUTOFF + dt.timedelta(days=30)
    )
    on_the_day = PatientTimeline("P3", "B", CUTOFF, last_contact_date=CUTOFF)
    frame = _derive([early, late, on_the_day])
    assert sorted(frame["USUBJID"].unique()) == ["P1", "P3"]
    assert frame.attrs["excluded_after_cutoff"] == 1
    assert (frame["ADT"] <= CUTOFF).all()


def test_cutoff_before_every_randomisation_is_refused():
    late = PatientTimeline("P2", "B", CUTOFF + dt.timedelta(days=1))
    with pytest.raises(
        InvalidInput,
        match=r"cutoff_date='2026-01-01': expected on or after the first randomisation "
        r"\(2026-01-02\): all 1 patients",
    ):
        _derive([late])


def test_no_patients_is_an_empty_dataset_not_an_error():
    frame = _derive([])
    assert frame.empty and frame.attrs["excluded_after_cutoff"] == 0
