"""MDT consensus rules, surgery washout after bevacizumab, arm-B reassessment and switch."""

from __future__ import annotations

import pytest

from flow_helpers import (
    PROTOCOL,
    VOTES_YES,
    context,
    day,
    mdt,
    randomised_in_arm,
    surgeon,
    to_assessed,
)
from talentop import services as sv
from talentop.errors import InvalidInput, ProtocolViolation
from talentop.protocol import protocol_from_mapping
from talentop.services.mdt import check_votes
from talentop.store import models as m
from talentop.store import queries


@pytest.mark.parametrize(
    ("rule", "threshold", "yes", "total", "expected"),
    [
        ("majority", None, 2, 3, True),
        ("majority", None, 2, 4, False),  # a tie is not a majority
        ("majority", None, 3, 4, True),
        ("unanimous", None, 3, 3, True),
        ("unanimous", None, 4, 5, False),
        ("supermajority", 0.67, 2, 3, False),  # 0.667 < 0.67
        ("supermajority", 0.66, 2, 3, True),
        ("supermajority", 0.75, 3, 4, True),
        ("majority", None, 0, 0, False),
    ],
)
def test_consensus_rules(rule, threshold, yes, total, expected):
    """Majority = more than half; unanimous = all; supermajority = share >= threshold."""
    assert sv.consensus(rule, threshold, yes, total) is expected


def test_vote_checks_name_every_problem():
    votes = [
        {"member": "a", "specialty": "radiologist", "resectable": True, "reason": "ok"},
        {"member": "a", "specialty": "radiologist", "resectable": "yes", "reason": ""},
    ]
    problems = check_votes(PROTOCOL, votes)
    assert any("at least 3" in p for p in problems)
    assert any("['a'] voted more than once" in p for p in problems)
    assert any("votes[1].resectable='yes'" in p for p in problems)
    assert any("votes[1].reason=''" in p for p in problems)
    assert any(
        "missing required specialties ['hepatobiliary_surgeon', 'hepatologist_or_oncologist']" in p
        for p in problems
    )


@pytest.mark.db
def test_mdt_review_stores_each_vote_and_rule(store):
    ctx = context(store)
    pid = to_assessed(ctx)
    votes = [
        dict(VOTES_YES[0]),
        dict(VOTES_YES[1]),
        dict(VOTES_YES[2], resectable=False, reason="thrombus in IVC"),
    ]
    out = sv.record_mdt_review(mdt(ctx), pid, day(72), votes)
    assert out == {
        **out,
        "resectable": True,
        "votes_resectable": 2,
        "votes_total": 3,
        "rule": "majority",
    }
    with store.unit_of_work() as session:
        review = queries.get(session, m.MdtReview, out["review_id"])
        stored = queries.mdt_votes(session, review.id)
        assert [(v.member, v.resectable, v.reason) for v in stored] == [
            (v["member"], v["resectable"], v["reason"]) for v in votes
        ]
    with pytest.raises(InvalidInput, match="at least 3"):
        sv.record_mdt_review(mdt(ctx), pid, day(72), votes[:2])


@pytest.mark.db
def test_unanimous_protocol_rejects_split_vote(store):
    data = PROTOCOL.model_dump()
    data["mdt"] = {**data["mdt"], "rule": "unanimous"}
    unanimous = protocol_from_mapping(data)
    ctx = context(store)
    pid = to_assessed(ctx)
    strict = sv.Context(store, unanimous, ctx.actor)
    votes = [*VOTES_YES[:2], dict(VOTES_YES[2], resectable=False)]
    assert sv.record_mdt_review(mdt(strict), pid, day(72), votes)["resectable"] is False
    assert sv.patient_summary(ctx, pid)["state"] == "not_randomised"


@pytest.mark.db
def test_surgery_too_soon_after_bevacizumab_is_refused_then_overridden(store):
    """A bevacizumab dose on day 75 after randomisation; protocol minimum 28 days."""
    ctx = context(store)
    pid = randomised_in_arm(ctx, "A")
    sv.record_dose(
        ctx, pid, cycle=1, drug="bevacizumab", dose_given_mg=1050, given_on=day(75), weight_kg=70
    )
    minimum = PROTOCOL.surgery.min_days_after_bevacizumab
    too_soon = day(75 + minimum - 1)
    with pytest.raises(
        ProtocolViolation,
        match=rf"{minimum - 1} days after the last bevacizumab.*override_reason.*state 'randomised'.*>= {minimum} days",
    ):
        sv.record_surgery(
            surgeon(ctx), pid, too_soon, procedure="segmentectomy", margin="R0", blood_loss_ml=200
        )
    with store.unit_of_work() as session:
        assert queries.rows_for(session, m.Surgery, pid) == []
    out = sv.record_surgery(
        surgeon(ctx),
        pid,
        too_soon,
        procedure="segmentectomy",
        margin="R1",
        blood_loss_ml=200,
        override_reason="bleeding tumour",
    )
    assert out["days_after_bevacizumab"] == minimum - 1
    with store.unit_of_work() as session:
        deviations = queries.rows_for(session, m.ProtocolDeviation, pid)
        assert [d.category for d in deviations] == ["surgery_washout"]
        assert "override: bleeding tumour" in deviations[0].description
        assert queries.rows_for(session, m.Surgery, pid)[0].override_reason == "bleeding tumour"


@pytest.mark.db
def test_surgery_on_the_minimum_day_is_allowed_and_values_checked(store):
    ctx = context(store)
    pid = randomised_in_arm(ctx, "A")
    with pytest.raises(InvalidInput, match=r"margin='R3'.*\n.*blood_loss_ml=-1"):
        sv.record_surgery(surgeon(ctx), pid, day(70), procedure="x", margin="R3", blood_loss_ml=-1)
    with pytest.raises(
        InvalidInput, match="surgery_date='2025-03-01': expected on or after randomisation"
    ):
        sv.record_surgery(
            surgeon(ctx), pid, "2025-03-01", procedure="x", margin="R0", blood_loss_ml=1
        )
    out = sv.record_surgery(
        surgeon(ctx), pid, day(42 + 28 + 10), procedure="x", margin="R0", blood_loss_ml=300
    )
    assert out["after_switch"] is False
    with pytest.raises(InvalidInput, match="clavien_dindo='III'"):
        sv.record_complication(surgeon(ctx), pid, day(90), description="x", clavien_dindo="III")


@pytest.mark.db
def test_arm_b_response_flags_for_review_and_switch_is_its_own_event(store):
    ctx = context(store)
    pid = randomised_in_arm(ctx, "B")
    sv.record_lab(ctx, pid, sampled_on=day(120), test="bilirubin", value=15, unit="umol/L")
    sv.record_lab(ctx, pid, sampled_on=day(120), test="albumin", value=40, unit="g/L")
    out = sv.record_assessment(
        ctx, pid, day(126), target={"T1": 30.0, "T2": 20.0}, non_target={"N1": "present"}
    )
    assert out["resectability_flag"] is not None
    flags = sv.open_resectability_flags(ctx)
    assert [f["patient_id"] for f in flags] == [pid] and "ALBI grade 1" in flags[0]["reason"]
    with pytest.raises(ProtocolViolation, match="not a resectable reassessment of this patient"):
        sv.switch_to_surgery(ctx, pid, day(130), 1, "converted")
    review = sv.record_mdt_review(mdt(ctx), pid, day(128), VOTES_YES)
    switch_id = sv.switch_to_surgery(
        ctx, pid, day(130), review["review_id"], "converted to resectable"
    )
    assert switch_id and sv.open_resectability_flags(ctx) == []
    surgery = sv.record_surgery(
        surgeon(ctx), pid, day(160), procedure="left hepatectomy", margin="R0", blood_loss_ml=350
    )
    assert surgery["after_switch"] is True
    summary = sv.patient_summary(ctx, pid)
    assert summary["arm"] == "B" and summary["state"] == "operated"  # still arm B (ITT)


@pytest.mark.db
def test_arm_b_poor_liver_function_is_not_flagged_and_arm_a_cannot_switch(store):
    ctx = context(store)
    b = randomised_in_arm(ctx, "B", prefix="B")
    sv.record_lab(ctx, b, sampled_on=day(120), test="bilirubin", value=80, unit="umol/L")
    sv.record_lab(ctx, b, sampled_on=day(120), test="albumin", value=25, unit="g/L")
    out = sv.record_assessment(
        ctx, b, day(126), target={"T1": 30.0, "T2": 20.0}, non_target={"N1": "present"}
    )
    assert out["resectability_flag"] is None  # ALBI grade 3
    a = randomised_in_arm(ctx, "A", prefix="A")
    with pytest.raises(
        ProtocolViolation, match="surgical arm A.*rule: MDT reassessment after randomisation"
    ):
        sv.record_mdt_review(mdt(ctx), a, day(128), VOTES_YES)
    with pytest.raises(ProtocolViolation, match="not on continued non-surgical treatment"):
        sv.flag_for_resectability_review(ctx, a, day(128), "looks good")
