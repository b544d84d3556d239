"""New lesions over several scans: backdating by lesion id, mRECIST atypical-lesion growth.

Sources: RECIST 1.1 (Eisenhauer et al., Eur J Cancer 2009;45:228-247) section 4.3.2, in the
structured reproduction emera86/SASmanual-MkDocs docs/medical/recist.md: "If a new lesion is
equivocal, for example because of its small size, continued therapy and follow-up
evaluation will clarify if it represents truly new disease. If repeat scans confirm there is
definitely a new lesion, then progression should be declared using the date of the initial
scan." mRECIST (Lencioni & Llovet, Semin Liver Dis 2010;30:52-60): a new liver lesion >= 1 cm
without the typical vascular pattern counts as new HCC after >= 1 cm interval growth [K: the
paper's wording was not retrievable; clinical-rules.md 2.4].
"""

import pytest

from talentop.errors import InvalidInput
from talentop.recist import evaluate

from .builders import case, day, visit


def _liver(lesion_id, mm, typical=False):
    return {
        "id": lesion_id,
        "organ": "liver",
        "diameter_mm": mm,
        "typical_vascular_pattern": typical,
    }


def test_backdating_follows_the_lesion_id_across_a_scan_without_it():
    """N1 equivocal on day 112, not seen on day 168, unequivocal on day 224: PD on day 112."""
    followups = [
        visit(56, target={"T1": 40.0}),
        visit(112, target={"T1": 38.0}, new="equivocal", new_lesion_details=[_liver("N1", 6)]),
        visit(168, target={"T1": 38.0}),
        visit(224, target={"T1": 38.0}, new="unequivocal", new_lesion_details=[_liver("N1", 14)]),
    ]
    result = evaluate(case({"T1": 50.0}, followups=followups))
    points = result["timepoints"]
    assert [p["overall_response"] for p in points] == ["SD", "PD", "PD", "PD"]
    assert [p["backdated"] for p in points] == [False, True, True, False]
    assert result["progression_date"] == day(112)


def test_a_different_lesion_id_is_not_backdated():
    """The equivocal N1 went away; the unequivocal N2 is a new lesion of its own."""
    followups = [
        visit(112, target={"T1": 38.0}, new="equivocal", new_lesion_details=[_liver("N1", 6)]),
        visit(168, target={"T1": 38.0}, new="equivocal", new_lesion_details=[_liver("N1", 6)]),
        visit(224, target={"T1": 38.0}, new="unequivocal", new_lesion_details=[_liver("N2", 15)]),
    ]
    result = evaluate(case({"T1": 50.0}, followups=followups))
    assert [p["overall_response"] for p in result["timepoints"]] == ["SD", "SD", "PD"]
    assert result["progression_date"] == day(224)


def test_without_ids_a_scan_with_no_new_lesion_breaks_the_chain():
    followups = [
        visit(112, target={"T1": 38.0}, new="equivocal"),
        visit(168, target={"T1": 38.0}),
        visit(224, target={"T1": 38.0}, new="unequivocal"),
    ]
    result = evaluate(case({"T1": 50.0}, followups=followups))
    assert result["progression_date"] == day(224)


def _mrecist(followups):
    return evaluate(case({"T1": 50.0}, followups=followups, criteria="mrecist"))


@pytest.mark.parametrize(
    ("first_mm", "later_mm", "overall"),
    [
        (12, 22, "PD"),  # exactly +10 mm: new HCC
        (12, 21.9, "SD"),  # +9.9 mm: still equivocal
        (12.3, 22.3, "PD"),  # exact decimals: 22.3 - 12.3 is 9.999999999999998 in floats
    ],
)
def test_mrecist_atypical_liver_lesion_counts_after_10_mm_growth(first_mm, later_mm, overall):
    followups = [
        visit(
            56, target={"T1": 45.0}, new="equivocal", new_lesion_details=[_liver("N1", first_mm)]
        ),
        visit(
            112, target={"T1": 45.0}, new="unequivocal", new_lesion_details=[_liver("N1", later_mm)]
        ),
    ]
    result = _mrecist(followups)
    assert [p["response_at_assessment"] for p in result["timepoints"]] == ["SD", overall]
    if overall == "PD":
        assert "interval growth" in result["timepoints"][1]["reason"]
        # The lesion was there (equivocal) on day 56: PD is backdated to it.
        assert result["progression_date"] == day(56)


def test_mrecist_growth_needs_the_same_id():
    followups = [
        visit(56, target={"T1": 45.0}, new="equivocal", new_lesion_details=[_liver("N1", 12)]),
        visit(112, target={"T1": 45.0}, new="unequivocal", new_lesion_details=[_liver("N2", 25)]),
    ]
    assert [p["overall_response"] for p in _mrecist(followups)["timepoints"]] == ["SD", "SD"]


def test_new_lesion_ids_must_be_unique_strings():
    followups = [
        visit(
            56,
            target={"T1": 45.0},
            new="equivocal",
            new_lesion_details=[_liver("N1", 12), _liver("N1", 8), _liver(7, 9)],
        )
    ]
    with pytest.raises(InvalidInput) as info:
        evaluate(case({"T1": 50.0}, followups=followups))
    assert info.value.problems == [
        "followups[0].new_lesion_details[2].id=7: expected a non-empty string",
        "followups[0].new_lesion_details: id 'N1' listed twice; expected unique ids",
    ]
