"""The patient's path (design.md): states and which service call may leave which state.

Each arrow names the states it may start from and the protocol rule it enforces; calling
it from any other state raises ``ProtocolViolation`` with the state and that rule.
"""

from __future__ import annotations

from talentop.errors import ProtocolViolation

REGISTERED = "registered"
SCREENED = "screened"
SCREEN_FAILED = "screen_failed"
INDUCTION = "induction"
ASSESSED = "assessed"
NOT_RANDOMISED = "not_randomised"
RANDOMISED = "randomised"
OPERATED = "operated"
MAINTENANCE = "maintenance"
TREATMENT_FAILED = "treatment_failed"
OFF_STUDY = "off_study"
DIED = "died"

STATES = (
    REGISTERED,
    SCREENED,
    SCREEN_FAILED,
    INDUCTION,
    ASSESSED,
    NOT_RANDOMISED,
    RANDOMISED,
    OPERATED,
    MAINTENANCE,
    TREATMENT_FAILED,
    OFF_STUDY,
    DIED,
)
#: States in which protocol treatment after randomisation is ongoing.
ON_TREATMENT = frozenset({RANDOMISED, OPERATED, MAINTENANCE})
#: States in which the patient is alive and followed (assessments, contacts allowed).
FOLLOWED = frozenset(STATES) - {REGISTERED, SCREENED, SCREEN_FAILED, DIED}

#: arrow -> (allowed starting states, the rule in words)
ARROWS: dict[str, tuple[frozenset[str], str]] = {
    "screen_patient": (
        frozenset({REGISTERED}),
        "eligibility is screened once, for a registered patient",
    ),
    "start_induction": (
        frozenset({SCREENED}),
        "induction starts only after an eligible screening",
    ),
    "record_lesions_baseline": (
        frozenset({SCREENED, INDUCTION}),
        "baseline lesions are recorded before the first response assessment",
    ),
    "record_dose": (
        frozenset({INDUCTION}) | ON_TREATMENT,
        "protocol drugs are given during induction or randomised treatment",
    ),
    "record_assessment": (
        FOLLOWED,
        "tumour assessments need baseline lesions and a patient in follow-up",
    ),
    "complete_assessment": (
        frozenset({INDUCTION}),
        "the post-induction response assessment closes induction",
    ),
    "record_mdt_review": (
        frozenset({ASSESSED, RANDOMISED}),
        "resectability is decided by the MDT after induction (or, in arm B, on reassessment)",
    ),
    "cast_mdt_vote": (
        frozenset({ASSESSED, RANDOMISED}),
        "MDT members vote on resectability after induction (or, in arm B, on reassessment)",
    ),
    "decline_randomisation": (
        frozenset({ASSESSED}),
        "only an assessed patient can leave before randomisation",
    ),
    "randomise": (
        frozenset({ASSESSED}),
        "randomisation needs a completed assessment with a randomisable response and a "
        "resectable MDT decision",
    ),
    "switch_to_surgery": (
        frozenset({RANDOMISED}),
        "a switch to surgery is for arm-B patients on continued treatment",
    ),
    "record_surgery": (
        frozenset({RANDOMISED}),
        "surgery follows randomisation to a surgical arm, or a recorded arm-B switch",
    ),
    "record_complication": (
        frozenset({OPERATED, MAINTENANCE, TREATMENT_FAILED, OFF_STUDY}),
        "surgical complications need a recorded surgery",
    ),
    "start_maintenance": (
        frozenset({OPERATED}),
        "maintenance follows surgery",
    ),
    "record_discontinuation": (
        ON_TREATMENT,
        "treatment can be discontinued only while randomised treatment is ongoing",
    ),
    "record_death": (
        frozenset(STATES) - {DIED},
        "a patient dies once",
    ),
    "record_follow_up": (
        FOLLOWED | {SCREEN_FAILED},
        "follow-up contacts are for living patients",
    ),
}

#: Records of facts that happened while the patient was alive. CRF entry lags behind
#: events, so after a recorded death they stay allowed for event dates on or before the
#: death (checked against the state the patient was in on that date); later dates are
#: ``InvalidInput``. New treatment arrows (doses are facts, not arrows: a back-dated dose
#: is checked against the state on its date) stay refused once ``died``.
RETROSPECTIVE_RECORDS = frozenset(
    {
        "record_assessment",
        "record_follow_up",
        "record_dose",
        "record_complication",
        "record_adverse_event",
        "record_lab",
        "record_imaging",
        "record_new_therapy",
        "record_biospecimen",
    }
)


def require(arrow: str, state: str, *, patient: object = None) -> None:
    """Raise ``ProtocolViolation`` if ``arrow`` may not start from ``state``."""
    allowed, rule = ARROWS[arrow]
    if state not in allowed:
        who = f"patient {patient} " if patient is not None else ""
        raise ProtocolViolation(
            f"{arrow} refused: {who}is in state '{state}' (allowed from {sorted(allowed)}); "
            f"rule: {rule}",
            state=state,
            rule=rule,
        )
