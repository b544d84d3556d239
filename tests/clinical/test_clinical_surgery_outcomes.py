"""ISGLS post-hepatectomy liver failure, complication categories, pathological response.

ISGLS: Rahbari NN et al., Surgery 2011;149:713-724 - PHLF is an increased INR with concomitant
hyperbilirubinaemia (local normal limits) on or after postoperative day 5; if either was high
before surgery, both must rise against the previous day. Grade A: no change in clinical
management; B: deviation from regular management without invasive treatment; C: invasive
treatment. Pathological response: pCR = no viable tumour, MPR = <= 10% viable (irPRC,
Cottrell et al. Ann Oncol 2018; Stein et al. Clin Cancer Res 2020).
"""

import pytest

from talentop.clinical.surgery_outcomes import (
    band_labels,
    check_complication,
    interval_band,
    isgls_phlf_grade,
    pathological_response,
)
from talentop.errors import InvalidInput
from talentop.protocol import load_protocol

LABS = dict(inr=1.6, inr_uln=1.2, bilirubin_umol_l=40.0, bilirubin_uln_umol_l=21.0)


@pytest.mark.parametrize(
    ("management", "grade"), [("none", "A"), ("non_invasive", "B"), ("invasive", "C")]
)
def test_grade_follows_the_change_in_management(management, grade):
    assert isgls_phlf_grade(postoperative_day=5, management=management, **LABS) == grade


def test_not_before_postoperative_day_5():
    assert isgls_phlf_grade(postoperative_day=4, management="invasive", **LABS) is None


def test_both_inr_and_bilirubin_must_be_high():
    only_inr = {**LABS, "bilirubin_umol_l": 20.0}
    assert isgls_phlf_grade(postoperative_day=7, management="none", **only_inr) is None
    only_bili = {**LABS, "inr": 1.1}
    assert isgls_phlf_grade(postoperative_day=7, management="none", **only_bili) is None


def test_high_before_surgery_needs_both_rising_against_the_previous_day():
    raised = dict(preoperative_inr=1.4, postoperative_day=6, management="non_invasive", **LABS)
    assert (
        isgls_phlf_grade(previous_day_inr=1.5, previous_day_bilirubin_umol_l=35.0, **raised) == "B"
    )
    # INR above ULN but falling: not PHLF although both exceed the normal limits
    assert (
        isgls_phlf_grade(previous_day_inr=1.7, previous_day_bilirubin_umol_l=35.0, **raised) is None
    )
    with pytest.raises(InvalidInput, match="previous_day"):
        isgls_phlf_grade(**raised)


def test_bad_inputs_are_listed():
    with pytest.raises(InvalidInput) as caught:
        isgls_phlf_grade(postoperative_day=-1, inr=0, inr_uln=1.2, bilirubin_umol_l=40.0,
                         bilirubin_uln_umol_l=21.0, management="icu")  # fmt: skip
    assert len(caught.value.problems) == 3


def test_complication_category_and_grade():
    assert check_complication("liver_failure", "B") == []
    assert check_complication("bleeding", None) == []
    assert "needs its ISGLS grade" in check_complication("liver_failure", None)[0]
    assert "only for category 'liver_failure'" in check_complication("wound", "A")[0]
    assert "expected one of" in check_complication("haemorrhage", None)[0]


def test_pathological_response_thresholds():
    rules = load_protocol("talentop").pathology
    assert pathological_response(100.0, rules) == "complete"
    assert pathological_response(90.0, rules) == "major"  # <= 10% viable
    assert pathological_response(89.9, rules) == "partial"
    assert pathological_response(None, rules) is None
    with pytest.raises(InvalidInput):
        pathological_response(101.0, rules)


def test_bevacizumab_interval_bands():
    edges = [28, 42, 56]
    assert [interval_band(d, edges) for d in (20, 28, 41, 42, 55, 56, 90)] == [
        "< 28 days", "28-41 days", "28-41 days", "42-55 days", "42-55 days", ">= 56 days", ">= 56 days",
    ]  # fmt: skip
    assert band_labels(edges) == ["< 28 days", "28-41 days", "42-55 days", ">= 56 days"]
    assert interval_band(None, edges) == "no bevacizumab on record"
