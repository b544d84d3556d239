"""mRECIST for HCC, and RECIST 1.1 / mRECIST side by side.

Source: Lencioni R, Llovet JM. Modified RECIST (mRECIST) assessment for hepatocellular
carcinoma. Semin Liver Dis 2010;30:52-60 (categories: KJR 2022;23:1126 Table 11);
special rules as in clinical-rules.md §2.2-§2.4: viable (arterially enhancing) diameters,
PD >= +20 % vs nadir without the RECIST 1.1 5 mm floor, portal vein thrombus non-measurable,
porta hepatis nodes malignant only if >= 20 mm, new intrahepatic HCC >= 10 mm with typical
vascular pattern, effusion/ascites PD only with cytology.
"""

import pytest

from talentop.errors import InvalidInput
from talentop.recist import evaluate, evaluate_both

from .builders import BASELINE_DATE, day, visit


def _hcc_case(followups, **top):
    return {
        "criteria": "mrecist",
        "baseline": {
            "date": BASELINE_DATE.isoformat(),
            "target": [
                {"id": "T1", "organ": "liver", "diameter_mm": 60.0, "viable_diameter_mm": 40.0},
                {"id": "T2", "organ": "liver", "diameter_mm": 30.0, "viable_diameter_mm": 20.0},
            ],
            "non_target": [{"id": "PV", "organ": "portal_vein"}, {"id": "A1", "organ": "ascites"}],
        },
        "followups": followups,
        **top,
    }


def _visit(offset, t1, t2, pv="present", ascites="present", new="none", **extra):
    return visit(
        offset, target={"T1": t1, "T2": t2}, non_target={"PV": pv, "A1": ascites}, new=new, **extra
    )


def test_viable_diameters_are_summed():
    result = evaluate(_hcc_case([_visit(56, 20.0, 10.0)]))
    assert result["baseline_sum_mm"] == 60.0
    assert result["timepoints"][0]["target_response"] == "PR"  # -50 %


def test_pd_has_no_5_mm_floor_by_default():
    """Published mRECIST: +20 % vs nadir suffices (20 -> 24 mm is +4 mm but PD)."""
    followups = [_visit(56, 10.0, 10.0), _visit(112, 12.0, 12.0)]
    assert evaluate(_hcc_case(followups))["timepoints"][1]["target_response"] == "PD"
    floored = evaluate(_hcc_case(followups, options={"mrecist_5mm_floor": True}))
    assert floored["timepoints"][1]["target_response"] != "PD"


def test_complete_loss_of_enhancement_is_cr():
    result = evaluate(_hcc_case([_visit(56, "absent", "absent", pv="absent", ascites="absent")]))
    assert result["timepoints"][0]["overall_response"] == "CR"


def test_portal_vein_thrombus_as_target_is_an_error():
    payload = _hcc_case([])
    payload["baseline"]["target"].append({"id": "T3", "organ": "portal_vein", "diameter_mm": 25})
    with pytest.raises(InvalidInput, match=r"portal vein tumour thrombus is non-measurable"):
        evaluate(payload)


def test_portal_vein_target_is_allowed_under_recist():
    payload = _hcc_case([])
    payload["criteria"] = "recist1.1"
    payload["baseline"]["target"][1] = {"id": "T2", "organ": "portal_vein", "diameter_mm": 25}
    assert evaluate(payload)["baseline_sum_mm"] == 85.0


def test_porta_hepatis_node_needs_20_mm():
    payload = _hcc_case([])
    payload["baseline"]["target"].append(
        {"id": "L1", "organ": "porta_hepatis", "nodal": True, "diameter_mm": 18}
    )
    with pytest.raises(InvalidInput, match=r"short axis >= 20 mm"):
        evaluate(payload)
    payload["criteria"] = "recist1.1"
    assert evaluate(payload)["baseline_sum_mm"] == 108.0


@pytest.mark.parametrize(
    ("criteria", "organ", "short_axis", "message"),
    [
        # mRECIST (Lencioni & Llovet 2010): porta hepatis nodes < 20 mm are not malignant
        (
            "mrecist",
            "porta_hepatis",
            17,
            r"\(L1\)\.diameter_mm=17: a target lymph node needs short axis >= 20 mm \(mRECIST: "
            r"porta hepatis nodes < 20 mm short axis are not considered malignant\)$",
        ),
        # RECIST 1.1 section 3.1 bands, also for porta hepatis when the criteria are RECIST
        (
            "recist1.1",
            "porta_hepatis",
            12,
            r"\(L1\)\.diameter_mm=12: a target lymph node needs short axis >= 15 mm "
            r"\(10 to <15 mm nodes are non-target, <10 mm are normal\)$",
        ),
        # mRECIST keeps the RECIST bands for nodes elsewhere
        (
            "mrecist",
            "mediastinum",
            12,
            r"needs short axis >= 15 mm \(10 to <15 mm nodes are non-target, <10 mm are normal\)$",
        ),
    ],
)
def test_small_target_node_message_quotes_the_bands_of_the_criteria(
    criteria, organ, short_axis, message
):
    payload = _hcc_case([])
    payload["criteria"] = criteria
    payload["baseline"]["target"].append(
        {"id": "L1", "organ": organ, "nodal": True, "diameter_mm": short_axis}
    )
    with pytest.raises(InvalidInput, match=message) as raised:
        evaluate(payload)
    if criteria == "mrecist" and organ == "porta_hepatis":
        assert "15 mm" not in str(raised.value)


def test_porta_hepatis_node_at_15_mm_counts_as_normal_for_cr():
    payload = _hcc_case([_visit(56, "absent", "absent", pv="absent", ascites="absent")])
    payload["baseline"]["target"].append(
        {"id": "L1", "organ": "porta_hepatis", "nodal": True, "diameter_mm": 25}
    )
    payload["followups"][0]["target"]["L1"] = 15.0
    assert evaluate(payload)["timepoints"][0]["target_response"] == "CR"


@pytest.mark.parametrize(
    ("detail", "expected"),
    [
        ({"organ": "liver", "diameter_mm": 12, "typical_vascular_pattern": True}, "PD"),
        ({"organ": "liver", "diameter_mm": 10, "typical_vascular_pattern": True}, "PD"),
        ({"organ": "liver", "diameter_mm": 9.9, "typical_vascular_pattern": True}, "SD"),
        ({"organ": "liver", "diameter_mm": 15, "typical_vascular_pattern": False}, "SD"),
        ({"organ": "lung", "diameter_mm": 6}, "PD"),
        ({"organ": "pleural_effusion"}, "SD"),
        ({"organ": "pleural_effusion", "cytology_confirmed": True}, "PD"),
    ],
)
def test_new_lesion_rules(detail, expected):
    followup = _visit(56, 35.0, 20.0, new="unequivocal", new_lesion_details=[detail])
    point = evaluate(_hcc_case([followup]))["timepoints"][0]
    assert point["overall_response"] == expected
    assert point["new_lesions"] == ("unequivocal" if expected == "PD" else "equivocal")


def test_new_lesion_details_are_ignored_by_recist():
    followup = _visit(
        56, 35.0, 20.0, new="unequivocal", new_lesion_details=[{"organ": "liver", "diameter_mm": 6}]
    )
    payload = _hcc_case([followup])
    payload["criteria"] = "recist1.1"
    assert evaluate(payload)["timepoints"][0]["overall_response"] == "PD"


def test_ascites_progression_needs_cytology():
    plain = _visit(56, 35.0, 20.0, ascites="progression")
    cyto = _visit(56, 35.0, 20.0, ascites={"status": "progression", "cytology_confirmed": True})
    point = evaluate(_hcc_case([plain]))["timepoints"][0]
    assert point["non_target_response"] == "non-CR/non-PD"
    assert "without cytology is not PD" in point["reason"]
    assert evaluate(_hcc_case([cyto]))["timepoints"][0]["non_target_response"] == "PD"


def test_evaluate_both_reads_each_criterion_its_own_diameter():
    """Conventional size barely changes (SD) while viable tumour shrinks by half (PR)."""
    followup = _visit(
        56,
        {"diameter_mm": 55.0, "viable_diameter_mm": 20.0},
        {"diameter_mm": 29.0, "viable_diameter_mm": 10.0},
    )
    both = evaluate_both(_hcc_case([followup]))
    assert both["recist1.1"]["baseline_sum_mm"] == 90.0
    assert both["mrecist"]["baseline_sum_mm"] == 60.0
    assert both["recist1.1"]["best_overall_response"] == "SD"
    assert both["mrecist"]["best_overall_response"] == "PR"
    assert both["mrecist"]["criteria"] == "mrecist"


def test_evaluate_both_reports_the_problems_of_both_readings():
    payload = _hcc_case([_visit(56, {"viable_diameter_mm": 20.0}, 10.0)])
    payload["baseline"]["target"].append({"id": "PV2", "organ": "portal_vein", "diameter_mm": 25})
    with pytest.raises(InvalidInput) as info:
        evaluate_both(payload)
    problems = info.value.problems
    assert any(
        p.startswith("[recist1.1] followups[0].target.T1.diameter_mm: missing") for p in problems
    )
    assert any(
        p.startswith("[mrecist] baseline.target[2] (PV2).organ='portal_vein'") for p in problems
    )


def test_dates_are_reported_as_iso():
    result = evaluate(_hcc_case([_visit(56, 20.0, 10.0)]))
    assert result["timepoints"][0]["date"] == day(56)
