"""The paths the experts asked about, through the services: TALENTACE randomised at entry with
TACE, baseline resectability class, local therapy before surgery, complication categories,
resected lesions after surgery.

Sources: TALENTACE design (ASCO GI 2021 TPS487: randomised at entry; atezo/bev after TACE in
the combination arm; TACE alone in the other), EORTC RECIST FAQ (surgery: resected lesions
leave the assessment), ISGLS 2011 (liver failure grade), Chinese conversion consensus (WJG
2021;27:8069: technically unresectable = R0 not feasible / remnant insufficient).
"""

from __future__ import annotations

import pytest

from flow_helpers import (
    CRITERIA_YES,
    LESIONS,
    context,
    day,
    randomised_in_arm,
    register,
    surgeon,
    to_induction,
)
from patient_records import ELIGIBLE
from talentop import services as sv
from talentop.errors import InvalidInput, ProtocolViolation
from talentop.protocol import load_protocol

pytestmark = pytest.mark.db
TALENTACE = load_protocol("talentace")
INTRAHEPATIC = {**ELIGIBLE, "vp_grade": "Vp0", "vv_grade": "Vv0"}


def talentace_context(store) -> sv.Context:
    ctx = context(store)
    return sv.Context(ctx.store, TALENTACE, ctx.actor)


def screened(ctx, pseudo_id: str) -> int:
    pid = register(ctx, "SH01", pseudo_id, day(-14))
    assert sv.screen_patient(ctx, pid, INTRAHEPATIC, day(-7))["verdict"] == "eligible"
    sv.record_lesions_baseline(ctx, pid, day(-7), LESIONS[:2])
    return pid


def test_talentace_randomises_at_entry_then_tace_then_atezo_bev(store):
    ctx = talentace_context(store)
    arms: dict[str, int] = {}
    for i in range(12):
        pid = screened(ctx, f"E{i:02d}")
        allocation = sv.randomise(ctx, pid, day(-6))  # before any treatment
        arms.setdefault(allocation["arm"], pid)
        assert "site" in allocation["stratum"]  # stratify_by_site: true
        if len(arms) == 2:
            break
    a, b = arms["A"], arms["B"]
    # arm A: atezo/bev only after the first TACE
    with pytest.raises(ProtocolViolation, match="before the first local therapy"):
        sv.record_dose(ctx, a, cycle=1, drug="atezolizumab", dose_given_mg=1200, given_on=day(0))
    tace = sv.record_local_therapy(
        ctx, a, day(1), therapy="tace", technique="cTACE", target_lesions=["T1", "T2"]
    )
    out = sv.record_dose(ctx, a, cycle=1, drug="atezolizumab", dose_given_mg=1200, given_on=day(8))
    assert out["deviations"] == []
    # arm B: TACE alone
    sv.record_local_therapy(ctx, b, day(1), therapy="tace", target_lesions=["T1"])
    with pytest.raises(ProtocolViolation, match="arm B gives no bevacizumab"):
        sv.record_dose(ctx, b, cycle=1, drug="bevacizumab", dose_given_mg=1000,
                       given_on=day(8), weight_kg=66.0)  # fmt: skip
    # the response of the treated lesions, once, after the procedure
    sv.record_local_therapy_response(ctx, a, tace, day(50), response="PR")
    with pytest.raises(ProtocolViolation, match="one response per local therapy"):
        sv.record_local_therapy_response(ctx, a, tace, day(60), response="SD")
    with pytest.raises(InvalidInput, match="radiotherapy"):
        sv.record_local_therapy(ctx, a, day(60), therapy="radiotherapy", target_lesions=["T1"])


def test_the_randomisation_gate_is_the_protocols_timing(store):
    ctx = talentace_context(store)
    pid = screened(ctx, "E99")
    with pytest.raises(ProtocolViolation, match="no induction before randomisation"):
        sv.start_induction(ctx, pid, day(0))
    with pytest.raises(InvalidInput, match="on or after the screening"):
        sv.randomise(ctx, pid, day(-10))
    talentop = sv.Context(store, load_protocol("talentop"), ctx.actor)
    other = register(talentop, "SH01", "T01", day(-14))
    sv.screen_patient(talentop, other, ELIGIBLE, day(-7))
    with pytest.raises(ProtocolViolation, match="randomisation after induction"):
        sv.randomise(talentop, other, day(-6))


def test_baseline_resectability_class_is_checked_against_the_criteria(store):
    ctx = context(store)
    pid = register(ctx, "SH01", "R001", day(-14))
    sv.screen_patient(ctx, pid, ELIGIBLE, day(-7))
    small_remnant = {**CRITERIA_YES, "remnant_liver_pct": 22.0}
    with pytest.raises(InvalidInput, match="expected 'technically_unresectable'"):
        sv.record_resectability(ctx, pid, day(-7), criteria=small_remnant,
                                resectability_class="technically_resectable")  # fmt: skip
    out = sv.record_resectability(
        ctx, pid, day(-7), criteria=small_remnant, resectability_class="technically_unresectable"
    )
    assert out["status"] == "not_resectable" and out["criteria"]["remnant_liver"] is False
    with pytest.raises(ProtocolViolation, match="already recorded"):
        sv.record_resectability(ctx, pid, day(-6), criteria=CRITERIA_YES,
                                resectability_class="technically_resectable")  # fmt: skip
    with pytest.raises(InvalidInput, match="needs its class"):
        sv.record_resectability(ctx, pid, day(-6), criteria=CRITERIA_YES)


def test_baseline_class_comes_before_treatment(store):
    ctx = context(store)
    pid = to_induction(ctx, "R002")
    with pytest.raises(ProtocolViolation, match="at screening, before treatment"):
        sv.record_resectability(ctx, pid, day(10), criteria=CRITERIA_YES,
                                resectability_class="oncologically_unresectable",
                                reason="Vp4: upfront resection not advised")  # fmt: skip


def test_local_therapy_before_surgery_only_and_phlf_graded(store):
    ctx = context(store)
    pid = randomised_in_arm(ctx, "A")
    sv.record_local_therapy(ctx, pid, day(80), therapy="radiotherapy", target_lesions=["N1"])
    sv.record_surgery(surgeon(ctx), pid, day(120), procedure="right hepatectomy", margin="R0",
                      blood_loss_ml=400)  # fmt: skip
    with pytest.raises(ProtocolViolation, match="pathway before surgery"):
        sv.record_local_therapy(ctx, pid, day(130), therapy="tace", target_lesions=["T2"])
    with pytest.raises(InvalidInput, match="needs its ISGLS grade"):
        sv.record_complication(surgeon(ctx), pid, day(126), description="PHLF",
                               clavien_dindo="II", category="liver_failure")  # fmt: skip
    sv.record_complication(surgeon(ctx), pid, day(126), description="PHLF", clavien_dindo="II",
                           category="liver_failure", isgls_grade="B")  # fmt: skip
    # resected lesions after the surgery: NED, not CR
    out = sv.record_assessment(
        ctx, pid, day(160), target={"T1": "resected", "T2": "resected"},
        non_target={"N1": "resected"},
    )  # fmt: skip
    assert out["recist"]["timepoints"][-1]["overall_response"] == "NED"
    assert out["recist"]["best_overall_response"] == "PR"


def test_resected_needs_a_recorded_surgery(store):
    ctx = context(store)
    pid = randomised_in_arm(ctx, "B")
    with pytest.raises(InvalidInput, match="resected at a recorded surgery"):
        sv.record_assessment(ctx, pid, day(126), target={"T1": "resected", "T2": 20.0},
                             non_target={"N1": "present"})  # fmt: skip


def _complete_response(ctx, pseudo_id: str) -> dict:
    from flow_helpers import give_induction

    pid = to_induction(ctx, pseudo_id)
    give_induction(ctx, pid)
    sv.record_assessment(
        ctx, pid, day(70), target={"T1": 0.0, "T2": 0.0}, non_target={"N1": "absent"}
    )
    return sv.complete_assessment(ctx, pid, day(71))


def test_complete_response_after_induction_follows_the_protocol_setting(store):
    """The sources say "PR or SD" are randomised and are silent on CR (protocol.md): the
    TALENTOP file reads that as CR not randomisable (assessment.randomisable_responses,
    with its source); a protocol listing CR randomises it. No code decides it."""
    ctx = context(store)
    assert _complete_response(ctx, "CR1")["state"] == "not_randomised"
    data = load_protocol("talentop").model_dump()
    data["assessment"]["randomisable_responses"] = ["CR", "PR", "SD"]
    from talentop.protocol import protocol_from_mapping

    with_cr = sv.Context(store, protocol_from_mapping(data), ctx.actor)
    out = _complete_response(with_cr, "CR2")
    assert (out["state"], out["best_overall_response"]) == ("assessed", "CR")
