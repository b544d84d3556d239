"""Resectability assessments (structured criteria, baseline class) and local therapies (TACE...)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from talentop.store.models.base import Base


class ResectabilityAssessment(Base):
    """A structured resectability assessment: the findings, the verdict and (baseline) the class."""

    __tablename__ = "resectability_assessments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    assessed_on: Mapped[dt.date] = mapped_column(Date)
    context: Mapped[str] = mapped_column(String(16))  # baseline | reassessment
    resectability_class: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # resectable | not_resectable | incomplete
    reason: Mapped[str | None] = mapped_column(Text)
    criteria_json: Mapped[str] = mapped_column(Text)  # the findings as given


class LocalTherapy(Base):
    """A local therapy procedure (TACE, radiotherapy...) and the response of its targets."""

    __tablename__ = "local_therapies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    therapy: Mapped[str] = mapped_column(String(32))
    performed_on: Mapped[dt.date] = mapped_column(Date)
    technique: Mapped[str | None] = mapped_column(String(32))
    target_lesions_json: Mapped[str] = mapped_column(Text)  # lesion codes treated
    response: Mapped[str | None] = mapped_column(String(8))  # mRECIST of the treated lesions
    response_on: Mapped[dt.date | None] = mapped_column(Date)
