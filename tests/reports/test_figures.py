"""KM, forest and CONSORT figures: the numbers drawn are the numbers computed."""

import html
import re

import numpy as np
import pandas as pd
import pytest

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
