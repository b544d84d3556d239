"""The pre-specified statistical analysis plan, published figures and design scenarios, as data.

Every assumption carries its source, or the word SETTING when no source gives it (a choice
made in the protocol file, to be changed freely). The planned events are derived from these
assumptions (``talentop.design.plan``), never from an observed result: planning the interim
on the observed hazard ratio would make the monitoring circular.
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

T = TypeVar("T")

#: The source word of a value no public source gives.
SETTING = "SETTING"


class Sourced(BaseModel, Generic[T]):
    """A value and where it comes from (a citation, or SETTING)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: T
    source: str = Field(min_length=1)

    @property
    def is_setting(self) -> bool:
        """True when no public source gives the value."""
        return self.source.strip().upper().startswith(SETTING)


def setting(value: Any) -> dict[str, Any]:
    """Defaults written as data: ``{"value": value, "source": "SETTING"}``."""
    return {"value": value, "source": SETTING}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Sap(_Model):
    """The primary analysis as planned before any data: what the events and bounds come from.

    The planned hazard ratio is the ratio of the planned medians (exponential survival:
    HR = median_control / median_experimental). ``alpha`` is the total type I error over
    ``sided`` tails; ``looks`` are the information fractions of the analyses (ending at 1).
    """

    primary_endpoint: str = Field(min_length=1)
    control_median_months: Sourced[float]
    experimental_median_months: Sourced[float]
    power: Sourced[float]
    alpha: Sourced[float]
    sided: Sourced[Literal[1, 2]]
    looks: Sourced[list[float]]
    spending: Sourced[Literal["obf", "pocock"]]
    target_patients: Sourced[int]
    accrual_months: Sourced[float]
    min_follow_up_months: Sourced[float]
    notes: str = ""

    @model_validator(mode="after")
    def _valid(self) -> Sap:
        problems = []
        for name in ("control_median_months", "experimental_median_months", "accrual_months"):
            if not getattr(self, name).value > 0:
                problems.append(f"{name}.value: expected months > 0")
        if self.min_follow_up_months.value < 0:
            problems.append("min_follow_up_months.value: expected months >= 0")
        if self.control_median_months.value == self.experimental_median_months.value:
            problems.append("experimental_median_months.value: equal to the control median (HR 1)")
        if not 0 < self.power.value < 1:
            problems.append("power.value: expected 0 < power < 1")
        if not 0 < self.alpha.value < 0.5:
            problems.append("alpha.value: expected 0 < alpha < 0.5")
        looks = self.looks.value
        if (
            not looks
            or looks[-1] != 1
            or any(not 0 < f <= 1 for f in looks)
            or any(b <= a for a, b in zip(looks, looks[1:], strict=False))
        ):
            problems.append(f"looks.value={looks}: expected increasing fractions ending at 1")
        if self.target_patients.value < 2:
            problems.append("target_patients.value: expected at least 2 patients")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def planned_hazard_ratio(self) -> float:
        """Experimental vs control, from the planned medians (exponential)."""
        return self.control_median_months.value / self.experimental_median_months.value


class PublishedFigure(_Model):
    """One published result of the trial (a calibration target), with its source."""

    value: float | int | str | list[float]
    source: str = Field(min_length=1)
    label: str = ""


class Scenario(_Model):
    """A design question answered by simulation; unset values come from the SAP.

    ``control_hazard_multiplier`` scales the control arm's hazard (e.g. a pathway that adds
    local therapy); ``switching_rate_per_month`` lets event-free control patients switch to
    the experimental treatment (dynamic reassessment; after the switch they follow the
    experimental hazard, surgical-risk window included); ``final_analysis_month`` analyses
    at a calendar month instead of at the planned events (power of a given size).
    """

    id: str = Field(min_length=1, pattern=r"^[a-z0-9_]+$")
    title: str = Field(min_length=1)
    description: str = ""
    endpoint: str = Field(min_length=1)
    hazard_ratio: Sourced[float] | None = None
    control_median_months: Sourced[float] | None = None
    n_patients: Sourced[int] | None = None
    switching_rate_per_month: Sourced[float] | None = None
    control_hazard_multiplier: Sourced[float] | None = None
    final_analysis_month: Sourced[float] | None = None

    @field_validator("hazard_ratio", "control_median_months", "control_hazard_multiplier")
    @classmethod
    def _positive(cls, value: Sourced[float] | None) -> Sourced[float] | None:
        if value is not None and not value.value > 0:
            raise ValueError(f"expected a value > 0, got {value.value}")
        return value


def scenario_values(scenario: Scenario, sap: Sap) -> dict[str, Any]:
    """A scenario's values with the SAP's where the scenario sets nothing (plain numbers)."""

    def pick(value: Sourced[Any] | None, default: Any) -> Any:
        return default if value is None else value.value

    return {
        "id": scenario.id,
        "title": scenario.title,
        "endpoint": scenario.endpoint,
        "hazard_ratio": pick(scenario.hazard_ratio, sap.planned_hazard_ratio),
        "control_median_months": pick(
            scenario.control_median_months, sap.control_median_months.value
        ),
        "n_patients": pick(scenario.n_patients, sap.target_patients.value),
        "accrual_months": sap.accrual_months.value,
        "min_follow_up_months": sap.min_follow_up_months.value,
        "alpha": sap.alpha.value,
        "sided": sap.sided.value,
        "power": sap.power.value,
        "looks": tuple(sap.looks.value),
        "spending": sap.spending.value,
        "switching_rate_per_month": pick(scenario.switching_rate_per_month, None),
        "control_hazard_multiplier": pick(scenario.control_hazard_multiplier, 1.0),
        "final_analysis_month": pick(scenario.final_analysis_month, None),
    }
