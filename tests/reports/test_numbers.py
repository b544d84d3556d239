"""One formatter for every estimate: never "nan", "inf" or a diverged "0.00" in a report."""

import math

import pytest

from talentop.reports import fmt_ci, fmt_hr, fmt_num, fmt_p, fmt_range, json_number, p_equals


@pytest.mark.parametrize("missing", [None, math.nan, math.inf, -math.inf, "x"])
def test_missing_estimate_reads_not_estimable_with_its_reason(missing):
    assert fmt_ci(missing, 0.1, 0.9) == "not estimable"
    assert fmt_hr(missing, 0.1, 0.9, 0.02, reason="no events in arm A") == (
        "not estimable (no events in arm A)"
    )
    assert fmt_p(missing, "no events") == "not estimable (no events)"
    assert p_equals(missing) == "P not estimable"
    assert json_number(missing) is None


def test_ci_bound_not_reached_is_nr_and_values_fixed_decimals():
    """Ranges with an en dash (issue 18: journal typography; was a hyphen)."""
    assert fmt_ci(13.66, 10.4, math.inf, 1) == "13.7 (10.4\u2013NR)"
    assert fmt_ci(0.6, 0.4, 0.9) == "0.60 (0.40\u20130.90)"
    assert fmt_hr(0.6, 0.4, 0.9, 0.0149) == "0.60 (0.40\u20130.90), P = 0.015"


def test_negative_numbers_have_a_true_minus_and_ranges_use_to():
    """AMA Manual of Style: U+2212 for minus; a range with a negative end reads 'to'."""
    assert fmt_num(-0.354, 2) == "\u22120.35"
    assert fmt_num(-0.001, 2) == "0.00"  # rounds to zero: no sign
    assert fmt_range(-1.2, 3.4) == "\u22121.2 to 3.4"
    assert fmt_range(1.2, 3.4) == "1.2\u20133.4"
    assert fmt_ci(-0.5, -1.25, 0.25, 2) == "\u22120.50 (\u22121.25 to 0.25)"
    assert "-" not in fmt_ci(-0.5, -1.25, -0.25, 2)
    assert fmt_num(None) == "NR" and fmt_num(math.nan, 1, "not reached") == "not reached"


def test_p_values_print_three_decimals_or_below_0_001():
    assert fmt_p(0.0004) == "<0.001" and p_equals(0.0004) == "P < 0.001"
    assert fmt_p(0.001) == "0.001" and p_equals(0.65) == "P = 0.650"
    assert json_number(0.5) == 0.5
