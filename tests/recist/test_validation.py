"""Baseline and follow-up validation: every problem is reported at once.

Source: Eisenhauer EA et al., Eur J Cancer 2009;45:228-247 (RECIST 1.1), section 3.1
(measurability: non-nodal >= 10 mm or 2x slice thickness when > 5 mm; target nodes short
axis >= 15 mm, 10 to < 15 mm non-target, < 10 mm normal) and section 4.2 (at most five
targets, two per organ; all lymph nodes are one organ, EORTC FAQ).
"""

import pytest

from talentop.errors import InvalidInput
from talentop.recist import evaluate

from .builders import case, visit


def _problems(payload) -> list[str]:
    with pytest.raises(InvalidInput) as info:
        evaluate(payload)
    return info.value.problems


def _lesion(lesion_id, organ, mm, nodal=False, **extra):
    return {"id": lesion_id, "organ": organ, "nodal": nodal, "diameter_mm": mm, **extra}


def test_invalid_baseline_lists_every_problem():
    """Six targets, three in one organ, a 7 mm non-nodal target, a duplicate id: all four."""
    payload = case()
    payload["baseline"]["target"] = [
        _lesion("T1", "liver", 30),
        _lesion("T2", "liver", 25),
        _lesion("T3", "liver", 7),
        _lesion("T4", "lung", 12),
        _lesion("T5", "adrenal", 15),
        _lesion("T6", "bone", 20),
    ]
    payload["baseline"]["non_target"] = [{"id": "T2", "organ": "peritoneum"}]
    problems = _problems(payload)
    assert len(problems) == 4
    joined = "\n".join(problems)
    assert "6 target lesions; expected at most 5" in joined
    assert "3 targets in organ 'liver'; expected at most 2 per organ" in joined
    assert (
        "(T3).diameter_mm=7: a measurable non-nodal lesion needs a longest diameter >= 10 mm"
        in joined
    )
    assert "id='T2': used 2 times" in joined


def test_all_lymph_nodes_count_as_one_organ():
    payload = case({"T1": 30.0}, nodes={"L1": 20.0, "L2": 18.0})
    payload["baseline"]["target"].append(_lesion("L3", "mediastinum", 16, nodal=True))
    assert any("3 targets in organ 'lymph nodes'" in p for p in _problems(payload))


@pytest.mark.parametrize(
    ("short_axis", "message"),
    [(14.9, r"target lymph node needs short axis >= 15 mm"), (9.0, r"needs short axis >= 15 mm")],
)
def test_target_node_needs_15_mm_short_axis(short_axis, message):
    with pytest.raises(InvalidInput, match=message):
        evaluate(case(nodes={"L1": short_axis}))


def test_node_at_15_mm_is_a_valid_target():
    assert evaluate(case(nodes={"L1": 15.0}))["baseline_sum_mm"] == 15.0


def test_non_target_node_below_10_mm_is_normal():
    payload = case({"T1": 30.0})
    payload["baseline"]["non_target"] = [
        {"id": "N1", "organ": "lymph_node", "nodal": True, "short_axis_mm": 8}
    ]
    with pytest.raises(InvalidInput, match=r"node under 10 mm short axis is not pathological"):
        evaluate(payload)


@pytest.mark.parametrize(
    ("slice_mm", "diameter", "ok"), [(5, 10, True), (8, 15, False), (8, 16, True)]
)
def test_slice_thickness_over_5_mm_doubles_the_minimum(slice_mm, diameter, ok):
    """Section 3.1: minimum = 2x slice thickness when the slice is > 5 mm."""
    payload = case()
    payload["baseline"]["target"] = [_lesion("T1", "liver", diameter, slice_thickness_mm=slice_mm)]
    if ok:
        assert evaluate(payload)["baseline_sum_mm"] == diameter
    else:
        with pytest.raises(InvalidInput, match=r"diameter_mm=15: .* >= 16 mm"):
            evaluate(payload)


def test_follow_up_problems_are_all_listed():
    """Unknown lesion, omitted target, bad status word, negative diameter, date order."""
    payload = case(
        {"T1": 30.0, "T2": 20.0},
        non_targets=("N1",),
        followups=[
            visit(56, target={"T1": 25.0, "T2": 18.0}, non_target={"N1": "present"}),
            visit(40, target={"T1": -3, "X9": 4}, non_target={"N1": "smaller"}, new="maybe"),
        ],
    )
    problems = _problems(payload)
    expected = [
        "followups[1].date=2025-02-15: expected a date after the previous assessment (2025-03-03)",
        "followups[1].target.X9: unknown target lesion",
        "followups[1].target.T1=-3: expected a diameter in mm >= 0",
        "followups[1].target.T2: missing",
        "followups[1].non_target.N1='smaller': expected one of",
        "followups[1].new_lesions='maybe': expected one of",
    ]
    assert len(problems) == len(expected)
    for fragment in expected:
        assert any(p.startswith(fragment) for p in problems), fragment


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda c: c.update(criteria="who"), r"criteria='who': expected one of"),
        (lambda c: c.update(confirmation="yes"), r"confirmation='yes': expected true or false"),
        (lambda c: c.update(min_sd_days=-1), r"min_sd_days=-1: expected a whole number"),
        (lambda c: c.update(options={"ongoing": True}), r"options.ongoing=True: unknown option"),
        (lambda c: c.update(options={"reappearance_after_cr": "x"}), r"expected one of \['pd'"),
        (lambda c: c.update(colour="red"), r"colour: unknown key"),
        (lambda c: c["baseline"].update(date="06/01/2025"), r"baseline.date='06/01/2025'"),
        (lambda c: c["baseline"].update(target=[], non_target=[]), r"no lesions"),
        (lambda c: c["baseline"]["target"][0].update(diameter_mm=True), r"diameter_mm=True"),
        (lambda c: c["baseline"]["target"][0].update(diameter_mm=float("nan")), r"diameter_mm=nan"),
    ],
)
def test_malformed_case_fields(mutate, message):
    payload = case({"T1": 30.0})
    mutate(payload)
    with pytest.raises(InvalidInput, match=message):
        evaluate(payload)


def test_fragment_list_cannot_be_empty():
    payload = case({"T1": 30.0}, followups=[visit(56, target={"T1": []})])
    with pytest.raises(InvalidInput, match=r"target.T1=\[\]: expected at least one fragment"):
        evaluate(payload)


def test_not_a_json_object():
    with pytest.raises(InvalidInput, match=r"case=list: expected a JSON object"):
        evaluate([])  # type: ignore[arg-type]


def test_bad_option_values_are_problems_not_crashes():
    payload = case({"T1": 30.0}, options={"max_targets": "five", "confirmation_days": -1})
    problems = "\n".join(_problems(payload))
    assert "options.max_targets='five': expected a whole number >= 1" in problems
    assert "options.confirmation_days=-1: expected a whole number >= 0" in problems


def test_a_bad_baseline_diameter_is_one_problem_not_two():
    payload = case({"T1": 30.0}, followups=[visit(56, target={"T1": 20.0})])
    payload["baseline"]["target"][0]["diameter_mm"] = "thirty"
    assert _problems(payload) == [
        "baseline.target[0] (T1).diameter_mm='thirty': expected a number of mm >= 0"
    ]


def test_option_caps_can_be_raised_by_the_protocol():
    payload = case({"T1": 30.0, "T2": 20.0, "T3": 20.0}, options={"max_targets_per_organ": 3})
    for target in payload["baseline"]["target"]:
        target["organ"] = "liver"
    assert evaluate(payload)["baseline_sum_mm"] == 70.0
