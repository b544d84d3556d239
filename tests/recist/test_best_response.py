"""Best overall response, progression date, depth of response, equivocal backdating.

Sources: Eisenhauer EA et al., Eur J Cancer 2009;45:228-247 (RECIST 1.1), section 4.4
(BOR; SD minimum duration) and section 4.3.2 (equivocal new lesion: PD dated to the first
scan that showed it); the confirmation conventions are checked against the expected
results of admiralonco's own tests (pharmaverse/admiralonco,
tests/testthat/test-derive_param_confirmed_bor.R @ 14bfe089, Tests 1 and 2).
"""

import datetime as dt

import pytest

from talentop.recist import evaluate
from talentop.recist.best import Assessment, best_overall_response
from talentop.recist.options import Options

from .builders import case, day, visit

# admiralonco test data: subject -> (TRTSDT, [(ADT, AVALC), ...]); subject 9's PD is first.
ADMIRALONCO = {
    "1": (
        "2020-01-01",
        [
            ("2020-01-01", "PR"),
            ("2020-02-01", "CR"),
            ("2020-02-16", "NE"),
            ("2020-03-01", "CR"),
            ("2020-04-01", "SD"),
        ],
    ),
    "2": (
        "2019-12-12",
        [("2020-01-01", "SD"), ("2020-02-01", "PR"), ("2020-03-01", "SD"), ("2020-03-13", "CR")],
    ),
    "3": ("2019-11-11", [("2019-11-12", "CR"), ("2019-12-02", "CR"), ("2020-01-01", "SD")]),
    "4": (
        "2019-12-30",
        [
            ("2020-01-01", "PR"),
            ("2020-03-01", "SD"),
            ("2020-04-01", "SD"),
            ("2020-05-01", "PR"),
            ("2020-05-15", "non-CR/non-PD"),
        ],
    ),
    "5": (
        "2020-01-01",
        [
            ("2020-01-01", "PR"),
            ("2020-01-10", "SD"),
            ("2020-01-20", "PR"),
            ("2020-05-15", "non-CR/non-PD"),
        ],
    ),
    "6": ("2020-02-02", [("2020-02-06", "PR"), ("2020-02-16", "CR"), ("2020-03-30", "PR")]),
    "7": ("2020-02-02", [("2020-02-06", "PR"), ("2020-02-16", "CR"), ("2020-04-01", "NE")]),
    "9": ("2020-02-01", [("2020-02-16", "PD"), ("2020-03-06", "SD")]),
}

# admiralonco Test 1 (ref_start_window 28, ref_confirm 28, max_nr_ne 1, accept_sd FALSE).
TEST_1 = {
    "1": ("CR", "2020-02-01"),
    "2": ("SD", "2020-02-01"),
    "3": ("SD", "2020-01-01"),
    "4": ("SD", "2020-03-01"),
    "5": ("non-CR/non-PD", "2020-05-15"),
    "6": ("SD", "2020-03-30"),
    "7": ("NE", "2020-02-06"),
    "9": ("PD", "2020-02-16"),
}
# admiralonco Test 2 (ref_confirm 14, max_nr_ne 0, accept_sd TRUE); subject 7 differs there.
TEST_2 = {
    "1": ("PR", "2020-01-01"),
    "2": ("PR", "2020-02-01"),
    "3": ("CR", "2019-11-12"),
    "4": ("SD", "2020-03-01"),
    "5": ("PR", "2020-01-01"),
    "6": ("SD", "2020-03-30"),
    "9": ("PD", "2020-02-16"),
}


def _bor(subject, options, *, confirmation=True, min_sd_days=28):
    start, rows = ADMIRALONCO[subject]
    assessments = [Assessment(dt.date.fromisoformat(d), r) for d, r in rows]
    best = best_overall_response(
        assessments,
        reference_date=dt.date.fromisoformat(start),
        min_sd_days=min_sd_days,
        confirmation=confirmation,
        options=options,
    )
    return best.response, best.date.isoformat()


@pytest.mark.parametrize("subject", sorted(TEST_1))
def test_confirmed_bor_matches_admiralonco_test_1(subject):
    assert _bor(subject, Options()) == TEST_1[subject]


@pytest.mark.parametrize("subject", sorted(TEST_2))
def test_confirmed_bor_matches_admiralonco_test_2(subject):
    options = Options(
        confirmation_days=14, max_ne_before_confirmation=0, accept_sd_before_confirmation=True
    )
    assert _bor(subject, options) == TEST_2[subject]


def _result(values, days, **top):
    followups = [visit(d, target={"T1": v}) for d, v in zip(days, values, strict=True)]
    return evaluate(case({"T1": 50.0}, followups=followups, **top))


def test_unconfirmed_bor_is_best_up_to_pd():
    """Section 4.4.1: SD, PR, PD -> PR (without confirmation)."""
    result = _result([45.0, 30.0, 70.0], [56, 112, 168])
    assert result["best_overall_response"] == "PR"
    assert result["best_overall_response_date"] == day(112)
    assert result["progression_date"] == day(168)


def test_responses_after_progression_do_not_count():
    result = _result([45.0, 70.0, 20.0], [56, 112, 168])
    assert result["best_overall_response"] == "SD"
    assert result["timepoints"][2]["target_response"] == "PR"  # still reported


def test_early_sd_then_pd_is_pd():
    """SD before the 42-day minimum, then PD -> PD."""
    result = _result([45.0, 70.0], [28, 56])
    assert result["best_overall_response"] == "PD"


def test_early_sd_then_nothing_is_ne():
    assert _result([45.0], [28])["best_overall_response"] == "NE"


def test_sd_on_the_minimum_day_counts():
    assert _result([45.0], [42])["best_overall_response"] == "SD"


def test_sd_reference_date_option_moves_the_minimum():
    """Protocols may count the SD minimum from treatment start instead of the baseline scan."""
    result = _result([45.0], [42], options={"sd_reference_date": day(7)})
    assert result["best_overall_response"] == "NE"


def test_no_follow_up_is_ne():
    result = _result([], [])
    assert result["best_overall_response"] == "NE"
    assert result["depth_of_response_pct"] is None
    assert result["progression_date"] is None


def test_confirmation_flag_selects_the_confirmed_bor():
    unconfirmed = _result([30.0, 45.0], [56, 112])
    confirmed = _result([30.0, 45.0], [56, 112], confirmation=True)
    assert unconfirmed["best_overall_response"] == "PR"
    assert confirmed["best_overall_response"] == "SD"  # Table 3: PR then SD -> SD


def test_depth_is_the_most_negative_change_up_to_pd():
    result = _result([40.0, 30.0, 45.0, 20.0], [56, 112, 168, 224])
    # -20, -40, then +50 % vs nadir (PD); the later -60 % comes after progression.
    assert result["depth_of_response_pct"] == -40.0


def test_depth_when_the_sum_never_shrinks_is_the_smallest_increase():
    result = _result([52.0, 55.0], [56, 112])
    assert result["depth_of_response_pct"] == 4.0


def test_equivocal_new_lesion_confirmed_later_backdates_pd():
    """Section 4.3.2: PD is dated to the first scan that showed the equivocal lesion."""
    followups = [
        visit(56, target={"T1": 40.0}),
        visit(112, target={"T1": 38.0}, new="equivocal"),
        visit(168, target={"T1": 38.0}, new="equivocal"),
        visit(224, target={"T1": 38.0}, new="unequivocal"),
    ]
    result = evaluate(case({"T1": 50.0}, followups=followups))
    points = result["timepoints"]
    assert [p["overall_response"] for p in points] == ["SD", "PD", "PD", "PD"]
    assert [p["response_at_assessment"] for p in points] == ["SD", "SD", "SD", "PD"]
    assert [p["backdated"] for p in points] == [False, True, True, False]
    assert result["progression_date"] == day(112)
    assert f"PD dated to {day(112)}, the first scan showing it" in points[2]["reason"]


def test_backdating_can_be_switched_off():
    followups = [
        visit(112, target={"T1": 38.0}, new="equivocal"),
        visit(224, target={"T1": 38.0}, new="unequivocal"),
    ]
    result = evaluate(
        case({"T1": 50.0}, followups=followups, options={"backdate_equivocal": False})
    )
    assert result["progression_date"] == day(224)


def test_equivocal_that_resolves_is_not_backdated():
    followups = [
        visit(56, target={"T1": 38.0}, new="equivocal"),
        visit(112, target={"T1": 38.0}),
        visit(168, target={"T1": 38.0}, new="unequivocal"),
    ]
    result = evaluate(case({"T1": 50.0}, followups=followups))
    assert result["progression_date"] == day(168)
