"""RECIST 1.1 Tables 1, 2 and 3, row by row.

Source: Eisenhauer EA et al. New response evaluation criteria in solid tumours: revised
RECIST guideline (version 1.1). Eur J Cancer 2009;45:228-247 — Table 1 (time-point response,
target +/- non-target disease), Table 2 (non-target disease only), Table 3 (best overall
response when confirmation of CR and PR is required); rows as reproduced in
clinical-rules.md §1.7 and §1.9.
"""

import pytest

from talentop.recist import evaluate

from .builders import case, visit

# Baseline: one 50 mm liver target. Values that give each target response at a first visit.
TARGET_VALUE = {"CR": "absent", "PR": 30.0, "SD": 45.0, "PD": 70.0, "NE": None}
NON_TARGET_VALUE = {
    "CR": "absent",
    "non-CR/non-PD": "present",
    "NE": "not_evaluated",
    "PD": "progression",
}


def _one_visit(target: str | None, non_target: str | None, new: str) -> dict:
    targets = {"T1": 50.0} if target else {}
    non_targets = ("N1",) if non_target else ()
    follow = visit(
        56,
        target={"T1": TARGET_VALUE[target]} if target else {},
        non_target={"N1": NON_TARGET_VALUE[non_target]} if non_target else {},
        new=new,
    )
    result = evaluate(case(targets, non_targets=non_targets, followups=[follow]))
    (point,) = result["timepoints"]
    assert point["target_response"] == target
    assert point["non_target_response"] == non_target
    return point


TABLE_1 = [
    # target, non-target, new lesions, overall
    ("CR", "CR", "none", "CR"),
    ("CR", "non-CR/non-PD", "none", "PR"),
    ("CR", "NE", "none", "PR"),
    ("PR", "non-CR/non-PD", "none", "PR"),
    ("PR", "CR", "none", "PR"),  # "Non-PD" includes CR
    ("PR", "NE", "none", "PR"),
    ("SD", "non-CR/non-PD", "none", "SD"),
    ("SD", "CR", "none", "SD"),
    ("SD", "NE", "none", "SD"),
    ("NE", "non-CR/non-PD", "none", "NE"),
    ("NE", "CR", "none", "NE"),
    *[("PD", nt, new, "PD") for nt in NON_TARGET_VALUE for new in ("none", "unequivocal")],
    *[(t, "PD", new, "PD") for t in TARGET_VALUE for new in ("none", "unequivocal")],
    *[(t, nt, "unequivocal", "PD") for t in TARGET_VALUE for nt in NON_TARGET_VALUE],
]


@pytest.mark.parametrize(("target", "non_target", "new", "overall"), TABLE_1)
def test_table_1_target_disease(target, non_target, new, overall):
    """Table 1 (Eisenhauer 2009): patients with target (+/- non-target) disease."""
    assert _one_visit(target, non_target, new)["overall_response"] == overall


@pytest.mark.parametrize("target", ["CR", "PR", "SD"])
def test_table_1_target_only_without_non_targets(target):
    """Table 1 with no non-target lesions: the overall response is the target response."""
    point = _one_visit(target, None, "none")
    assert point["non_target_response"] is None
    assert point["overall_response"] == target


TABLE_2 = [
    ("CR", "none", "CR"),
    ("non-CR/non-PD", "none", "non-CR/non-PD"),
    ("NE", "none", "NE"),
    ("PD", "none", "PD"),
    *[(nt, "unequivocal", "PD") for nt in NON_TARGET_VALUE],
]


@pytest.mark.parametrize(("non_target", "new", "overall"), TABLE_2)
def test_table_2_non_target_disease_only(non_target, new, overall):
    """Table 2 (Eisenhauer 2009): non-target disease only; target_response is null."""
    point = _one_visit(None, non_target, new)
    assert point["sum_mm"] is None
    assert point["overall_response"] == overall


def test_equivocal_new_lesion_is_not_pd():
    """Section 4.3.2: an equivocal new lesion alone does not make PD."""
    assert _one_visit("PR", "non-CR/non-PD", "equivocal")["overall_response"] == "PR"


# Table 3: first and subsequent time point; values give these overall responses:
# CR = target absent; PR = 30 mm (-40 %); SD after PR = 35.5 mm (-29 % vs baseline,
# +18.3 % vs nadir 30); PD = 70 mm; NE = target not evaluated.
T3_VALUE = {"CR": "absent", "PR": 30.0, "SD": 35.5, "PD": 70.0, "NE": None}

TABLE_3 = [
    # first, subsequent, BOR if SD minimum met (first visit at day 56), BOR if not (day 21)
    ("CR", "CR", "CR", "CR"),
    ("CR", "PR", "SD", "PD"),  # any disease after a true CR is PD (footnote a)
    ("CR", "SD", "SD", "PD"),
    ("CR", "PD", "SD", "PD"),
    ("CR", "NE", "SD", "NE"),
    ("PR", "CR", "PR", "PR"),
    ("PR", "PR", "PR", "PR"),
    ("PR", "SD", "SD", "SD"),
    ("PR", "PD", "SD", "PD"),
    ("PR", "NE", "SD", "NE"),
    ("NE", "NE", "NE", "NE"),
]


@pytest.mark.parametrize(("first", "second", "met", "not_met"), TABLE_3)
@pytest.mark.parametrize("sd_minimum_met", [True, False])
def test_table_3_confirmed_best_overall_response(first, second, met, not_met, sd_minimum_met):
    """Table 3 (Eisenhauer 2009): BOR when CR/PR need confirmation >= 4 weeks later.

    SD minimum 42 days from baseline. "Met": visits at days 56 and 91; "not met": days 21
    and 49 — the second visit is then past the minimum, which only matters for PR -> SD
    (the SD itself qualifies, so the row's BOR stays SD).
    """
    first_day, second_day = (56, 91) if sd_minimum_met else (21, 49)
    followups = [
        visit(first_day, target={"T1": T3_VALUE[first]}),
        visit(second_day, target={"T1": T3_VALUE[second]}),
    ]
    result = evaluate(case({"T1": 50.0}, followups=followups, confirmation=True))
    responses = [p["overall_response"] for p in result["timepoints"]]
    expected_second = "PD" if first == "CR" and second in ("PR", "SD") else second
    assert responses == [first, expected_second]
    assert result["best_overall_response"] == (met if sd_minimum_met else not_met)
    assert result["best_overall_response_confirmed"] == result["best_overall_response"]
