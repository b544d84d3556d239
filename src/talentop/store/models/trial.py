"""MDT reviews, randomisation, surgery, safety, endpoints events, deviations, specimens."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from talentop.store.models.base import Base, utcnow


class MdtReview(Base):
    """A multidisciplinary team decision on resectability, with the rule that produced it."""

    __tablename__ = "mdt_reviews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    review_date: Mapped[dt.date] = mapped_column(Date)
    purpose: Mapped[str] = mapped_column(String(16))  # randomisation | switch
    rule: Mapped[str] = mapped_column(String(32))
    threshold: Mapped[float | None] = mapped_column(Float)
    votes_resectable: Mapped[int] = mapped_column(Integer)
    votes_total: Mapped[int] = mapped_column(Integer)
    resectable: Mapped[bool] = mapped_column(Boolean)


class MdtVote(Base):
    """One member's view: resectable yes/no and why."""

    __tablename__ = "mdt_votes"
    __table_args__ = (UniqueConstraint("review_id", "member"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("mdt_reviews.id"))
    member: Mapped[str] = mapped_column(String(64))
    specialty: Mapped[str] = mapped_column(String(64))
    resectable: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    #: The member's structured criteria (``clinical.resectability.Findings``), JSON; None: none given.
    criteria_json: Mapped[str | None] = mapped_column(Text)


class Randomisation(Base):
    """The one allocation of a patient: stratum, slot within the stratum, arm, who, when."""

    __tablename__ = "randomisations"
    __table_args__ = (UniqueConstraint("stratum_key", "slot"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    scheme: Mapped[str] = mapped_column(String(32))
    stratum_key: Mapped[str] = mapped_column(String(200))
    levels_json: Mapped[str] = mapped_column(Text)
    slot: Mapped[int] = mapped_column(Integer)
    arm: Mapped[str] = mapped_column(String(16))
    randomised_on: Mapped[dt.date] = mapped_column(Date)
    randomised_by: Mapped[str] = mapped_column(String(64))
    randomised_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    #: The randomisation key whose list gave the arm (bound into the allocation's audit entry).
    key_id: Mapped[str | None] = mapped_column(String(32))


class StratumCounter(Base):
    """Next free slot of a stratum; the row locked while allocating.

    ``key_id`` is the randomisation key whose list the stratum is in, from slot
    ``key_start_slot`` on (that list's slot 0): after a key rotation a stratum finishes its
    current block with the old key and starts its next block on the new one.
    """

    __tablename__ = "stratum_counters"
    stratum_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    next_slot: Mapped[int] = mapped_column(Integer, default=0)
    key_id: Mapped[str | None] = mapped_column(String(32))
    key_start_slot: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class RandomisationKey(Base):
    """A randomisation key the trial knows: its identifier and a keyed fingerprint
    (HMAC-SHA256 under the key). The key itself is outside the database
    (``talentop.store.keys``); the newest row is the key new blocks use."""

    __tablename__ = "randomisation_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Surgery(Base):
    """A resection (arm A, or arm B after a recorded switch)."""

    __tablename__ = "surgeries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    surgery_date: Mapped[dt.date] = mapped_column(Date)
    procedure: Mapped[str] = mapped_column(String(128))
    margin: Mapped[str] = mapped_column(String(4))  # R0 | R1 | R2
    blood_loss_ml: Mapped[float] = mapped_column(Float)
    days_after_bevacizumab: Mapped[int | None] = mapped_column(Integer)
    after_switch: Mapped[bool] = mapped_column(Boolean, default=False)
    override_reason: Mapped[str | None] = mapped_column(Text)


class Complication(Base):
    """A surgical complication graded by Clavien-Dindo (I, II, IIIa, IIIb, IVa, IVb, V)."""

    __tablename__ = "complications"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    surgery_id: Mapped[int] = mapped_column(ForeignKey("surgeries.id"), index=True)
    onset_date: Mapped[dt.date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text)
    clavien_dindo: Mapped[str] = mapped_column(String(4))
    #: liver_failure | bleeding | wound | bile_leak | infection | other (None: not categorised)
    category: Mapped[str | None] = mapped_column(String(32))
    isgls_grade: Mapped[str | None] = mapped_column(String(1))  # PHLF grade A/B/C (ISGLS 2011)


class AdverseEvent(Base):
    """An adverse event: CTCAE term, grade 1-5, attribution."""

    __tablename__ = "adverse_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    onset_date: Mapped[dt.date] = mapped_column(Date)
    term: Mapped[str] = mapped_column(String(128))
    grade: Mapped[int] = mapped_column(Integer)
    attribution: Mapped[str] = mapped_column(String(32))
    serious: Mapped[bool] = mapped_column(Boolean, default=False)


class Discontinuation(Base):
    """End of protocol treatment, with a reason from the protocol vocabulary."""

    __tablename__ = "discontinuations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    stop_date: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(64))
    is_failure: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(Text)


class Death(Base):
    """A patient's death (at most one)."""

    __tablename__ = "deaths"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), unique=True)
    death_date: Mapped[dt.date] = mapped_column(Date)
    cause: Mapped[str | None] = mapped_column(Text)


class FollowUpContact(Base):
    """A contact confirming the patient alive (or recording loss to follow-up)."""

    __tablename__ = "follow_up_contacts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    contact_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(32))  # alive | lost_to_follow_up
    method: Mapped[str | None] = mapped_column(String(32))


class NewTherapy(Base):
    """Start of a new (non-protocol) anticancer therapy: censors PFS and ends TTF follow-up."""

    __tablename__ = "new_therapies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    start_date: Mapped[dt.date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text)


class ProtocolDeviation(Base):
    """A departure from the protocol, with who allowed it and why."""

    __tablename__ = "protocol_deviations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    deviation_date: Mapped[dt.date] = mapped_column(Date)
    category: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text)
    # Added in 0007: hand-entered deviations carry their classification, CAPA and who
    # decided; rows the services raise (source "service") take their category's default.
    classification: Mapped[str | None] = mapped_column(String(8))  # major | minor
    corrective_action: Mapped[str | None] = mapped_column(Text)
    preventive_action: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(16), default="service", server_default="service")


class Biospecimen(Base):
    """Tissue or blood from surgery, with biomarker fields for response studies."""

    __tablename__ = "biospecimens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    surgery_id: Mapped[int | None] = mapped_column(ForeignKey("surgeries.id"))
    specimen_type: Mapped[str] = mapped_column(String(32))
    collected_on: Mapped[dt.date] = mapped_column(Date)
    storage_code: Mapped[str | None] = mapped_column(String(64))
    pathological_necrosis_pct: Mapped[float | None] = mapped_column(Float)
    pd_l1_cps: Mapped[float | None] = mapped_column(Float)
    biomarkers_json: Mapped[str | None] = mapped_column(Text)
    # Added in 0007: set when the biobank consent is withdrawn (the sample is to be destroyed).
    destruction_requested_on: Mapped[dt.date | None] = mapped_column(Date)


class ResectabilityFlag(Base):
    """Arm-B dynamic reassessment: response and liver criteria suggest resectability."""

    __tablename__ = "resectability_flags"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    flagged_on: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)


class SurgerySwitch(Base):
    """An arm-B patient switched to surgery after an MDT review: its own event, not arm A."""

    __tablename__ = "surgery_switches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), unique=True)
    switch_date: Mapped[dt.date] = mapped_column(Date)
    mdt_review_id: Mapped[int] = mapped_column(ForeignKey("mdt_reviews.id"))
    reason: Mapped[str] = mapped_column(Text)
