"""Eligibility engine: TALENTOP criteria (seed + NCT04649489) and TALENTACE through one code path."""

import pytest

from patient_records import ELIGIBLE as ELIGIBLE_RECORD
from talentop.clinical import evaluate_eligibility
from talentop.clinical.rules import check_rule, evaluate_rule
from talentop.errors import InvalidInput
from talentop.protocol import load_protocol

TALENTOP = load_protocol("talentop")
TALENTACE = load_protocol("talentace")

ELIGIBLE = {"patient_id": "P01", **ELIGIBLE_RECORD}


def screen(protocol=TALENTOP, **changes):
    return evaluate_eligibility({**ELIGIBLE, **changes}, protocol)


def test_reference_patient_is_eligible_with_values_and_reasons():
    result = screen()
    assert result.status == "eligible" and result.eligible
    assert len(result.criteria) == len(TALENTOP.eligibility)
    rlv = result.criterion("remnant_liver_volume")
    assert rlv.values["rlv_pct"] == pytest.approx(600 / 1400 * 100)
    assert rlv.reason.startswith("rlv_pct = 42.86 (ok >= 25)")


@pytest.mark.parametrize(
    ("changes", "criterion"),
    [
        ({"hcc_confirmed": False}, "hcc_confirmed"),
        ({"prior_anticancer_therapy": True}, "no_prior_therapy"),
        ({"tcm_used": True, "tcm_stopped_days_before_induction": 6}, "tcm_washout"),
        ({"measurable_lesions": 0}, "measurable_lesion"),
        ({"vp_grade": "Vp0"}, "macrovascular_invasion"),
        (
            {"vp_grade": "Vp0", "vv_grade": "Vv3", "right_atrial_thrombus": True},
            "macrovascular_invasion",
        ),
        ({"extrahepatic_spread": True}, "no_extrahepatic_spread"),
        ({"future_liver_remnant_ml": 349.9}, "remnant_liver_volume"),
        ({"albumin_g_l": 30, "bilirubin_umol_l": 40}, "child_pugh_a"),  # 2 + 2 + 1 + 1 + 1 = 7, B
        ({"child_pugh_days_before_induction": 8}, "child_pugh_a"),
        ({"ecog": 2}, "ecog_0_1"),
        ({"ecog_days_before_induction": 8}, "ecog_0_1"),
        ({"life_expectancy_weeks": 11.9}, "life_expectancy"),
        ({"labs_days_before_induction": 15}, "labs_window"),
        ({"anc_10e9_l": 1.49}, "anc"),
        ({"lymphocytes_10e9_l": 0.49}, "lymphocytes"),
        ({"platelets_10e9_l": 74}, "platelets"),
        ({"haemoglobin_g_l": 89}, "haemoglobin"),
        ({"ast_u_l": 200.1}, "transaminases_alp"),
        ({"alp_u_l": 626}, "transaminases_alp"),
        ({"bilirubin_umol_l": 63.1}, "bilirubin"),
        ({"albumin_g_l": 27.9}, "albumin"),
    ],
)
def test_each_talentop_criterion_can_fail(changes, criterion):
    result = screen(**changes)
    assert result.status == "ineligible"
    assert criterion in result.failed


@pytest.mark.parametrize(
    "changes",
    [
        {"future_liver_remnant_ml": 350},  # exactly 25 %
        {"ast_u_l": 200, "alt_u_l": 200},  # exactly 5 x ULN
        {"bilirubin_umol_l": 63, "albumin_g_l": 40},  # exactly 3 x ULN (CP: 3 + 1 + ... = 7 -> B)
        {"platelets_10e9_l": 75, "haemoglobin_g_l": 90, "anc_10e9_l": 1.5},
        {"albumin_g_l": None, "albumin_g_dl": 2.8, "bilirubin_umol_l": 10},  # 28 g/L as g/dL
        {"tcm_used": True, "tcm_stopped_days_before_induction": 7},
    ],
)
def test_boundaries_are_inclusive(changes):
    result = screen(**changes)
    failed_at_edge = {
        "remnant_liver_volume",
        "transaminases_alp",
        "bilirubin",
        "platelets",
        "haemoglobin",
        "anc",
        "albumin",
        "tcm_washout",
    }
    assert not failed_at_edge & set(result.failed)


def test_missing_values_make_incomplete_not_ineligible():
    result = screen(inr=None, labs_days_before_induction=None)
    assert result.status == "incomplete"
    assert set(result.missing) == {"child_pugh_a", "labs_window"}
    assert result.criterion("child_pugh_a").missing_fields == ("inr",)


def test_a_failure_outranks_missing_data():
    result = screen(inr=None, ecog=3)
    assert result.status == "ineligible" and result.missing == ["child_pugh_a"]


def test_kleene_logic_any_true_despite_missing():
    # TCM never used: the stop date is not needed.
    assert screen(tcm_used=False, tcm_stopped_days_before_induction=None).status == "eligible"


def test_text_values_are_parsed_and_bad_ones_named():
    text_patient = {k: ("" if v is None else str(v)) for k, v in ELIGIBLE.items()}
    assert evaluate_eligibility(text_patient, TALENTOP).status == "eligible"
    with pytest.raises(InvalidInput) as info:
        evaluate_eligibility(
            {**text_patient, "ascites": "a lot", "platelets_10e9_l": "1OO"}, TALENTOP
        )
    assert sorted(info.value.problems) == [
        "ascites='a lot': expected one of none, mild, moderate_severe",
        "platelets_10e9_l='1OO': expected a number",
    ]


def test_same_patients_differ_between_protocols_for_the_right_reasons():
    # The MVI patient TALENTOP wants is what TALENTACE excludes...
    mvi = screen(TALENTACE)
    assert mvi.status == "ineligible" and mvi.failed == ["no_vascular_invasion"]
    assert screen().status == "eligible"
    # ...and a patient without any thrombus flips the other way.
    intrahepatic = dict(vp_grade="Vp0", vv_grade="Vv0", right_atrial_thrombus=False)
    assert screen(TALENTACE, **intrahepatic).status == "eligible"
    assert screen(**intrahepatic).failed == ["macrovascular_invasion"]
    # TALENTACE's burden rule (diameter cm + count >= 6) means nothing to TALENTOP.
    small = dict(intrahepatic, largest_tumour_diameter_cm=3.0, tumour_count=2)
    assert screen(TALENTACE, **small).failed == ["tumour_burden"]
    # Bilirubin 2.5 x ULN: TALENTOP allows <= 3 x ULN, TALENTACE (setting) <= 2 x ULN.
    bili = dict(intrahepatic, bilirubin_umol_l=52.5, albumin_g_l=44)
    assert "bilirubin" in screen(TALENTACE, **bili).failed
    assert "bilirubin" not in screen(**bili).failed


def test_rule_vocabulary_checks_structure():
    assert check_rule({"field": "ecog", "op": "<=", "value": 1}) == []
    problems = check_rule(
        {"any": [{"field": "ecog", "op": "~", "value": 1}, {"not": {"field": "x"}}]}
    )
    assert ("any[0].op", problems[0][1]) == problems[0]
    assert ("any[1].not.field", "unknown field 'x'") in problems


def test_not_and_in_operators():
    patient = {"vp_grade": "Vp4", "ecog": 1}
    assert (
        evaluate_rule({"not": {"field": "vp3_vp4", "op": "==", "value": True}}, patient).holds
        is False
    )
    assert evaluate_rule({"field": "vp_grade", "op": "not_in", "value": ["Vp0"]}, patient).holds
    assert evaluate_rule({"field": "ecog", "op": "in", "value": [0, 1]}, patient).holds


def test_rlv_rule_is_exact_where_float_division_is_not():
    """307.77 mL is exactly 30 % of 1025.9 mL; the float quotient is 29.999999999999993."""
    assert 307.77 / 1025.9 * 100 < 30
    volumes = {"future_liver_remnant_ml": 307.77, "total_functional_liver_volume_ml": 1025.9}
    assert evaluate_rule({"field": "rlv_pct", "op": ">=", "value": 30}, volumes).holds is True


@pytest.mark.parametrize(
    ("vp", "vv", "atrial", "status", "missing"),
    [
        ("Vp3", "Vv0", None, "missing", ("right_atrial_thrombus",)),  # atrium decides
        ("Vp3", "Vv0", True, "not_met", ()),
        (None, None, True, "not_met", ()),  # an atrial thrombus decides alone
        ("Vp0", "Vv0", None, "not_met", ()),  # no thrombus: the atrium is irrelevant
        (None, "Vv0", False, "missing", ("vp_grade",)),
        (None, "Vv2", False, "met", ()),  # HVTT qualifies whatever the portal vein shows
    ],
)
def test_mvi_criterion_is_three_valued(vp, vv, atrial, status, missing):
    """NCT04649489: PVTT Vp1-Vp4 or HVTT/IVCTT, without atrial tumour thrombus."""
    result = screen(vp_grade=vp, vv_grade=vv, right_atrial_thrombus=atrial)
    criterion = result.criterion("macrovascular_invasion")
    assert (criterion.status, criterion.missing_fields) == (status, missing)


# Kleene three-valued logic: (a, b) with a in {true, false, missing}; "missing" may only
# win when no part decides the answer.
ECOG_OK, ECOG_BAD, ECOG_NA = {"ecog": 0}, {"ecog": 3}, {}
DAYS_OK, DAYS_BAD, DAYS_NA = (
    {"ecog_days_before_induction": 2},
    {"ecog_days_before_induction": 9},
    {},
)


@pytest.mark.parametrize(
    ("combinator", "first", "second", "holds"),
    [
        ("all", ECOG_OK, DAYS_OK, True),
        ("all", ECOG_OK, DAYS_NA, None),
        ("all", ECOG_BAD, DAYS_NA, False),  # one false part decides "all"
        ("all", ECOG_NA, DAYS_BAD, False),
        ("all", ECOG_NA, DAYS_NA, None),
        ("any", ECOG_OK, DAYS_NA, True),  # one true part decides "any"
        ("any", ECOG_NA, DAYS_OK, True),
        ("any", ECOG_BAD, DAYS_NA, None),  # false + missing is not yet false
        ("any", ECOG_BAD, DAYS_BAD, False),
        ("any", ECOG_NA, DAYS_NA, None),
    ],
)
def test_compound_rules_missing_versus_not_met(combinator, first, second, holds):
    rule = {
        combinator: [
            {"field": "ecog", "op": "<=", "value": 1},
            {"field": "ecog_days_before_induction", "op": "<=", "value": 7},
        ]
    }
    outcome = evaluate_rule(rule, {**first, **second})
    assert outcome.holds is holds
    expected_missing = (
        []
        if holds is not None
        else [
            n for n, part in (("ecog", first), ("ecog_days_before_induction", second)) if not part
        ]
    )
    assert outcome.missing == expected_missing


def test_not_of_missing_stays_missing():
    outcome = evaluate_rule({"not": {"field": "ecog", "op": "<=", "value": 1}}, {})
    assert (outcome.holds, outcome.missing) == (None, ["ecog"])


def test_patient_value_gives_fields_and_derived_quantities():
    """``patient_value`` is the eligibility rules' lookup: a recorded field as given, a derived
    quantity computed (up-to-seven score = largest diameter 6.5 cm + 2 tumours = 8.5), and
    None when an input is missing."""
    from decimal import Decimal

    from talentop.clinical.rules import patient_value

    record = {"ecog": 1, "largest_tumour_diameter_cm": 6.5, "tumour_count": 2}
    assert patient_value(record, "ecog") == 1
    assert patient_value(record, "up_to_seven_score") == Decimal("8.5")
    assert patient_value({"tumour_count": 2}, "up_to_seven_score") is None
    assert patient_value({}, "ecog") is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        # the QA case: 2.0 g/dL is 20 g/L, which would fail the albumin criterion
        (
            {"albumin_g_l": 40.8, "albumin_g_dl": "2.0"},
            "albumin: given in both units, albumin_g_l=40.8 and albumin_g_dl=2.0; "
            "expected exactly one unit",
        ),
        # agreeing values are refused too: design.md asks for exactly one unit of each lab
        (
            {"bilirubin_umol_l": 17.1, "bilirubin_mg_dl": 1.0},
            "bilirubin: given in both units, bilirubin_umol_l=17.1 and bilirubin_mg_dl=1.0",
        ),
        (
            {"bilirubin_uln_umol_l": 21, "bilirubin_uln_mg_dl": 1.2},
            "bilirubin ULN: given in both units",
        ),
    ],
)
def test_a_lab_in_both_units_is_refused_naming_both_fields(changes, message):
    """design.md, Clinical rules: "exactly one unit of each lab"."""
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(")):
        screen(**changes)


def test_an_empty_second_unit_is_not_a_second_value():
    assert screen(albumin_g_dl="", bilirubin_mg_dl=None).status == "eligible"
    assert screen(albumin_g_l=None, albumin_g_dl="3.8").status == "eligible"
