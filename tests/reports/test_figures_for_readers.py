"""Figures fit for a journal (issue 18): the KM time axis covers the whole follow-up, with
landmark survival at 12 and 24 months and an optional CI band; forest squares sized by
weight and every missing estimate saying why; a CONSORT 2010 diagram with its follow-up
and analysis stages."""

import math
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter

from talentop.errors import InvalidInput
from talentop.reports import (
    FOREST_COLUMNS,
    ArmCurve,
    ConsortArm,
    ConsortFlow,
    consort_figure,
    forest_figure,
    km_figure,
)
from talentop.reports.forest import forest_rows, marker_size, weight
from talentop.stats import kaplan_meier


def _texts(svg: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", t) for t in re.findall(r"<text[^>]*>(.*?)</text>", svg, re.S)]


def _arms(frame):
    return [ArmCurve(a, g.time.to_numpy(), g.event.to_numpy()) for a, g in frame.groupby("arm")]


def test_km_axis_covers_the_whole_follow_up(two_arms):
    """Ticks every 3 months used to stop at the last multiple of 3 below the longest
    follow-up (29.1 months drew to 27: the tail was cut off)."""
    longest = float(two_arms.time.max())
    result = km_figure(_arms(two_arms), name="k", title="T", y_label="S")
    assert result.x_max >= longest and result.x_max - longest < 3
    assert result.at_risk.columns[-1] == result.x_max
    assert str(int(result.x_max)) in _texts(result.figure.svg)  # the last tick is labelled


def test_landmark_survival_with_ci_equals_the_km_and_lifelines(two_arms):
    result = km_figure(_arms(two_arms), name="k", title="T", y_label="S", conf_type="log-log")
    marks = result.landmarks.set_index(["arm", "time"])
    for arm, block in two_arms.groupby("arm"):
        curve = kaplan_meier(block.time, block.event, conf_type="log-log")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            peer = KaplanMeierFitter().fit(block.time, block.event)  # log-log band too
        bands = peer.confidence_interval_survival_function_
        for months in (12.0, 24.0):
            row = marks.loc[(arm, months)]
            if months > block.time.max():
                assert math.isnan(row["survival"])
                continue
            assert row["survival"] == pytest.approx(curve.survival_at(months), rel=1e-12)
            expected = bands[bands.index <= months].iloc[-1]
            assert (row["lower"], row["upper"]) == pytest.approx(tuple(expected), rel=1e-9)
            assert row["n_risk"] == int((block.time >= months).sum())


def test_ci_band_is_optional(two_arms):
    plain = km_figure(_arms(two_arms), name="k", title="T", y_label="S")
    banded = km_figure(_arms(two_arms), name="k", title="T", y_label="S", ci_band=True)
    assert "fill-opacity: 0.15" in banded.figure.svg
    assert "fill-opacity: 0.15" not in plain.figure.svg


def _forest():
    return pd.DataFrame(
        [
            ["Overall", "Overall", 100, 40, 100, 60, 0.6, 0.45, 0.8, np.nan, None],
            ["ECOG", "0", 70, 25, 68, 40, 0.55, 0.33, 0.91, 0.41, None],
            ["ECOG", "1", 30, 15, 32, 20, 0.74, 0.25, 2.2, 0.41, None],
            ["ECOG", "2", 5, 0, 4, 3, np.nan, np.nan, np.nan, 0.41,
             "fewer than 2 events in an arm"],
        ],
        columns=[*FOREST_COLUMNS, "hr_reason"],
    )  # fmt: skip


def test_forest_square_area_is_proportional_to_the_inverse_variance():
    rows = forest_rows(_forest())
    z = 1.959963984540054
    se = (math.log(0.91) - math.log(0.33)) / (2 * z)
    assert rows.loc[1, "weight"] == pytest.approx(1 / se**2, rel=1e-12)
    assert math.isnan(rows.loc[3, "weight"])
    heaviest = rows["weight"].max()
    sizes = [marker_size(w, heaviest) for w in rows["weight"][:3]]
    areas = np.square(sizes)
    assert areas[1] / areas[0] == pytest.approx(rows.loc[1, "weight"] / heaviest, rel=1e-9)
    assert sizes[0] > sizes[1] > sizes[2]  # the overall estimate is the most precise
    assert weight(0.5, np.inf) != weight(0.5, np.inf)  # NaN for a CI not reached


def test_forest_not_estimable_rows_say_why():
    texts = [t.strip() for t in _texts(forest_figure(_forest()).svg)]
    assert "not estimable (fewer than 2 events in an arm)" in texts
    assert "0.74 (0.25\u20132.20)" in texts


def _flow(**arm_changes):
    arms = (
        ConsortArm("A", 101, "Operated", 83, {"progression before surgery": 18}, 101,
                   lost_to_follow_up=2, discontinued={"progression": 30, "toxicity": 5},
                   completed=12),
        ConsortArm("B", 100, "Continued atezo/bev", 100, {}, 99, lost_to_follow_up=1,
                   discontinued={"progression": 50},
                   excluded_from_analysis={"withdrew consent before any data": 1}),
    )  # fmt: skip
    return ConsortFlow(627, {"excluded": 138}, 489, {"not resectable": 288}, 201, arms)


def test_consort_has_the_four_stages_with_follow_up_and_analysis():
    texts = " | ".join(_texts(consort_figure(_flow()).svg))
    for stage in ("Enrolment", "Allocation", "Follow-up", "Analysis"):
        assert stage in texts
    for expected in (
        "Lost to follow-up (n = 2)",
        "Completed allocated treatment (n = 12)",
        "Discontinued intervention (n = 35)",
        "Progression (n = 30)",
        "Lost to follow-up (n = 1)",
        "Analysed, intention to treat (n = 99)",
        "Excluded from analysis (n = 1)",
        "Withdrew consent before any data (n = 1)",
        "Did not receive allocated intervention (n = 18)",
    ):
        assert expected in texts, expected


def test_consort_analysis_stage_must_add_up():
    flow = _flow()
    bad = ConsortFlow(
        flow.assessed, flow.excluded, flow.induction, flow.not_randomised, flow.randomised,
        (flow.arms[0], ConsortArm("B", 100, "Continued", 100, {}, 97,
                                  excluded_from_analysis={"x": 1})),
    )  # fmt: skip
    with pytest.raises(InvalidInput, match="arm B: analysed \\+ excluded from analysis"):
        consort_figure(bad)
