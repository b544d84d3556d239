"""HRs that cannot be estimated say why; the sensitivity TTF really is re-censored;
a PD at the end-of-induction scan is never randomised (QA findings 10, "not verified", 3)."""

import datetime as dt
import json
import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from talentop.cli import app
from talentop.demo.analysis import (
    _interaction_p,
    compare,
    endpoint_frame,
    hazard_ratio,
    published_rows,
    require_both_arms,
)
from talentop.demo.provenance import unmark
from talentop.demo.run import adtte_both
from talentop.endpoints import PatientTimeline
from talentop.errors import InvalidInput
from talentop.protocol import load_protocol
from talentop.reports import p_equals


def _frame(times_a, events_a, times_b, events_b, strata=None):
    arm = ["A"] * len(times_a) + ["B"] * len(times_b)
    return pd.DataFrame(
        {
            "arm": arm,
            "time": list(times_a) + list(times_b),
            "event": list(events_a) + list(events_b),
            "stratum": strata or ["all"] * len(arm),
            "treat_a": [int(a == "A") for a in arm],
        }
    )


def test_no_events_in_an_arm_is_not_estimable_with_the_reason():
    frame = _frame([5, 8, 12, 20], [0, 0, 0, 0], [2, 4, 6, 9], [1, 1, 0, 1])
    estimate = hazard_ratio(frame)
    assert np.isnan(estimate.hr) and estimate.reason == "no events in arm A"
    result = compare(frame, "OS")
    assert result.hr_reason == "no events in arm A" and np.isfinite(result.logrank_p)


def test_no_events_at_all_reports_the_log_rank_p_as_not_estimable():
    """An early cut of a small trial: nothing to test (survdiff needs an event), so the P
    and the HR are missing with their reason instead of the analysis failing."""
    frame = _frame([5, 8, 12], [0, 0, 0], [2, 4, 6, 9], [0, 0, 0, 0])
    result = compare(frame, "TTF")
    assert np.isnan(result.logrank_p) and result.logrank_reason == "no events in either arm"
    assert np.isnan(result.hr) and result.hr_reason == "no events in either arm"
    assert p_equals(result.logrank_p, result.logrank_reason) == (
        "P not estimable (no events in either arm)"
    )
    assert set(result.km) == {"A", "B"}  # the curves are still drawn (flat at 1)


def test_a_subgroup_with_one_level_or_none_has_no_interaction_p():
    """A small run may have no SD patient (the SD subgroup is empty) or one ECOG level:
    there is no treatment x subgroup interaction to test, so P is missing, not an error."""
    frame = _frame([5, 8, 12], [1, 0, 1], [2, 4, 6], [1, 1, 0]).assign(
        level=["x", "x", "x", "x", "x", "x"]
    )
    assert np.isnan(_interaction_p(frame))
    assert np.isnan(_interaction_p(frame.iloc[:0]))
    no_events = frame.assign(event=0, level=["x", "y"] * 3)
    assert np.isnan(_interaction_p(no_events))
    two_levels = _frame([5, 8, 12, 3, 7], [1, 0, 1, 1, 1], [2, 4, 6, 9, 11], [1, 1, 0, 1, 1])
    p = _interaction_p(two_levels.assign(level=["x", "y", "x", "y", "x"] * 2))
    assert 0 <= p <= 1


def test_a_run_that_randomised_one_arm_only_says_so_and_how_to_fix_it():
    patients = pd.DataFrame({"arm": ["A", "A"], "usubjid": ["P1", "P2"]})
    with pytest.raises(InvalidInput) as caught:
        require_both_arms(10, patients)
    text = str(caught.value)
    assert "patients=10" in text and "randomised 2 (arm A 2, arm B 0)" in text
    assert "--patients" in text
    require_both_arms(10, pd.DataFrame({"arm": ["A", "B"]}))  # both arms: nothing raised


def test_monotone_stratified_likelihood_is_not_estimable_not_hr_0():
    """Every arm-A event falls where no arm-B patient of its stratum is at risk: the
    stratified partial likelihood rises without bound (lifelines would report a huge
    coefficient with a convergence warning)."""
    frame = _frame(
        [3, 30, 4, 5], [0, 1, 0, 0], [2, 6, 3, 7], [1, 1, 1, 0], strata=["s1", "s1", "s2", "s2"] * 2
    )
    estimate = hazard_ratio(frame)
    assert np.isnan(estimate.hr)
    assert estimate.reason.startswith("monotone likelihood")


def _figures(**over):
    base = {
        "screened": 100, "induction": 70, "randomised": 28, "arm_a": 15, "arm_b": 13,
        "operated": 14, "ttf_median_a": None, "ttf_median_b": 10.9, "ttf_hr": None,
        "ttf_hr_ci": [None, None], "ttf_hr_reason": "monotone likelihood: too few events within strata",
        "ttf_p": 0.0034, "os_hr": None, "os_ci": [None, None], "os_hr_reason": "no events in arm A",
        "os_events": 4, "cd3_pct": 42.9, "ttf_sensitivity_median_a": None,
        "ttf_sensitivity_median_b": 10.9, "ttf_sensitivity_events": {"A": 1, "B": 8},
        "ttf_sensitivity_hr": None, "ttf_sensitivity_hr_ci": [None, None],
        "ttf_sensitivity_hr_reason": "no events in arm A", "ttf_sensitivity_p": 0.0034, "maintenance_completed": 3, "expected": {},
    }  # fmt: skip
    return base | over


def test_published_rows_never_print_nan_or_a_diverged_zero():
    """Cells carry their provenance mark (issue 15); the text before it is unchanged."""
    rows = published_rows(_figures())
    text = json.dumps(rows)
    assert not re.search(r"\b(nan|inf)\b", text.lower())
    assert "0.00 (" not in text and "HR 0.00" not in text
    run = {r["Figure"]: unmark(r["This run"]) for r in rows}
    assert run["OS hazard ratio (95% CI)"] == "not estimable (no events in arm A)"
    assert run["TTF hazard ratio (A vs B), P"].startswith(
        "not estimable (monotone likelihood: too few events within strata), log-rank P = 0.003"
    )
    sensitivity = run["Sensitivity: TTF censored at maintenance completion"]
    assert "HR not estimable (no events in arm A)" in sensitivity and "events 1 / 8" in sensitivity


def _timeline(i, arm, *, stop=None, progression=None, last=dt.date(2023, 6, 1)):
    start = dt.date(2021, 1, 1)
    return PatientTimeline(
        usubjid=f"P{i:02d}",
        arm=arm,
        randomisation_date=start,
        progression_date_recist=progression,
        last_contact_date=last,
        last_adequate_assessment_date=progression or last,
        assessment_dates=tuple(start + dt.timedelta(days=42 * k) for k in range(1, 15)),
        discontinuations=((stop, "maintenance_completed"),) if stop else (),
        strata={"s": "x"},
    )


def test_sensitivity_analysis_uses_the_recensored_data():
    """6 arm-A patients complete maintenance (month ~13) and recur later while arm B is
    still at risk: the primary TTF counts those failures, the sensitivity censors them at
    completion. The sensitivity Cox equals lifelines' Cox on the re-censored data."""
    from lifelines import CoxPHFitter

    protocol = load_protocol("talentop")
    rng = np.random.default_rng(4)
    timelines = []
    for i in range(16):  # arm B: progressions spread over two years
        day = dt.date(2021, 1, 1) + dt.timedelta(days=int(rng.integers(60, 800)))
        timelines.append(_timeline(i, "B", progression=day if i % 4 else None))
    for i in range(16, 32):
        completed = i < 22
        stop = dt.date(2022, 2, 1) if completed else None
        recur = dt.date(2022, 3, 1) + dt.timedelta(days=30 * (i - 16)) if completed else None
        if not completed and i % 3 == 0:
            recur = dt.date(2021, 6, 1) + dt.timedelta(days=20 * i)
        timelines.append(_timeline(i, "A", stop=stop, progression=recur))
    frames = adtte_both(timelines, protocol, dt.date(2023, 6, 1))
    covariates = pd.DataFrame(
        {
            "usubjid": [t.usubjid for t in timelines],
            "stratum": "s=x",
            "ecog": 0,
            "vp_grade": "Vp3",
            "bor": "PR",
            "depth_of_response_pct": -40.0,
        }
    )
    primary = compare(endpoint_frame(frames["primary"], "TTF", covariates), "TTF")
    sensitivity = compare(endpoint_frame(frames["censor_at_completion"], "TTF", covariates), "TTF")
    events = {
        name: int(r.data.event[r.data.arm == "A"].sum())
        for name, r in (("primary", primary), ("sensitivity", sensitivity))
    }
    assert events["primary"] - events["sensitivity"] == 6
    assert sensitivity.hr != pytest.approx(primary.hr, rel=1e-3)
    assert sensitivity.logrank_p != pytest.approx(primary.logrank_p, rel=1e-3)
    oracle = CoxPHFitter().fit(sensitivity.data[["time", "event", "treat_a"]], "time", "event")
    # lifelines stops at its default step tolerance (about 1e-4 relative on the HR here)
    assert sensitivity.hr == pytest.approx(float(np.exp(oracle.params_["treat_a"])), rel=1e-3)


def test_demo_help_names_the_default_database_path():
    result = CliRunner().invoke(app, ["demo", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "OUT/talentop-demo.db" in result.output
    assert " /talentop-demo.db" not in result.output and "<out>" not in result.output.lower()


@pytest.mark.slow
@pytest.mark.db
def test_a_small_demo_reports_what_it_cannot_estimate_instead_of_failing(tmp_path):
    """``talentop demo --patients 12 --seed 1``: two patients randomised, no event before
    the cut. The report is written; the log-rank P, the HR and the interim bound say why
    they are missing. ``--patients 10`` (seed 2025) randomises arm A only: a clear error
    naming the option, not a traceback from the log-rank test."""
    out = tmp_path / "small"
    result = CliRunner().invoke(
        app, ["demo", "--patients", "12", "--seed", "1", "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)["figures"]
    assert figures["randomised"] >= 2 and figures["ttf_events"] == 0  # the premise
    assert figures["ttf_p"] is None and figures["ttf_p_reason"] == "no events in either arm"
    assert figures["gs_efficacy_z"] is None and figures["gs_information_fraction"] == 0.0
    report = (out / "index.html").read_text()
    assert "P not estimable (no events in either arm)" in report
    assert "none (no events yet)" in report
    dmc = (out / "closed-dmc.html").read_text()
    assert "not assessable (no events: no bound yet)" in dmc
    one_arm = CliRunner().invoke(app, ["demo", "--patients", "10", "--out", str(tmp_path / "a")])
    assert one_arm.exit_code == 2
    message = " ".join(one_arm.output.split())
    assert "patients=10" in message and "arm B 0" in message and "Traceback" not in message


@pytest.mark.slow
@pytest.mark.db
def test_pd_at_the_end_of_induction_is_not_randomised(tmp_path):
    """Two latent-PD patients of seed 2025 (S0065, S0165) with a (noisy) MDT majority for
    resection, their week-6 scan set to SD (+10%, day 45) and the week-12 scan PD as drawn.
    Randomised, their TTF was a PD dated before randomisation; they stop before the MDT.
    (Issue 15 changed the cohort's random stream, so the patients were re-chosen.)"""
    import dataclasses

    from talentop.demo.cohort import generate_cohort
    from talentop.demo.outcomes import outcome_model
    from talentop.demo.pipeline import data_cut, seed_randomisation_secret
    from talentop.demo.run import END_OF_INDUCTION_PD, run_cohort
    from talentop.store import Store, init_database, queries

    model = outcome_model()
    cohort = generate_cohort(627, seed=2025, model=model)
    chosen = []
    for patient in (cohort[64], cohort[164]):
        assert patient.latent_response == "PD"
        assert sum(vote for _, vote in patient.mdt_votes) * 2 > len(patient.mdt_votes)
        week6, week12 = patient.followups
        start = dt.date.fromisoformat(patient.baseline["date"])
        sd = {t["id"]: round(t["diameter_mm"] * 1.1, 0) for t in patient.baseline["target"]}
        week6 = {**week6, "target": sd, "date": (start + dt.timedelta(days=45)).isoformat()}
        chosen.append(dataclasses.replace(patient, followups=[week6, week12]))
    store = Store(f"sqlite:///{tmp_path / 'pd.db'}")
    seed_randomisation_secret(store, 2025)
    init_database(store)
    run = run_cohort(
        chosen, store, load_protocol("talentop"), cutoff_date=data_cut(model), model=model
    )
    assert run.not_randomised == {END_OF_INDUCTION_PD: 2}
    with store.unit_of_work() as session:
        assert queries.randomisations(session) == []


@pytest.mark.slow
@pytest.mark.db
def test_database_ttf_is_the_generators_ttf_censored_at_the_cut(small_demo):
    """Every randomised patient's primary TTF read back from the database equals the
    generator's latent TTF (after switch / death-as-failure) censored at the data cut, except
    that a progression is dated at the scan documenting it: on or after the latent date, at
    most one imaging interval (+ the 3-day scan jitter) later - 6 weeks on treatment, 12 after
    maintenance completion (planned; it may fall after the cut). Within day rounding: dates are whole days (0.02 months)."""
    from talentop.demo.cohort import DAYS_PER_MONTH

    run = small_demo.run
    patients = run.patient_frame()
    ttf = small_demo.adtte[small_demo.adtte.PARAMCD == "TTF"].set_index("USUBJID")
    randomised = patients[patients.arm.notna()]
    assert len(randomised) == len(ttf)
    snapped = 0
    for row in randomised.itertuples():
        to_cut = (run.cutoff_date - row.randomised_on).days / DAYS_PER_MONTH
        latent_day = row.randomised_on + dt.timedelta(
            days=max(1, round(row.ttf_months_latent * DAYS_PER_MONTH))
        )
        failure_day = row.failure_on
        if row.failure_reason == "progression":
            completion = row.treatment_completion_on
            near = dt.timedelta(weeks=6, days=3)  # its on-treatment scan would be after completion
            completed = isinstance(completion, dt.date) and latent_day > completion - near
            weeks = 12 if completed else 6
            assert latent_day <= failure_day <= latent_day + dt.timedelta(weeks=weeks, days=3)
            assert failure_day == row.pd_documented_on
            snapped += failure_day != latent_day
        else:
            assert failure_day == latent_day, row.usubjid
        event = failure_day <= run.cutoff_date
        stored = ttf.loc[row.usubjid]
        assert (stored.CNSR == 0) == event, row.usubjid
        expected = min((failure_day - row.randomised_on).days / DAYS_PER_MONTH, to_cut)
        assert stored.AVAL == pytest.approx(expected, abs=0.02), row.usubjid
    assert snapped >= 3


def test_sensitivity_moves_whatever_the_protocol_lists_as_continue_reasons():
    """No reason name in the demo: a protocol whose continue reason is 'treatment_holiday'
    (day 100) gets PD on day 200 as the primary TTF event and censoring on day 100 in the
    sensitivity; a protocol without continue reasons gets no sensitivity frame."""
    from talentop.protocol import protocol_from_mapping

    data = load_protocol("talentop").model_dump()
    data["discontinuation_reasons"].append("treatment_holiday")
    data["ttf"]["continue_reasons"] = ["treatment_holiday"]
    data["ttf"]["censor_reasons"].append("maintenance_completed")
    protocol = protocol_from_mapping(data)
    start = dt.date(2021, 1, 1)
    timeline = PatientTimeline(
        usubjid="H01",
        arm="A",
        randomisation_date=start,
        progression_date_recist=start + dt.timedelta(days=200),
        last_contact_date=start + dt.timedelta(days=300),
        discontinuations=((start + dt.timedelta(days=100), "treatment_holiday"),),
    )
    frames = adtte_both([timeline], protocol, dt.date(2023, 6, 1))
    ttf = {k: f[f.PARAMCD == "TTF"].iloc[0] for k, f in frames.items()}
    assert (ttf["primary"].ADT, ttf["primary"].CNSR) == (start + dt.timedelta(days=200), 0)
    censored = ttf["censor_at_completion"]
    assert (censored.ADT, censored.EVNTDESC) == (
        start + dt.timedelta(days=100),
        "DISCONTINUATION NOT A FAILURE",
    )
    assert list(adtte_both([], load_protocol("talentace"), dt.date(2023, 6, 1))) == ["primary"]
