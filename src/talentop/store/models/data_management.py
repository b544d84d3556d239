"""Clean data, provably: corrections with reasons, edit-check findings, data queries and
their history, source-data verification, locks, electronic signatures, stratification errors.

Each row is written through ``talentop.store.writes`` (audited, hash-chained, reconciled by
``audit verify``), so a correction, a query, a lock or a signature edited behind the
services' back is detected like any clinical record.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from talentop.store.models.base import Base, utcnow


class Correction(Base):
    """One corrected field of one record: old and new value, why, who, when (UTC)."""

    __tablename__ = "corrections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(64))
    field: Mapped[str] = mapped_column(String(128))
    old_json: Mapped[str | None] = mapped_column(Text)
    new_json: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    corrected_by: Mapped[str] = mapped_column(String(64))
    corrected_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    #: What the correction re-derived (responses, eligibility, scores, ADTTE), as JSON.
    rederived_json: Mapped[str | None] = mapped_column(Text)
    query_id: Mapped[int | None] = mapped_column(ForeignKey("data_queries.id"))


class DataQuery(Base):
    """A question on one field of one record: open -> answered -> closed (re-opened)."""

    __tablename__ = "data_queries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(64))
    field: Mapped[str] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))  # manual | edit_check
    check_id: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), index=True)  # open | answered | closed
    raised_by: Mapped[str] = mapped_column(String(64))
    raised_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class QueryEvent(Base):
    """One step of a query's history: raise, answer (maybe with a correction), close, reopen."""

    __tablename__ = "query_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    query_id: Mapped[int] = mapped_column(ForeignKey("data_queries.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    correction_id: Mapped[int | None] = mapped_column(ForeignKey("corrections.id"))


class CheckFinding(Base):
    """An edit check that fired on a record (protocol ``edit_checks``): acknowledged with the
    user's comment at save time, or turned into a query."""

    __tablename__ = "check_findings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    check_id: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(64))
    field: Mapped[str] = mapped_column(String(128))
    message: Mapped[str] = mapped_column(Text)
    comment: Mapped[str | None] = mapped_column(Text)
    query_id: Mapped[int | None] = mapped_column(ForeignKey("data_queries.id"))
    found_by: Mapped[str] = mapped_column(String(64))
    found_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Verification(Base):
    """Source-data verification of one form (record) by a monitor, bound to the content
    hash of the record as verified; cleared by a later edit."""

    __tablename__ = "verifications"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(64))
    verified_by: Mapped[str] = mapped_column(String(64))
    verified_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    cleared_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    cleared_reason: Mapped[str | None] = mapped_column(Text)


class RecordLock(Base):
    """A lock on one form, one patient or the whole database (freeze before an analysis)."""

    __tablename__ = "record_locks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))  # record | patient | database
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    entity: Mapped[str | None] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    locked_by: Mapped[str] = mapped_column(String(64))
    locked_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    unlocked_by: Mapped[str | None] = mapped_column(String(64))
    unlocked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    unlock_reason: Mapped[str | None] = mapped_column(Text)


class Signature(Base):
    """An electronic signature (21 CFR 11.50, 11.70, 11.200): the signer's printed name, the
    UTC time, the meaning, and the SHA-256 of the signed content it is bound to."""

    __tablename__ = "signatures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    target: Mapped[str] = mapped_column(String(64))  # mdt_vote | case_report | interim
    target_id: Mapped[str] = mapped_column(String(128))
    milestone: Mapped[str | None] = mapped_column(String(32))
    meaning: Mapped[str] = mapped_column(String(16))  # entered | reviewed | approved
    signer: Mapped[str] = mapped_column(String(64))
    printed_name: Mapped[str] = mapped_column(String(200))
    signed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    content_hash: Mapped[str] = mapped_column(String(64))
    content_json: Mapped[str] = mapped_column(Text)


class StratificationError(Base):
    """A corrected stratification value that differs from the one the patient was randomised
    with: the allocation stands (ITT, analysis as randomised); listed for the statistician."""

    __tablename__ = "stratification_errors"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    randomisation_id: Mapped[int] = mapped_column(ForeignKey("randomisations.id"))
    stratum: Mapped[str] = mapped_column(String(64))
    level_as_randomised: Mapped[str] = mapped_column(String(64))
    level_corrected: Mapped[str] = mapped_column(String(64))
    correction_id: Mapped[int] = mapped_column(ForeignKey("corrections.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
