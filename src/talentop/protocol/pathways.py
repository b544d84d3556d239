"""Protocol settings for the paths the experts asked about: resectability, reassessment, the
arm-B switch, local therapy, endpoints beyond TTF, pathology and surgical safety.

All of it is data read from the protocol file: the code applies it the same way for every
trial (TALENTOP, TALENTACE, ...). Sources are given per value (``Sourced``) or SETTING.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from talentop.clinical.fields import VP_GRADES, VV_GRADES
from talentop.protocol.plan import Sourced, setting

RESPONSE_WORDS = ("CR", "PR", "SD", "non-CR/non-PD", "PD", "NE")
#: How an arm-B switch to surgery enters TTF (ICH E9(R1) addendum, 2019, section A.3.2
#: intercurrent-event strategies): ``ignore`` = treatment policy (follow-up for failure goes
#: on), ``censor`` = hypothetical (as if no switch: censored at the switch), ``event`` =
#: composite (the switch ends "treatment" and counts as a failure).
SWITCH_HANDLINGS = ("ignore", "censor", "event")
LOCAL_THERAPIES = ("tace", "radiotherapy", "ablation", "hepatic_arterial_infusion")
TTF_EFFECTS = ("continue", "failure", "censor")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Resectability(_Model):
    """Structured resectability criteria (the MDT's checklist and the reassessment trigger).

    A patient is technically resectable when an R0 resection is judged feasible, the future
    liver remnant reaches ``min_remnant_liver_pct`` of the functional liver volume, and the
    tumour thrombus extent is one the protocol resects; liver function must be in the
    Child-Pugh grades and at most ``max_albi_grade``.
    """

    min_remnant_liver_pct: Sourced[float]
    resectable_vp_grades: Sourced[list[str]]
    resectable_vv_grades: Sourced[list[str]]
    child_pugh_grades: Sourced[list[Literal["A", "B", "C"]]]
    max_albi_grade: Sourced[Literal[1, 2, 3]]

    @model_validator(mode="after")
    def _grades_known(self) -> Resectability:
        problems = []
        if not 0 < self.min_remnant_liver_pct.value <= 100:
            problems.append("min_remnant_liver_pct.value: expected 0 < % <= 100")
        for name, known in (
            ("resectable_vp_grades", VP_GRADES),
            ("resectable_vv_grades", VV_GRADES),
        ):
            unknown = [g for g in getattr(self, name).value if g not in known]
            if unknown:
                problems.append(f"{name}.value: {unknown} not in {list(known)}")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class Reassessment(_Model):
    """Dynamic reassessment in the non-surgical arm: when a scan flags the patient for an MDT.

    A scan whose overall response is in ``responses`` flags the patient only if every
    structured resectability criterion is met on data no older than ``max_data_age_days``
    (labs and volumetry); missing or stale data block the flag (they never pass it).
    ``operable_within_months``: the window of the "operable within a year" conversion figure.
    """

    responses: Sourced[list[str]]
    max_data_age_days: Sourced[int]
    operable_within_months: Sourced[float]

    @field_validator("responses")
    @classmethod
    def _known_responses(cls, value: Sourced[list[str]]) -> Sourced[list[str]]:
        unknown = [r for r in value.value if r not in RESPONSE_WORDS]
        if unknown or not value.value:
            raise ValueError(f"{unknown or 'empty list'}: expected responses from {RESPONSE_WORDS}")
        return value


class SwitchHandling(_Model):
    """How an arm-B switch to surgery enters TTF: the primary reading and the sensitivities."""

    primary: Literal["ignore", "censor", "event"] = "ignore"
    sensitivity: list[Literal["ignore", "censor", "event"]] = Field(
        default_factory=lambda: ["censor", "event"]
    )
    rationale: str = ""

    @model_validator(mode="after")
    def _distinct(self) -> SwitchHandling:
        if self.primary in self.sensitivity or len(set(self.sensitivity)) != len(self.sensitivity):
            raise ValueError(
                f"sensitivity={self.sensitivity}: expected readings other than the primary "
                f"({self.primary}), each once"
            )
        return self


class LocalTherapy(_Model):
    """Local therapy (TACE, radiotherapy...) as a recorded path, and what it does to TTF.

    ``when``: ``before_surgery`` (a conversion pathway: before the resection, or before an
    arm-B switch) or ``on_study`` (on demand at any time on study, e.g. TALENTACE).
    ``ttf_effect``: ``continue`` (part of the planned path: neither fails nor censors TTF),
    ``failure`` or ``censor``.
    """

    types: list[Literal["tace", "radiotherapy", "ablation", "hepatic_arterial_infusion"]] = Field(
        min_length=1
    )
    tace_techniques: list[str] = Field(default_factory=lambda: ["cTACE", "DEB-TACE"])
    when: Literal["before_surgery", "on_study"]
    ttf_effect: Sourced[Literal["continue", "failure", "censor"]]


class TacePfs(_Model):
    """TACE progression-free survival: first of an event reason, TACE refractoriness, death.

    ``event_reasons``: discontinuation reasons that are events (untreatable progression, TACE
    failure/refractoriness). Refractoriness is also derived from the recorded post-TACE
    responses: ``refractory_after`` consecutive responses in ``insufficient_responses``.
    """

    definition: str = Field(min_length=1)
    source: str = Field(min_length=1)
    event_reasons: list[str] = Field(min_length=1)
    refractory_after: Sourced[int]
    insufficient_responses: Sourced[list[Literal["CR", "PR", "SD", "PD"]]]


class Endpoints(_Model):
    """Which derived endpoint is primary (TTF, or TACEPFS with its definition)."""

    primary: Literal["TTF", "TACEPFS"] = "TTF"
    tace_pfs: TacePfs | None = None

    @model_validator(mode="after")
    def _definition_given(self) -> Endpoints:
        if self.primary == "TACEPFS" and self.tace_pfs is None:
            raise ValueError("primary TACEPFS needs endpoints.tace_pfs (its definition)")
        return self


class Pathology(_Model):
    """Pathological response of the resected specimen, from tumour necrosis %."""

    complete_response_necrosis_pct: Sourced[float] = Field(
        default_factory=lambda: Sourced[float](**setting(100.0))
    )
    major_response_min_necrosis_pct: Sourced[float] = Field(
        default_factory=lambda: Sourced[float](**setting(90.0))
    )

    @model_validator(mode="after")
    def _ordered(self) -> Pathology:
        major, complete = (
            self.major_response_min_necrosis_pct.value,
            self.complete_response_necrosis_pct.value,
        )
        if not 0 < major <= complete <= 100:
            raise ValueError(f"expected 0 < major ({major}) <= complete ({complete}) <= 100")
        return self


class SurgicalSafety(_Model):
    """Surgical safety after bevacizumab: mortality window and days-since-dose bands."""

    mortality_days: Sourced[int] = Field(default_factory=lambda: Sourced[int](**setting(90)))
    bevacizumab_interval_bands_days: Sourced[list[int]] = Field(
        default_factory=lambda: Sourced[list[int]](**setting([28, 42, 56]))
    )

    @field_validator("bevacizumab_interval_bands_days")
    @classmethod
    def _increasing(cls, value: Sourced[list[int]]) -> Sourced[list[int]]:
        edges = value.value
        if not edges or any(b <= a for a, b in zip(edges, edges[1:], strict=False)) or edges[0] < 1:
            raise ValueError(f"{edges}: expected increasing positive day edges")
        return value
