"""A "resected" lesion status and the post-resection baseline.

Rule source: EORTC RECIST FAQ "Surgery/radiotherapy and RECIST" (recist.eortc.org/faq/
surgeryradiotherapy-and-recist/): when surgery before progression is foreseen by the protocol,
"in principle, these lesions will no longer be part of the assessment". Convention
(talentop.recist.resection): remaining lesions are judged against their own baseline sum and
nadir; when everything is resected the post-resection baseline is no evidence of disease
(NED), and an unequivocal new lesion is a recurrence = PD (RECIST 1.1 section 4.3.2).
"""

import pytest

from talentop.errors import InvalidInput
from talentop.recist import NO_EVIDENCE_OF_DISEASE, evaluate

from .builders import case, visit


def _arm_a_case() -> dict:
    """Induction PR, then every lesion resected: NED scans, then a recurrence."""
    return case(
        {"T1": 50.0},
        non_targets=("N1",),
        followups=[
            visit(42, {"T1": 40.0}, {"N1": "present"}),
            visit(84, {"T1": 30.0}, {"N1": "present"}),  # -40 %: PR before surgery
            visit(170, {"T1": "resected"}, {"N1": "resected"}),
            visit(254, {"T1": "resected"}, {"N1": "resected"}),
            visit(338, {"T1": "resected"}, {"N1": "resected"}, new="unequivocal"),
        ],
    )


def test_complete_resection_is_ned_not_cr_and_recurrence_is_pd():
    result = evaluate(_arm_a_case())
    responses = [t["overall_response"] for t in result["timepoints"]]
    assert responses == ["SD", "PR", NO_EVIDENCE_OF_DISEASE, NO_EVIDENCE_OF_DISEASE, "PD"]
    # "absent" would have made these CR and the best response CR: the tumour was cut out
    assert result["best_overall_response"] == "PR"
    assert result["depth_of_response_pct"] == -40.0
    assert (
        result["progression_date"] == result["recurrence_date"] == result["timepoints"][4]["date"]
    )
    assert result["first_post_resection_date"] == result["timepoints"][2]["date"]
    assert [t["post_resection"] for t in result["timepoints"]] == [False, False, True, True, True]


def test_absent_instead_of_resected_reads_as_cr_the_contamination_this_fixes():
    data = _arm_a_case()
    for followup in data["followups"][2:4]:
        followup["target"] = {"T1": "absent"}
        followup["non_target"] = {"N1": "absent"}
    data["followups"] = data["followups"][:4]
    assert evaluate(data)["best_overall_response"] == "CR"


def test_partial_resection_rebases_on_the_remaining_lesions():
    """T1 (60 mm) resected; T2 alone from 40 mm: its own baseline 40, nadir 30 -> PD at 36
    (+20 % and +6 mm vs 30), although 36 is far below the original sum of 100 mm."""
    data = case(
        {"T1": 60.0, "T2": 40.0},
        followups=[
            visit(42, {"T1": 50.0, "T2": 30.0}),
            visit(126, {"T1": "resected", "T2": 30.0}),
            visit(210, {"T1": "resected", "T2": 36.0}),
        ],
    )
    points = evaluate(data)["timepoints"]
    assert points[1]["overall_response"] == "SD"  # 30 vs its baseline 40 is -25 %
    assert points[1]["sum_mm"] == 30.0
    assert points[2]["overall_response"] == "PD"
    assert "remaining lesions" in points[2]["reason"]


def test_partial_resection_pr_against_remaining_baseline():
    data = case(
        {"T1": 60.0, "T2": 40.0},
        followups=[visit(42, {"T1": 55.0, "T2": 38.0}), visit(126, {"T1": "resected", "T2": 27.0})],
    )
    # 27 vs 40 = -32.5 % (PR); against the original 100 mm it would be meaningless
    assert evaluate(data)["timepoints"][1]["overall_response"] == "PR"


def test_equivocal_new_lesion_after_resection_is_not_yet_a_recurrence():
    data = case(
        {"T1": 50.0},
        followups=[visit(42, {"T1": 30.0}), visit(120, {"T1": "resected"}, new="equivocal")],
    )
    result = evaluate(data)
    assert result["timepoints"][1]["overall_response"] == NO_EVIDENCE_OF_DISEASE
    assert result["recurrence_date"] is None


def test_a_resected_lesion_cannot_come_back_as_a_measurement():
    data = case(
        {"T1": 50.0},
        followups=[visit(42, {"T1": "resected"}), visit(126, {"T1": 20.0})],
    )
    with pytest.raises(InvalidInput, match="recorded resected.*new lesion: recurrence"):
        evaluate(data)


def test_mrecist_viable_value_resected():
    data = case(
        {"T1": 50.0},
        criteria="mrecist",
        followups=[
            visit(42, {"T1": {"diameter_mm": 40.0, "viable_diameter_mm": 30.0}}),
            visit(126, {"T1": {"diameter_mm": "resected", "viable_diameter_mm": "resected"}}),
        ],
    )
    result = evaluate(data)
    assert result["timepoints"][1]["overall_response"] == NO_EVIDENCE_OF_DISEASE
    assert result["best_overall_response"] == "PR"
