"""Informed consent and its withdrawal, serious adverse event reports (on top of the AE
records), concomitant medication and medical history."""

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

from talentop.store.models.base import Base


class Consent(Base):
    """A signed informed-consent form: its version, date, who took it, and what it covers.

    A re-consent on a new form version is a new row; the latest row dated on or before a
    procedure is the consent in force for it (ICH E6(R3) 2.8.7: signed and dated before
    participation, by the participant and by whoever conducted the discussion).
    """

    __tablename__ = "consents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    consented_on: Mapped[dt.date] = mapped_column(Date)
    form_version: Mapped[str] = mapped_column(String(32))
    obtained_by: Mapped[str] = mapped_column(String(200))
    scope_treatment: Mapped[bool] = mapped_column(Boolean)
    scope_follow_up: Mapped[bool] = mapped_column(Boolean)
    scope_data_use: Mapped[bool] = mapped_column(Boolean)
    scope_biobank: Mapped[bool] = mapped_column(Boolean)
    witness: Mapped[str | None] = mapped_column(String(200))


class ConsentWithdrawal(Base):
    """One scope of consent withdrawn on a date (one row per scope, implied ones included)."""

    __tablename__ = "consent_withdrawals"
    __table_args__ = (UniqueConstraint("patient_id", "scope"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    withdrawn_on: Mapped[dt.date] = mapped_column(Date)
    scope: Mapped[str] = mapped_column(String(16))  # treatment|follow_up|data_use|biobank
    implied_by: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)


class SaeReport(Base):
    """The serious-adverse-event report of one AE (the AE row stays the source of term,
    grade and onset). Seriousness criteria of ICH E2A II.B; the initial report's clock runs
    from ``awareness_at`` (UTC); ``expedited_due_on`` is the regulatory clock of a SUSAR
    (ICH E2A III.B; 21 CFR 312.32(c): 7 or 15 calendar days)."""

    __tablename__ = "sae_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    awareness_on: Mapped[dt.date] = mapped_column(Date)
    adverse_event_id: Mapped[int] = mapped_column(ForeignKey("adverse_events.id"), unique=True)
    death: Mapped[bool] = mapped_column(Boolean)
    life_threatening: Mapped[bool] = mapped_column(Boolean)
    hospitalisation: Mapped[bool] = mapped_column(Boolean)
    disability: Mapped[bool] = mapped_column(Boolean)
    congenital_anomaly: Mapped[bool] = mapped_column(Boolean)
    important_medical_event: Mapped[bool] = mapped_column(Boolean)
    awareness_at: Mapped[dt.datetime] = mapped_column(DateTime)
    reported_at: Mapped[dt.datetime] = mapped_column(DateTime)
    due_at: Mapped[dt.datetime] = mapped_column(DateTime)
    outcome: Mapped[str] = mapped_column(String(32))
    narrative: Mapped[str | None] = mapped_column(Text)
    rsi_version: Mapped[str] = mapped_column(String(64))
    susar: Mapped[bool] = mapped_column(Boolean)
    expedited_due_on: Mapped[dt.date | None] = mapped_column(Date)
    expedited_reported_on: Mapped[dt.date | None] = mapped_column(Date)


class SaeCausality(Base):
    """The investigator's causality for one product of one SAE, and its expectedness
    against the protocol's reference safety information."""

    __tablename__ = "sae_causality"
    __table_args__ = (UniqueConstraint("sae_id", "product"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sae_id: Mapped[int] = mapped_column(ForeignKey("sae_reports.id"), index=True)
    product: Mapped[str] = mapped_column(String(64))
    relatedness: Mapped[str] = mapped_column(String(16))
    related: Mapped[bool] = mapped_column(Boolean)
    expected: Mapped[bool] = mapped_column(Boolean)


class SaeFollowUp(Base):
    """A follow-up report: new information, when the site learnt it and when it reported."""

    __tablename__ = "sae_follow_ups"
    __table_args__ = (UniqueConstraint("sae_id", "sequence"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sae_id: Mapped[int] = mapped_column(ForeignKey("sae_reports.id"), index=True)
    received_on: Mapped[dt.date] = mapped_column(Date)
    sequence: Mapped[int] = mapped_column(Integer)
    info_received_at: Mapped[dt.datetime] = mapped_column(DateTime)
    reported_at: Mapped[dt.datetime] = mapped_column(DateTime)
    due_at: Mapped[dt.datetime] = mapped_column(DateTime)
    description: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(32))


class ConcomitantMedication(Base):
    """A medication taken besides the protocol drugs; ``drug_class`` from the protocol's
    medication rules (matched on the name, or given)."""

    __tablename__ = "concomitant_medications"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    start_date: Mapped[dt.date] = mapped_column(Date)
    stop_date: Mapped[dt.date | None] = mapped_column(Date)
    ongoing: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str] = mapped_column(String(200))
    drug_class: Mapped[str | None] = mapped_column(String(64))
    indication: Mapped[str] = mapped_column(String(200))
    dose_value: Mapped[float | None] = mapped_column(Float)
    dose_unit: Mapped[str | None] = mapped_column(String(32))
    frequency: Mapped[str | None] = mapped_column(String(64))


class MedicalHistory(Base):
    """A prior or ongoing condition recorded at screening."""

    __tablename__ = "medical_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    recorded_on: Mapped[dt.date] = mapped_column(Date)
    condition: Mapped[str] = mapped_column(String(200))
    onset_year: Mapped[int | None] = mapped_column(Integer)
    ongoing: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(Text)
