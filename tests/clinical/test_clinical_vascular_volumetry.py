"""Vp/Vv/Cheng mapping and remnant liver volume.

Sources: LCSGJ general rules (Vp0-Vp4, Vv0-Vv3); Cheng types and the mapping drawn in
World J Gastroenterol 2022;28:704 Fig 2 (clinical-rules.md 4.1/4.2): I ~ Vp2, II ~ Vp3,
III ~ Vp4, IV beyond Vp4, I0 microscopic; NCT04649489 MVI definition; RLV >= 25%.
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from talentop.clinical import (
    cheng_to_vp,
    is_vp3_vp4,
    macrovascular_invasion_present,
    rlv_meets,
    rlv_pct,
    vascular_invasion_any,
    vp_to_cheng,
)
from talentop.errors import InvalidInput


@pytest.mark.parametrize(
    ("cheng", "vp"), [("I0", None), ("I", "Vp2"), ("II", "Vp3"), ("III", "Vp4"), ("IV", "Vp4")]
)
def test_cheng_to_vp(cheng, vp):
    assert cheng_to_vp(cheng) == vp


@pytest.mark.parametrize(
    ("vp", "cheng"), [("Vp0", None), ("Vp1", None), ("Vp2", "I"), ("vp3", "II"), ("VP4", "III")]
)
def test_vp_to_cheng(vp, cheng):
    assert vp_to_cheng(vp) == cheng


def test_round_trip_where_defined():
    for vp in ("Vp2", "Vp3", "Vp4"):
        assert cheng_to_vp(vp_to_cheng(vp)) == vp


def test_unknown_grades_are_refused():
    with pytest.raises(InvalidInput, match=r"vp_grade='Vp5': expected one of Vp0, Vp1"):
        vp_to_cheng("Vp5")
    with pytest.raises(InvalidInput, match=r"cheng_type='V'"):
        cheng_to_vp("V")


@pytest.mark.parametrize(
    ("vp", "vv", "atrial", "mvi", "any_invasion"),
    [
        ("Vp0", "Vv0", False, False, False),
        ("Vp1", "Vv0", False, True, True),
        ("Vp4", "Vv0", False, True, True),
        ("Vp0", "Vv1", False, True, True),
        ("Vp0", "Vv3", False, True, True),  # IVC thrombus below the atrium
        ("Vp0", "Vv3", True, False, True),  # reaching the right atrium: not TALENTOP MVI
        # An atrial thrombus came through the hepatic veins / IVC: excluded even with PVTT.
        ("Vp2", "Vv3", True, False, True),
        ("Vp4", "Vv0", True, False, True),
        ("Vp2", "Vv3", False, True, True),
    ],
)
def test_talentop_mvi_definition(vp, vv, atrial, mvi, any_invasion):
    """NCT04649489 inclusion 6, as registered (inclinicaltrials.com copy of the record):
    "Presence of PVTT [...] Vp1 (third-order branch of portal vein) to Vp4 (main
    trunk/collateral branch of portal vein) according to the Japanese staging system or
    Presence of HVTT or IVCTT, without atrium tumor thrombosis". Decision documented in
    ``macrovascular_invasion_present``: an atrial thrombus disqualifies in every case."""
    kwargs = dict(vp_grade=vp, vv_grade=vv, right_atrial_thrombus=atrial)
    assert macrovascular_invasion_present(**kwargs) is mvi
    assert vascular_invasion_any(**kwargs) is any_invasion


def test_vp3_vp4_flag():
    assert [is_vp3_vp4(f"Vp{i}") for i in range(5)] == [False, False, False, True, True]


def test_rlv_pct_and_exact_cut_off():
    assert rlv_pct(future_liver_remnant_ml=350, total_functional_liver_volume_ml=1400) == 25.0
    assert rlv_meets(future_liver_remnant_ml=350, total_functional_liver_volume_ml=1400)
    assert not rlv_meets(future_liver_remnant_ml=349.9, total_functional_liver_volume_ml=1400)
    # 307.77 / 1025.9 x 100 is 29.999999999999993 in floats, yet 307.77 is exactly 30 %
    # of 1025.9: the cut-off comparison must not flip.
    assert rlv_pct(future_liver_remnant_ml=307.77, total_functional_liver_volume_ml=1025.9) < 30
    assert rlv_meets(
        future_liver_remnant_ml=307.77, total_functional_liver_volume_ml=1025.9, min_pct=30
    )


def test_rlv_refuses_remnant_larger_than_liver_and_bad_volumes():
    with pytest.raises(InvalidInput, match="future_liver_remnant_ml=1500: expected at most"):
        rlv_pct(future_liver_remnant_ml=1500, total_functional_liver_volume_ml=1400)
    with pytest.raises(InvalidInput, match="total_functional_liver_volume_ml=0: implausible"):
        rlv_pct(future_liver_remnant_ml=10, total_functional_liver_volume_ml=0)


@given(flr=st.floats(min_value=0, max_value=2000), total=st.floats(min_value=2000, max_value=5000))
def test_rlv_between_0_and_100(flr, total):
    assert 0 <= rlv_pct(future_liver_remnant_ml=flr, total_functional_liver_volume_ml=total) <= 100
