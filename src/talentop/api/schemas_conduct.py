"""Request bodies for consent, SAE reports, deviations and medication (shape only; the
services check the meaning: form versions, products, the protocol's vocabularies)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from talentop.api.schemas import Body, Code, Name, Text

Scope = Literal["treatment", "follow_up", "data_use", "biobank"]
Criterion = Literal[
    "death",
    "life_threatening",
    "hospitalisation",
    "disability",
    "congenital_anomaly",
    "important_medical_event",
]
Outcome = Literal[
    "recovered", "recovering", "not_recovered", "recovered_with_sequelae", "fatal", "unknown"
]
Relatedness = Literal["unrelated", "unlikely", "possible", "probable", "definite"]


class ConsentIn(Body):
    consented_on: dt.date
    form_version: Code = Field(examples=["1.0"])
    obtained_by: Name = Field(examples=["Dr Chen (investigator)"])
    scopes: list[Scope] = Field(
        min_length=1, max_length=4, examples=[["treatment", "follow_up", "data_use"]]
    )
    witness: Name | None = None


class WithdrawalIn(Body):
    withdrawn_on: dt.date
    scopes: list[Scope] = Field(min_length=1, max_length=4, examples=[["biobank"]])
    reason: Text | None = None


class SaeReportIn(Body):
    adverse_event_id: int = Field(ge=1, le=2**31 - 1)
    criteria: list[Criterion] = Field(min_length=1, max_length=6, examples=[["hospitalisation"]])
    awareness_at: dt.datetime = Field(
        description="When the site became aware (ISO 8601; give an offset, else UTC)."
    )
    causality: dict[Code, Relatedness] = Field(
        max_length=20, examples=[{"atezolizumab": "unlikely", "bevacizumab": "probable"}]
    )
    outcome: Outcome = "not_recovered"
    narrative: Text | None = None
    reported_at: dt.datetime | None = Field(
        None, description="When the report reached the sponsor (default: now)."
    )


class SaeFollowUpIn(Body):
    info_received_at: dt.datetime
    description: Text
    reported_at: dt.datetime | None = None
    outcome: Outcome | None = None
    grade: int | None = Field(None, ge=1, le=5)
    criteria: list[Criterion] | None = Field(None, max_length=6)
    causality: dict[Code, Relatedness] | None = Field(None, max_length=20)


class ExpeditedIn(Body):
    reported_on: dt.date


class ConmedIn(Body):
    start_date: dt.date
    name: Name = Field(examples=["Entecavir"])
    indication: Name = Field(examples=["chronic hepatitis B"])
    dose_value: float | None = Field(None, gt=0, le=1e6)
    dose_unit: Code | None = Field(None, examples=["mg"])
    frequency: Code | None = Field(None, examples=["once daily"])
    stop_date: dt.date | None = None
    ongoing: bool | None = None
    drug_class: Code | None = None


class HistoryIn(Body):
    recorded_on: dt.date
    condition: Name = Field(examples=["Chronic hepatitis B"])
    onset_year: int | None = Field(None, ge=1900, le=2200)
    ongoing: bool = False
    note: Text | None = None
