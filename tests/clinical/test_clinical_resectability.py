"""Structured resectability criteria, missing data, and the baseline class.

Thresholds: TALENTOP protocol file (remnant liver >= 25%: seed article eligibility; Vp1-Vp4 and
HVTT/IVCTT without atrial thrombus: NCT04649489; Child-Pugh A: seed article; ALBI <= 2: SETTING).
Classes: technically unresectable = R0 not achievable or insufficient future liver remnant (the
two obstacles of conversion therapy, Chinese expert consensus, World J Gastroenterol
2021;27:8069-8080); oncologically unresectable = technically resectable, not advised.
"""

import pytest

from talentop.clinical.resectability import (
    ONCOLOGICALLY_UNRESECTABLE,
    TECHNICALLY_RESECTABLE,
    TECHNICALLY_UNRESECTABLE,
    Findings,
    assess,
    check_class,
)
from talentop.errors import InvalidInput
from talentop.protocol import load_protocol

RULES = load_protocol("talentop").resectability
GOOD = dict(
    r0_feasible=True,
    remnant_liver_pct=40.0,
    vp_grade="Vp3",
    vv_grade="Vv0",
    child_pugh_grade="A",
    albi_grade=1,
)


def test_every_criterion_met_is_resectable():
    verdict = assess(Findings(**GOOD), RULES)
    assert verdict.status == "resectable"
    assert verdict.criteria == dict.fromkeys(verdict.criteria, True)


@pytest.mark.parametrize(
    ("change", "failed"),
    [
        ({"r0_feasible": False}, ["r0_feasible"]),
        ({"remnant_liver_pct": 24.9}, ["remnant_liver"]),
        ({"child_pugh_grade": "B"}, ["liver_function"]),
        ({"albi_grade": 3}, ["liver_function"]),
    ],
)
def test_one_failed_criterion_is_not_resectable(change, failed):
    verdict = assess(Findings(**{**GOOD, **change}), RULES)
    assert verdict.status == "not_resectable"
    assert verdict.failed == failed


def test_remnant_threshold_is_inclusive():
    """Eligibility reads RLV >= 25%: exactly 25% meets it."""
    assert assess(Findings(**{**GOOD, "remnant_liver_pct": 25.0}), RULES).criteria["remnant_liver"]


def test_missing_data_blocks_rather_than_passes():
    verdict = assess(Findings(**{**GOOD, "remnant_liver_pct": None, "albi_grade": None}), RULES)
    assert verdict.status == "incomplete"
    assert verdict.missing == ["remnant_liver", "liver_function"]
    assert "no volumetry on record" in verdict.explain()


def test_a_failed_criterion_outweighs_missing_ones():
    verdict = assess(Findings(r0_feasible=False), RULES)
    assert verdict.status == "not_resectable"


def test_classes_must_agree_with_the_criteria():
    ok = assess(Findings(**GOOD), RULES)
    bad = assess(Findings(**{**GOOD, "remnant_liver_pct": 20.0}), RULES)
    assert check_class(TECHNICALLY_RESECTABLE, ok, None) == []
    assert check_class(TECHNICALLY_UNRESECTABLE, bad, None) == []
    assert check_class(ONCOLOGICALLY_UNRESECTABLE, ok, "Vp4: upfront resection not advised") == []
    assert "every criterion is met" in check_class(TECHNICALLY_UNRESECTABLE, ok, None)[0]
    assert (
        "expected 'technically_unresectable'" in check_class(TECHNICALLY_RESECTABLE, bad, None)[0]
    )
    assert "oncological reason" in check_class(ONCOLOGICALLY_UNRESECTABLE, ok, " ")[0]
    incomplete = assess(Findings(**{**GOOD, "vv_grade": None}), RULES)
    assert "missing" in check_class(TECHNICALLY_RESECTABLE, incomplete, None)[0]
    assert "expected one of" in check_class("borderline", ok, None)[0]


def test_findings_from_a_mapping_list_every_problem():
    with pytest.raises(InvalidInput) as caught:
        Findings.from_mapping(
            {"r0_feasible": "yes", "remnant_liver_pct": 140, "vp_grade": "Vp9", "flr": 3}
        )
    text = " | ".join(caught.value.problems)
    for word in (
        "flr: unknown finding",
        "r0_feasible='yes'",
        "remnant_liver_pct=140",
        "vp_grade='Vp9'",
    ):
        assert word in text
    assert Findings.from_mapping(GOOD).to_dict() == GOOD
