"""MDT resectability reviews: quorum, required specialties and the protocol's consensus rule.

The experts' proposal (protocol.md): resectability is decided by a multidisciplinary team
rather than one investigator; each member's vote and reason is kept with the outcome.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from talentop.errors import InvalidInput
from talentop.protocol import Protocol
from talentop.services._context import Context, enter, event_date, transition, violation
from talentop.services._validate import RecordId, service
from talentop.services.permissions import acting_user
from talentop.services.states import ASSESSED, NOT_RANDOMISED
from talentop.store import models as m
from talentop.store import queries, writes


def consensus(rule: str, threshold: float | None, votes_yes: int, votes_total: int) -> bool:
    """The MDT outcome: majority (> half), unanimous (all), supermajority (>= threshold)."""
    if votes_total == 0:
        return False
    if rule == "majority":
        return votes_yes * 2 > votes_total
    if rule == "unanimous":
        return votes_yes == votes_total
    if rule == "supermajority":
        return votes_yes / votes_total >= (threshold or 1.0) - 1e-12
    raise InvalidInput.field("mdt.rule", rule, "majority, unanimous or supermajority")


def check_votes(protocol: Protocol, votes: list[dict[str, Any]]) -> list[str]:
    """Every problem with a vote list: quorum, duplicates, specialties, missing reasons."""
    problems = []
    if not isinstance(votes, list):
        return [f"votes={votes!r}: expected a list of vote dicts"]
    members = [v.get("member") for v in votes]
    if len(votes) < protocol.mdt.min_members:
        problems.append(
            f"votes: {len(votes)} member(s); the protocol needs at least {protocol.mdt.min_members}"
        )
    dupes = sorted({x for x in members if members.count(x) > 1 and x is not None})
    if dupes:
        problems.append(f"votes.member: {dupes} voted more than once")
    for i, vote in enumerate(votes):
        if not isinstance(vote.get("member"), str) or not vote["member"]:
            problems.append(
                f"votes[{i}].member={vote.get('member')!r}: expected a member's username"
            )
        if not isinstance(vote.get("resectable"), bool):
            problems.append(
                f"votes[{i}].resectable={vote.get('resectable')!r}: expected true or false"
            )
        if not isinstance(vote.get("reason"), str) or not vote["reason"].strip():
            problems.append(
                f"votes[{i}].reason={vote.get('reason')!r}: expected the member's reason"
            )
    present = {v.get("specialty") for v in votes}
    missing = [s for s in protocol.mdt.required_specialties if s not in present]
    if missing:
        problems.append(f"votes.specialty: missing required specialties {missing}")
    return problems


@service
def record_mdt_review(
    ctx: Context, patient_id: RecordId, review_date: dt.date | str, votes: list[dict[str, Any]]
) -> dict[str, Any]:
    """Record an MDT review with each member's vote; the protocol's rule gives the outcome.

    After induction (``assessed``): resectable keeps the patient ready to randomise; not
    resectable -> ``not_randomised``. In arm B (``randomised``): a reassessment that may
    allow ``switch_to_surgery``. Votes: ``{"member", "specialty", "resectable", "reason"}``.
    """
    on = event_date(ctx, "review_date", review_date)
    problems = check_votes(ctx.protocol, votes)
    if problems:
        raise InvalidInput(problems)
    with ctx.store.unit_of_work() as session:
        patient = enter(session, ctx, "record_mdt_review", patient_id)
        return _decide(session, ctx, patient, on, votes)


def _decide(
    session: Any, ctx: Context, patient: m.Patient, on: dt.date, votes: list[dict[str, Any]]
) -> dict[str, Any]:
    """Store the review and its votes, apply the protocol's rule, move an assessed patient
    judged not resectable to ``not_randomised``."""
    if patient.state != ASSESSED and ctx.protocol.arm(patient.arm or "").includes_surgery:
        raise violation(
            f"patient is in surgical arm {patient.arm}",
            state=patient.state,
            rule="MDT reassessment after randomisation is for the non-surgical arm",
        )
    yes = sum(1 for v in votes if v["resectable"])
    resectable = consensus(ctx.protocol.mdt.rule, ctx.protocol.mdt.threshold, yes, len(votes))
    review = writes.insert(
        session,
        ctx.actor,
        m.MdtReview(
            patient_id=patient.id,
            review_date=on,
            purpose=_purpose(patient),
            rule=ctx.protocol.mdt.rule,
            threshold=ctx.protocol.mdt.threshold,
            votes_resectable=yes,
            votes_total=len(votes),
            resectable=resectable,
        ),
    )
    for vote in votes:
        writes.insert(
            session,
            ctx.actor,
            m.MdtVote(
                review_id=review.id,
                member=vote["member"],
                specialty=str(vote.get("specialty") or "unspecified"),
                resectable=vote["resectable"],
                reason=vote["reason"],
            ),
        )
    if patient.state == ASSESSED and not resectable:
        transition(
            session,
            ctx,
            patient,
            NOT_RANDOMISED,
            on_date=on,
            reason=f"MDT: not resectable ({yes}/{len(votes)} votes, rule {ctx.protocol.mdt.rule})",
        )
    return {
        "review_id": review.id,
        "resectable": resectable,
        "votes_resectable": yes,
        "votes_total": len(votes),
        "rule": ctx.protocol.mdt.rule,
        "state": patient.state,
    }


def _purpose(patient: m.Patient) -> str:
    return "randomisation" if patient.state == ASSESSED else "switch"


@service
def cast_mdt_vote(
    ctx: Context,
    patient_id: RecordId,
    vote_date: dt.date | str,
    *,
    resectable: bool,
    reason: str,
) -> dict[str, Any]:
    """The acting MDT member's own vote (their username and specialty from their account).

    Votes collect in an open review; once the protocol's quorum (``mdt.min_members``) and
    required specialties are present, the review is decided by the protocol's rule exactly
    as ``record_mdt_review`` would, and the result says so (``decided``). A member votes
    once per review.
    """
    on = event_date(ctx, "vote_date", vote_date)
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput.field("reason", reason, "the member's reason for the vote")
    with ctx.store.unit_of_work() as session:
        patient = enter(session, ctx, "cast_mdt_vote", patient_id)
        user = acting_user(session, ctx.actor)
        member = ctx.actor
        specialty = (user.specialty if user is not None else None) or "unspecified"
        purpose = _purpose(patient)
        cast = [b for b in open_ballots(session, patient.id) if b.purpose == purpose]
        if any(b.member == member for b in cast):
            raise InvalidInput.field("member", member, "one vote per member per review")
        if purpose == "randomisation" and latest_review(session, patient.id, purpose) is not None:
            raise violation(
                "the MDT has already decided on this patient",
                state=patient.state,
                rule="one MDT resectability decision after induction",
            )
        ballot = writes.insert(
            session,
            ctx.actor,
            m.MdtBallot(
                patient_id=patient.id,
                purpose=purpose,
                round=1 + review_count(session, patient.id, purpose),
                member=member,
                specialty=specialty,
                resectable=resectable,
                reason=reason,
                cast_on=on,
            ),
        )
        cast.append(ballot)
        votes = [
            {
                "member": b.member,
                "specialty": b.specialty,
                "resectable": b.resectable,
                "reason": b.reason,
            }
            for b in cast
        ]
        status = {
            "ballot_id": ballot.id,
            "purpose": purpose,
            "votes_cast": len(votes),
            "decided": False,
            "still_needed": check_votes(ctx.protocol, votes),
        }
        if status["still_needed"]:
            return status
        decision = _decide(session, ctx, patient, on, votes)
        for b in cast:
            writes.update(session, ctx.actor, b, review_id=decision["review_id"])
        return {**status, "decided": True, **decision}


def open_ballots(session: Any, patient_id: int) -> list[m.MdtBallot]:
    """Ballots of the patient not yet part of a decided review."""
    return [b for b in queries.rows_for(session, m.MdtBallot, patient_id) if b.review_id is None]


def review_count(session: Any, patient_id: int, purpose: str) -> int:
    return sum(
        1 for r in queries.rows_for(session, m.MdtReview, patient_id) if r.purpose == purpose
    )


def latest_review(session: Any, patient_id: int, purpose: str) -> m.MdtReview | None:
    """The patient's newest MDT review for ``purpose`` (randomisation | switch)."""
    reviews = [
        r
        for r in queries.rows_for(session, m.MdtReview, patient_id, m.MdtReview.review_date)
        if r.purpose == purpose
    ]
    return reviews[-1] if reviews else None
