"""Target-lesion rules at the exact thresholds, and the special measurement rules.

Source: Eisenhauer EA et al., Eur J Cancer 2009;45:228-247 (RECIST 1.1), section 4.3.1
(PR: >= 30 % decrease vs baseline; PD: >= 20 % increase vs nadir and >= 5 mm absolute;
CR: non-nodal targets gone and target nodes < 10 mm short axis), section 4.3.2 and
Appendix I (too small = 5 mm, split lesions summed, coalesced lesions), clinical-rules.md
§1.3, §1.4, §1.8, §1.10 and §1.11.
"""

import pytest

from talentop.recist import evaluate

from .builders import case, visit


def _points(targets, values_per_visit, nodes=None, **top):
    followups = [visit(56 * (i + 1), target=v) for i, v in enumerate(values_per_visit)]
    return evaluate(case(targets, nodes=nodes, followups=followups, **top))["timepoints"]


def test_exactly_minus_30_percent_is_pr():
    """-30.0 % is PR (<= -30 %): 35.0 of 50.0."""
    (point,) = _points({"T1": 50.0}, [{"T1": 35.0}])
    assert point["change_from_baseline_pct"] == -30.0
    assert point["target_response"] == "PR"


def test_float_trap_23_1_of_33_0_is_exactly_minus_30_percent():
    """(33.0 - 23.1) / 33.0 >= 0.3 is False in binary floats; exactly it is -30 %: PR."""
    assert not (33.0 - 23.1) / 33.0 >= 0.3  # the trap is real
    (point,) = _points({"T1": 33.0}, [{"T1": 23.1}])
    assert point["target_response"] == "PR"
    assert point["change_from_baseline_pct"] == -30.0


def test_float_trap_pd_at_exactly_5_mm():
    """16.4 - 11.4 >= 5 is False in floats; the increase is exactly 5 mm (+43.9 %): PD."""
    assert not 16.4 - 11.4 >= 5
    points = _points({"T1": 16.4}, [{"T1": 11.4}, {"T1": 16.4}])
    assert [p["target_response"] for p in points] == ["PR", "PD"]


def test_just_above_minus_30_percent_is_sd():
    """35.1 of 50.0 is -29.8 %: SD."""
    (point,) = _points({"T1": 50.0}, [{"T1": 35.1}])
    assert point["target_response"] == "SD"


@pytest.mark.parametrize(
    ("nadir", "current", "expected"),
    [
        (20.0, 24.0, "PR"),  # +20 % but only +4 mm: not PD, and -66 % vs baseline 70
        (25.0, 30.0, "PD"),  # +20 % and +5 mm
        (25.0, 29.9, "PR"),  # +19.6 %, +4.9 mm
        (40.0, 47.9, "PR"),  # +19.75 %, +7.9 mm: the percentage fails
        (40.0, 48.0, "PD"),  # exactly +20 %, +8 mm
        (55.0, 65.9, "SD"),  # +19.8 %, +10.9 mm; -5.9 % vs baseline
    ],
)
def test_progression_needs_20_percent_and_5_mm(nadir, current, expected):
    """PD = >= +20 % vs nadir AND >= 5 mm absolute (section 4.3.1); the nadir (not the
    70 mm baseline) is the reference, so a non-PD sum far below baseline stays PR."""
    points = _points(
        {"T1": 50.0, "T2": 20.0}, [{"T1": nadir - 10, "T2": 10.0}, {"T1": current - 10, "T2": 10.0}]
    )
    assert points[1]["nadir_mm"] == nadir
    assert points[1]["target_response"] == expected


def test_nadir_below_baseline_is_the_reference_for_pd():
    """PD is vs the smallest sum on study; here still -40 % vs baseline (PD beats PR)."""
    points = _points({"T1": 100.0}, [{"T1": 40.0}, {"T1": 60.0}])
    assert points[1]["change_from_baseline_pct"] == -40.0
    assert points[1]["change_from_nadir_pct"] == 50.0
    assert points[1]["target_response"] == "PD"


def test_nadir_is_baseline_when_sums_only_grow():
    points = _points({"T1": 50.0}, [{"T1": 55.0}, {"T1": 60.0}])
    assert [p["nadir_mm"] for p in points] == [50.0, 50.0]
    assert [p["target_response"] for p in points] == ["SD", "PD"]


def test_nodes_shrinking_below_10_mm_give_cr_with_non_zero_sum():
    """Target nodes keep their short axis; < 10 mm is normal, so CR with a 17 mm sum."""
    (point,) = _points(
        {"T1": 30.0}, [{"T1": "absent", "L1": 9.0, "L2": 8.0}], nodes={"L1": 20.0, "L2": 16.0}
    )
    assert point["sum_mm"] == 17.0
    assert point["target_response"] == "CR"
    assert point["overall_response"] == "CR"


def test_node_at_10_mm_is_not_cr():
    """A node at exactly 10 mm short axis is still pathological: no CR (here PR)."""
    (point,) = _points({"T1": 30.0}, [{"T1": "absent", "L1": 10.0}], nodes={"L1": 20.0})
    assert point["target_response"] == "PR"


@pytest.mark.parametrize(("option", "expected"), [("cr", "CR"), ("pd", "PD")])
def test_nodes_growing_but_all_below_10_mm(option, expected):
    """clinical-rules §1.11.3: 6+6 -> 9+9 (+50 %, +6 mm), all nodes normal; default CR first."""
    points = _points(
        {},
        [{"L1": 6.0, "L2": 6.0}, {"L1": 9.0, "L2": 9.0}],
        nodes={"L1": 20.0, "L2": 18.0},
        options={"node_growth_below_10mm": option},
    )
    assert points[0]["target_response"] == "CR"
    assert points[1]["target_response"] == expected


def test_too_small_counts_5_mm_and_absent_0_mm():
    """EORTC FAQ / CDISC: "too small to measure" = 5 mm; disappeared = 0 mm."""
    (point,) = _points({"T1": 40.0, "T2": 20.0}, [{"T1": "too_small", "T2": "absent"}])
    assert point["sum_mm"] == 5.0
    assert point["target_response"] == "PR"


def test_split_lesion_fragments_are_summed():
    """Appendix I: a fragmented lesion's value is the sum of its fragments' diameters."""
    (point,) = _points({"T1": 40.0, "T2": 20.0}, [{"T1": [12.5, 8.0, "too_small"], "T2": 20.0}])
    assert point["sum_mm"] == 45.5


def test_coalesced_lesions_one_gets_the_mass_other_absent():
    """Appendix I: coalesced lesions: the mass's diameter to one, the other 0 mm."""
    (point,) = _points({"T1": 20.0, "T2": 20.0}, [{"T1": 36.0, "T2": "absent"}])
    assert point["sum_mm"] == 36.0
    assert point["target_response"] == "SD"


def test_missing_target_is_ne_unless_the_rest_already_progressed():
    """Section 4.3.3 / clinical-rules §1.8: a subset that is already PD makes PD."""
    targets = {"T1": 20.0, "T2": 15.0, "T3": 15.0}  # baseline (and nadir) 50 mm
    ne, pd = (
        _points(targets, [{"T1": 20.0, "T2": 15.0, "T3": None}]),
        _points(targets, [{"T1": 50.0, "T2": 30.0, "T3": None}]),
    )
    assert ne[0]["target_response"] == "NE" and ne[0]["sum_mm"] is None
    assert ne[0]["change_from_baseline_pct"] is None
    assert pd[0]["target_response"] == "PD"
    assert pd[0]["overall_response"] == "PD"
    assert "T3 not evaluated" in pd[0]["reason"]


@pytest.mark.parametrize(("option", "expected"), [("pd", "PD"), ("sum_rule", "PR")])
def test_reappearance_after_overall_cr(option, expected):
    """Table 3 footnote (a) (default): after a true CR any disease is PD. EORTC FAQ
    "sum rule": a 4 mm reappearance is < 5 mm over a nadir of 0, and -92 % vs baseline: PR."""
    points = _points(
        {"T1": 50.0}, [{"T1": "absent"}, {"T1": 4.0}], options={"reappearance_after_cr": option}
    )
    assert points[0]["overall_response"] == "CR"
    assert points[1]["target_response"] == expected
    assert points[1]["change_from_nadir_pct"] is None  # vs a 0 mm nadir: undefined


@pytest.mark.parametrize(("option", "expected"), [(False, "SD"), (True, "PR")])
def test_ongoing_pr_option(option, expected):
    """clinical-rules §1.11.1: 100 -> 70 -> 70 -> 80: strict definitions SD (-20 %),
    EORTC FAQ "ongoing PR" keeps PR once PR is confirmed (>= 28 days apart)."""
    points = _points(
        {"T1": 100.0}, [{"T1": 70.0}, {"T1": 70.0}, {"T1": 80.0}], options={"ongoing_pr": option}
    )
    assert [p["target_response"] for p in points] == ["PR", "PR", expected]


def test_reason_explains_pr_with_the_numbers():
    (point,) = _points({"T1": 48.0}, [{"T1": 30.0}])
    assert point["reason"].startswith("sum 30.0 mm is -37.5% vs baseline 48.0 (<= -30%): PR")


def test_reason_explains_the_5_mm_floor():
    points = _points({"T1": 25.0}, [{"T1": 20.0}, {"T1": 24.0}])
    assert points[1]["target_response"] == "SD"
    assert "+20% reached but only +4.0 mm < 5.0 mm" in points[1]["reason"]
