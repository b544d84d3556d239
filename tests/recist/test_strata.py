"""Protocol strata from a RECIST result: depth level and the SD subgroup.

Source: the protocol-as-data convention of design.md (strata levels as ``(id, upper_pct)``
pairs, first level whose inclusive upper bound is >= the value, None = no bound); the SD
subgroups follow the expert definition "SD whose tumours shrank vs grew" with 0 % in the
non-shrinking group (examples/recist/README.md).
"""

import pytest

from talentop.errors import InvalidInput
from talentop.recist import evaluate, response_stratum, sd_subcategory

from .builders import case, visit

LEVELS = [("deep", -50), ("partial", -30), ("stable", 20), ("growing", None)]


@pytest.mark.parametrize(
    ("depth", "expected"),
    [
        (-75.0, "deep"),
        (-50.0, "deep"),  # inclusive upper bound
        (-49.99, "partial"),
        (-30.0, "partial"),
        (-29.99, "stable"),
        (0.0, "stable"),
        (20.0, "stable"),
        (20.01, "growing"),
        (500.0, "growing"),
    ],
)
def test_response_stratum_inclusive_upper_bounds(depth, expected):
    assert response_stratum(depth, LEVELS) == expected


def test_response_stratum_is_exact_at_the_bound():
    """0.1 + 0.2 is 0.30000000000000004 as a double; Decimal(str(...)) of a bound 0.3 is exact."""
    assert response_stratum(0.3, [("low", 0.3), ("high", None)]) == "low"
    assert response_stratum(-30, [("pr", -30.0), ("rest", None)]) == "pr"


def test_response_stratum_none_depth_is_none():
    assert response_stratum(None, LEVELS) is None


def test_response_stratum_without_a_covering_level():
    with pytest.raises(InvalidInput, match=r"above every level's upper bound \(last is 20\)"):
        response_stratum(25.0, [("low", -30), ("mid", 20)])


def test_response_stratum_malformed_levels_listed_together():
    with pytest.raises(InvalidInput) as info:
        response_stratum("deep", [("a",), ("b", "x")])
    assert len(info.value.problems) == 3


def _sd_result(values):
    followups = [visit(56 * (i + 1), target={"T1": v}) for i, v in enumerate(values)]
    return evaluate(case({"T1": 50.0}, followups=followups))


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([45.0], "SD_shrinking"),
        ([49.9], "SD_shrinking"),
        ([50.0], "SD_growing"),  # 0 % change: did not shrink
        ([55.0], "SD_growing"),
        ([55.0, 45.0], "SD_shrinking"),  # best change counts
        ([30.0], None),  # PR: not SD
    ],
)
def test_sd_subcategory(values, expected):
    result = _sd_result(values)
    assert sd_subcategory(result) == expected
    assert result["sd_subcategory"] == expected


def test_sd_subcategory_without_targets_is_none():
    result = {"best_overall_response": "SD", "depth_of_response_pct": None}
    assert sd_subcategory(result) is None


def test_sd_subcategory_uses_the_exact_depth_not_the_rounded_one():
    """250.00 -> 249.99 mm is -0.004 %: reported as 0.0 (2 decimals), yet the sum shrank."""
    from talentop.recist import evaluate

    from .builders import case, visit

    result = evaluate(
        case({"T1": 150.0, "T2": 100.0}, followups=[visit(56, target={"T1": 149.99, "T2": 100.0})])
    )
    assert result["best_overall_response"] == "SD"
    assert result["depth_of_response_pct"] == 0.0
    assert result["sd_subcategory"] == "SD_shrinking"


def test_exact_depth_travels_with_the_result():
    """The output carries the exact depth as a fraction string (250.00 -> 249.99 mm is
    -0.01/250 = -1/250 %), so a consumer holding only the stored JSON (rounded 0.0) still
    classifies the SD as shrinking."""
    result = evaluate(
        case({"T1": 150.0, "T2": 100.0}, followups=[visit(56, target={"T1": 149.99, "T2": 100.0})])
    )
    assert result["depth_of_response_exact"] == "-1/250"
    stored = {"best_overall_response": "SD", "depth_of_response_pct": 0.0}
    assert sd_subcategory(stored) == "SD_growing"
    assert sd_subcategory({**stored, "depth_of_response_exact": "-1/250"}) == "SD_shrinking"
