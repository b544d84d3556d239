"""Screening, labs, imaging, lesions and measurements, drug administrations, responses."""

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


class Screening(Base):
    """One eligibility evaluation: the record as given and the protocol it was judged by."""

    __tablename__ = "screenings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    screened_on: Mapped[dt.date] = mapped_column(Date)
    protocol_id: Mapped[str] = mapped_column(String(64))
    protocol_version: Mapped[str | None] = mapped_column(String(32))
    record_json: Mapped[str] = mapped_column(Text)
    verdict: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ScreeningCriterion(Base):
    """The verdict on one eligibility criterion of one screening."""

    __tablename__ = "screening_criteria"
    __table_args__ = (UniqueConstraint("screening_id", "criterion_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    screening_id: Mapped[int] = mapped_column(ForeignKey("screenings.id"))
    criterion_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    value_json: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)


class LabResult(Base):
    """One laboratory value with its unit (the unit is data, never implied)."""

    __tablename__ = "labs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    sampled_on: Mapped[dt.date] = mapped_column(Date)
    test: Mapped[str] = mapped_column(String(64))
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(32))
    upper_limit_normal: Mapped[float | None] = mapped_column(Float)


class ImagingStudy(Base):
    """A CT / MRI study (liver volumetry and vascular invasion findings)."""

    __tablename__ = "imaging"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    study_date: Mapped[dt.date] = mapped_column(Date)
    modality: Mapped[str] = mapped_column(String(16))
    vp_grade: Mapped[str | None] = mapped_column(String(8))
    vv_grade: Mapped[str | None] = mapped_column(String(8))
    future_liver_remnant_ml: Mapped[float | None] = mapped_column(Float)
    total_functional_liver_volume_ml: Mapped[float | None] = mapped_column(Float)
    findings: Mapped[str | None] = mapped_column(Text)


class Lesion(Base):
    """A baseline lesion (target or non-target), with its RECIST and mRECIST baseline sizes."""

    __tablename__ = "lesions"
    __table_args__ = (UniqueConstraint("patient_id", "code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    code: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))  # "target" | "non_target"
    organ: Mapped[str] = mapped_column(String(32))
    nodal: Mapped[bool] = mapped_column(Boolean, default=False)
    baseline_date: Mapped[dt.date] = mapped_column(Date)
    diameter_mm: Mapped[float | None] = mapped_column(Float)
    viable_diameter_mm: Mapped[float | None] = mapped_column(Float)


class AssessmentVisit(Base):
    """A tumour assessment visit (one date; new-lesion status for each criteria)."""

    __tablename__ = "assessment_visits"
    __table_args__ = (UniqueConstraint("patient_id", "visit_date"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    visit_date: Mapped[dt.date] = mapped_column(Date)
    new_lesions: Mapped[str] = mapped_column(String(16))
    new_lesions_mrecist: Mapped[str] = mapped_column(String(16))


class LesionMeasurement(Base):
    """A lesion at a visit: diameter (mm) or status token, viable diameter for mRECIST."""

    __tablename__ = "lesion_measurements"
    __table_args__ = (UniqueConstraint("visit_id", "lesion_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("assessment_visits.id"))
    lesion_id: Mapped[int] = mapped_column(ForeignKey("lesions.id"))
    # RECIST engine value: a number (mm) in diameter_mm, or a token in status
    # ("too_small" | "absent" | "not_evaluated"; non-target: absent/present/progression).
    diameter_mm: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str | None] = mapped_column(String(16))
    viable_diameter_mm: Mapped[float | None] = mapped_column(Float)
    viable_status: Mapped[str | None] = mapped_column(String(16))


class ResponseAssessment(Base):
    """The RECIST 1.1 or mRECIST result over all visits up to one visit, with engine version."""

    __tablename__ = "response_assessments"
    __table_args__ = (UniqueConstraint("visit_id", "criteria"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("assessment_visits.id"))
    criteria: Mapped[str] = mapped_column(String(16))
    engine_version: Mapped[str] = mapped_column(String(32))
    overall_response: Mapped[str | None] = mapped_column(String(16))
    best_overall_response: Mapped[str | None] = mapped_column(String(16))
    depth_of_response_pct: Mapped[float | None] = mapped_column(Float)
    progression_date: Mapped[dt.date | None] = mapped_column(Date)
    result_json: Mapped[str] = mapped_column(Text)


class DrugAdministration(Base):
    """One drug given in one cycle: the protocol dose, the dose given, delay and deviation."""

    __tablename__ = "drug_administrations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    phase: Mapped[str] = mapped_column(String(16))  # induction | continued | maintenance
    cycle: Mapped[int] = mapped_column(Integer)
    drug: Mapped[str] = mapped_column(String(64))
    given_on: Mapped[dt.date] = mapped_column(Date)
    weight_kg: Mapped[float | None] = mapped_column(Float)
    dose_computed_mg: Mapped[float | None] = mapped_column(Float)
    dose_given_mg: Mapped[float] = mapped_column(Float)
    delay_days: Mapped[int] = mapped_column(Integer, default=0)
    deviation: Mapped[str | None] = mapped_column(Text)
