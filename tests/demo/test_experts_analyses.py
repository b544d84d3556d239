"""The experts' analyses (demo.experts, demo.analysis.subgroups) on small hand-made frames.

Oracles: Clopper-Pearson intervals from scipy beta quantiles (Clopper & Pearson 1934); the Cox
landmark HR against lifelines' CoxPHFitter (Efron ties); band edges and the 90-day window by
hand; the depth-of-response cut of the protocol's stratum (TALENTOP: deep <= -30, shallow
(-30, 0], growth > 0).
"""

import datetime as dt
from types import SimpleNamespace

import numpy as np
import pandas as pd
from scipy.stats import beta

from talentop.demo import experts
from talentop.demo.analysis import subgroups
from talentop.protocol import load_protocol

PROTOCOL = load_protocol("talentop")


def cp(k: int, n: int) -> tuple[float, float]:
    lower = 0.0 if k == 0 else beta.ppf(0.025, k, n - k + 1)
    upper = 1.0 if k == n else beta.ppf(0.975, k + 1, n - k)
    return 100 * lower, 100 * upper


def test_conversion_counts_with_exact_intervals():
    patients = pd.DataFrame(
        {
            "baseline_class": ["technically_unresectable"] * 4 + ["technically_resectable"] * 6,
            "mdt_resectable": [True, False, None, False, True, True, True, False, True, None],
            "operated": [True, False, False, False, True, False, True, False, False, False],
            "vp_grade": ["Vp3", "Vp4", "Vp3", "Vp1", "Vp3", "Vp4", "Vp2", "Vp3", "Vp3", "Vp4"],
        }
    )
    table = experts.conversion_table(patients).set_index(["Population", "Thrombus"])
    lo, hi = cp(5, 10)
    assert table.loc[("All who started induction", "All"), "Judged resectable by the MDT"] == (
        f"5 of 10 (50.0%, 95% CI {lo:.1f}-{hi:.1f})"
    )
    row = table.loc[("Technically unresectable at baseline", "All")]
    assert row["n"] == 4 and row["Resected"].startswith("1 of 4 (25.0%")
    assert table.loc[("Technically unresectable at baseline", "Vp3"), "n"] == 2


def test_operable_within_counts_only_the_full_window():
    start = dt.date(2022, 1, 1)
    facts = pd.DataFrame(
        {
            "arm": ["B", "B", "B", "A"],
            "randomised_on": [start, start, dt.date(2023, 6, 1), start],
            "first_flag_on": [dt.date(2022, 5, 1), None, dt.date(2023, 7, 1), None],
            "first_resectable_review_on": [dt.date(2022, 5, 5), None, None, None],
        }
    )
    out = experts.operable_within(SimpleNamespace(patients=facts), 12, dt.date(2023, 12, 31))
    assert (out["with_full_window"], out["flagged"], out["resectable"]) == (2, 1, 1)


def _stored():
    day = dt.date(2022, 3, 1)
    surgeries = pd.DataFrame(
        {
            "patient": ["P1", "P2", "P3", "P4"],
            "arm": ["A", "A", "A", "B"],
            "surgery_date": [day] * 4,
            "days_after_bevacizumab": [30, 45, 60, 60],
            "after_switch": [False, False, False, True],
            "death_date": [day + dt.timedelta(days=80), None, day + dt.timedelta(days=120), None],
            "necrosis_pct": [100.0, 92.0, 40.0, None],
            "local_therapy": [None] * 4,
        }
    )
    complications = pd.DataFrame(
        {
            "patient": ["P1", "P1", "P3"],
            "arm": ["A"] * 3,
            "term": ["PHLF", "Bleeding", "Wound infection"],
            "grade": ["IVa", "II", "I"],
            "category": ["liver_failure", "bleeding", "wound"],
            "isgls_grade": ["C", None, None],
        }
    )
    return SimpleNamespace(surgeries=surgeries, complications=complications)


def test_surgical_safety_by_days_since_bevacizumab():
    table = experts.surgical_safety(_stored(), PROTOCOL).set_index("Days since last bevacizumab")
    assert list(table.index) == ["28-41 days", "42-55 days", ">= 56 days", "All operated"]
    assert table.loc["28-41 days", "Liver failure ISGLS B/C"].startswith("1 of 1")
    assert table.loc["28-41 days", "Death within 90 days"].startswith("1 of 1")  # day 80
    assert table.loc[">= 56 days", "Death within 90 days"].startswith("0 of 2")  # day 120
    total = table.loc["All operated"]
    assert total["Clavien-Dindo >= IIIa"].startswith("1 of 4")
    assert total["Wound"].startswith("1 of 4") and total["Bleeding"].startswith("1 of 4")


def test_pathological_response_classes():
    stored = _stored()
    stored.patients = pd.DataFrame(
        {"usubjid": ["P1", "P2", "P3", "P4"], "randomised_on": [dt.date(2022, 1, 1)] * 4}
    )
    os_frame = pd.DataFrame(
        {"USUBJID": ["P1", "P2", "P3", "P4"], "time": [20.0, 18.0, 6.0, 9.0], "event": [0, 0, 1, 0]}
    )
    table, link = experts.pathology(stored, os_frame, PROTOCOL)
    counts = dict(zip(table["Pathological response"], table["Resected specimens"], strict=True))
    assert counts["complete (necrosis >= 100%)"].startswith("1 of 3")
    assert counts["major (necrosis >= 90%)"].startswith("1 of 3")
    assert counts["partial or none"].startswith("1 of 3")
    assert link.iloc[0]["HR (95% CI)"].startswith("not estimable")  # one death only


def test_depth_landmark_matches_lifelines():
    from lifelines import CoxPHFitter

    rng = np.random.default_rng(4)
    n = 160
    depth = rng.uniform(-70, 20, n)
    treat = rng.integers(0, 2, n)
    vp = np.where(rng.random(n) < 0.6, "Vp3", "Vp2")
    hazard = 0.03 * np.exp(0.015 * depth - 0.3 * treat)
    time = rng.exponential(1 / hazard)
    event = (time < 36).astype(int)
    frame = pd.DataFrame(
        {"time": np.minimum(time, 36), "event": event, "depth_of_response_pct": depth,
         "treat_a": treat, "vp_grade": vp}
    )  # fmt: skip
    table = experts.depth_landmark(frame).set_index("Analysis")
    ref = CoxPHFitter().fit(
        frame.assign(deeper_10pct=-frame.depth_of_response_pct / 10)[
            ["time", "event", "deeper_10pct", "treat_a"]
        ],
        duration_col="time",
        event_col="event",
    )
    expected = f"{float(np.exp(ref.params_['deeper_10pct'])):.2f}"
    assert table.loc[
        "All randomised (adjusted for arm)", "HR per 10 points deeper (95% CI)"
    ].startswith(expected)
    assert table.loc["Depth x Vp3/Vp4 interaction (likelihood ratio, 1 df)", "P"] != ""


def test_sd_with_no_change_is_with_shrinkage_as_in_the_stratum():
    """0.0% change: stratum level 'shrinkage < 30% or no change' (upper 0, inclusive), and
    the SD split puts it with shrinkage (<= 0%), not with growth."""
    rng = np.random.default_rng(1)
    n = 80
    frame = pd.DataFrame(
        {
            "time": rng.exponential(10, n),
            "event": rng.integers(0, 2, n),
            "arm": np.where(np.arange(n) % 2, "A", "B"),
            "treat_a": np.arange(n) % 2,
            "stratum": "s",
            "bor": "SD",
            "depth_of_response_pct": np.tile([0.0, -10.0, 12.0, -40.0], n // 4),
            "vp_grade": np.tile(["Vp3", "Vp3", "Vp4", "Vp4"], n // 4),
            "ecog": 0,
            "baseline_class": "technically_resectable",
        }
    )
    rows = subgroups(frame, PROTOCOL)
    depth = rows[rows.subgroup == "Depth of response"].set_index("level")
    assert (
        depth.loc["shrinkage < 30% or no change", "n_a"]
        + depth.loc["shrinkage < 30% or no change", "n_b"]
        == n // 2
    )  # 0.0 and -10.0
    sd = rows[rows.subgroup == "SD patients: tumour size"].set_index("level")
    assert sd.loc["SD, shrinkage or no change (<= 0%)", ["n_a", "n_b"]].sum() == 3 * n // 4
    assert set(rows[rows.subgroup == "Portal vein thrombus"].level) == {"Vp3", "Vp4"}
    assert rows[rows.subgroup == "Portal vein thrombus"].p_interaction.notna().all()
