"""KM, forest and CONSORT figures: the numbers drawn are the numbers computed.

Issue 18 (figures fit for a journal): the KM time axis covers the whole follow-up, with
landmark survival at 12 and 24 months and an optional CI band; forest squares sized by
weight and every missing estimate saying why; a CONSORT 2010 diagram with its follow-up
and analysis stages."""

import html
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


def _svg_texts(svg: str) -> list[str]:
    # svg.fonttype = none keeps every label as a <text> element
    return [re.sub(r"<[^>]+>", "", t) for t in re.findall(r"<text[^>]*>(.*?)</text>", svg, re.S)]


def _arms(frame):
    return [
        ArmCurve(
            a,
            frame.loc[frame.arm == a, "time"].to_numpy(),
            frame.loc[frame.arm == a, "event"].to_numpy(),
        )
        for a in ("A", "B")
    ]


def test_km_numbers_at_risk_equal_stats_at_risk(two_arms):
    result = km_figure(_arms(two_arms), name="km_test", title="TTF", y_label="Free of failure")
    ticks = result.at_risk.columns.to_numpy(float)
    assert ticks[0] == 0 and np.allclose(np.diff(ticks), 3.0)
    for arm in ("A", "B"):
        block = two_arms[two_arms.arm == arm]
        expected = kaplan_meier(block.time.to_numpy(), block.event.to_numpy()).at_risk(ticks)
        assert list(result.at_risk.loc[arm]) == list(expected)
        # at time 0 everyone is at risk
        assert result.at_risk.loc[arm].iloc[0] == len(block)
    texts = _svg_texts(result.figure.svg)
    assert "Number at risk" in texts
    # every at-risk count of arm A is printed in the figure
    for count in result.at_risk.loc["A"]:
        assert str(int(count)) in texts


def test_km_medians_match_stats_and_legend(two_arms):
    result = km_figure(_arms(two_arms), name="km_test", title="TTF", y_label="S(t)")
    block = two_arms[two_arms.arm == "B"]
    median = kaplan_meier(block.time.to_numpy(), block.event.to_numpy()).median
    assert result.medians["B"] == pytest.approx(median)
    assert any(f"B (median {median:.1f})" in t for t in _svg_texts(result.figure.svg))
    assert result.figure.png[:8] == b"\x89PNG\r\n\x1a\n"


def test_km_annotation_and_unreached_median():
    time = np.array([1.0, 2.0, 3.0, 4.0])
    event = np.array([1, 0, 0, 0])
    result = km_figure(
        [ArmCurve("A", time, event)], name="k", title="OS", y_label="S", annotation="HR 0.67"
    )
    assert result.medians["A"] is None
    texts = _svg_texts(result.figure.svg)
    assert "A (median NR)" in texts and "HR 0.67" in texts


def test_km_refuses_empty_arm():
    with pytest.raises(InvalidInput, match=r"arms\[A\]\.time"):
        km_figure([ArmCurve("A", np.array([]), np.array([]))], name="k", title="t", y_label="S")


def _forest_frame():
    return pd.DataFrame(
        [
            ["Overall", "Overall", 100, 40, 100, 60, 0.6, 0.4, 0.9, np.nan],
            ["ECOG", "0", 70, 25, 68, 40, 0.55, 0.33, 0.91, 0.41],
            ["ECOG", "1", 30, 15, 32, 20, 0.74, 0.38, 1.45, 0.41],
            ["Portal vein", "Vp3/Vp4", 55, 26, 57, 38, 0.58, 0.35, 0.96, 0.80],
            ["Portal vein", "Vp1/Vp2", 45, 14, 43, 22, np.nan, np.nan, np.nan, 0.80],
        ],
        columns=list(FOREST_COLUMNS),
    )


def test_forest_shows_every_level_with_counts_and_interaction_p():
    figure = forest_figure(_forest_frame())
    texts = [t.strip() for t in _svg_texts(figure.svg)]
    assert "0.55 (0.33\u20130.91)" in texts and "0.60 (0.40\u20130.90)" in texts
    assert "25/70" in texts and "40/68" in texts
    assert any("interaction P = 0.410" in t for t in texts)
    assert "not estimable" in texts  # no hr_reason column: the bare words


def test_forest_names_missing_columns():
    with pytest.raises(InvalidInput, match="p_interaction"):
        forest_figure(_forest_frame().drop(columns="p_interaction"))


def _flow(**changes):
    base = dict(
        assessed=627,
        excluded={"extrahepatic_spread": 60, "child_pugh_b": 50, "ecog_2": 28},
        induction=489,
        not_randomised={"progressive disease": 120, "not resectable (MDT)": 150, "withdrew": 18},
        randomised=201,
        arms=(
            ConsortArm(
                "A", 101, "Operated", 83, {"progression before surgery": 10, "declined": 8}, 101
            ),
            ConsortArm("B", 100, "Continued atezo/bev", 100, {}, 100),
        ),
    )
    base.update(changes)
    return ConsortFlow(**base)


def test_consort_counts_appear_in_svg():
    texts = " | ".join(_svg_texts(consort_figure(_flow()).svg))
    for expected in (
        "Assessed for eligibility (n = 627)",
        "Excluded (n = 138)",
        "Extrahepatic spread (n = 60)",
        "Induction: atezo/bev (n = 489)",
        "Not randomised (n = 288)",
        "Randomised (n = 201)",
        "Allocated to arm A (n = 101)",
        "Operated (n = 83)",
        "Allocated to arm B (n = 100)",
        "Analysed, intention to treat (n = 101)",
    ):
        assert expected in texts


def test_consort_wraps_long_reasons_and_keeps_every_word():
    reason = "Not met: Traditional Chinese medicine allowed only if stopped >= 7 days before"
    flow = _flow(excluded={reason: 1, "extrahepatic_spread": 137})
    texts = _svg_texts(consort_figure(flow).svg)
    bullet = next(i for i, t in enumerate(texts) if "Traditional Chinese" in t)
    assert len(texts[bullet]) < len(reason)  # wrapped onto a second line
    joined = " ".join(html.unescape(t).strip(" •") for t in texts[bullet : bullet + 3])
    assert f"{reason} (n = 1)" in " ".join(joined.split())


def test_consort_refuses_counts_that_do_not_add_up():
    with pytest.raises(InvalidInput, match="expected induction=490"):
        consort_figure(_flow(induction=490))


def test_km_legend_sits_outside_the_plotting_area(two_arms):
    """The legend is above the axes (below the title): it can never cover a curve."""
    result = km_figure(_arms(two_arms), name="km_test", title="OS", y_label="Alive")
    ax0, ay0, ax1, ay1 = result.layout["axes"]
    lx0, ly0, lx1, ly1 = result.layout["legend"]
    assert ly0 >= ay1 - 1e-6  # legend bottom at or above the top of the plotting area
    assert lx0 >= ax0 - 1 and lx1 <= ax1 + 1  # and within its width


def test_km_axis_covers_the_whole_follow_up(two_arms):
    """Ticks every 3 months used to stop at the last multiple of 3 below the longest
    follow-up (29.1 months drew to 27: the tail was cut off)."""
    longest = float(two_arms.time.max())
    result = km_figure(_arms(two_arms), name="k", title="T", y_label="S")
    assert result.x_max >= longest and result.x_max - longest < 3
    assert result.at_risk.columns[-1] == result.x_max
    assert str(int(result.x_max)) in _svg_texts(result.figure.svg)  # the last tick is labelled


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


def _weighted_forest():
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
    rows = forest_rows(_weighted_forest())
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
    texts = [t.strip() for t in _svg_texts(forest_figure(_weighted_forest()).svg)]
    assert "not estimable (fewer than 2 events in an arm)" in texts
    assert "0.74 (0.25\u20132.20)" in texts


def _staged_flow():
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
    texts = " | ".join(_svg_texts(consort_figure(_staged_flow()).svg))
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
    flow = _staged_flow()
    bad = ConsortFlow(
        flow.assessed, flow.excluded, flow.induction, flow.not_randomised, flow.randomised,
        (flow.arms[0], ConsortArm("B", 100, "Continued", 100, {}, 97,
                                  excluded_from_analysis={"x": 1})),
    )  # fmt: skip
    with pytest.raises(InvalidInput, match="arm B: analysed \\+ excluded from analysis"):
        consort_figure(bad)
