"""The simulated trial: arms, piecewise-exponential hazards, accrual, dropout, looks.

Arm 0 is the experimental arm (e.g. TALENTOP arm A, resection), arm 1 the control (arm B,
continued atezo/bev). Hazards are per month; a piecewise hazard is a list of
``(start_month, hazard_per_month)`` with the first start at 0 (time since randomisation,
or since the switch for patients who switch to surgery).
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from talentop.errors import InvalidInput

Piece = tuple[float, float]


class Arm(BaseModel):
    """One arm: allocation weight and hazard (pieces, or a median for an exponential)."""

    model_config = ConfigDict(frozen=True)

    name: str
    allocation: float = Field(1.0, gt=0, description="relative allocation weight (1:1 -> 1 and 1)")
    hazards: list[Piece] | None = None
    median_months: float | None = Field(None, gt=0)
    #: fraction of this arm that follows the OTHER arm's hazards (e.g. 18/101 not operated)
    noncompliance: float = Field(0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _one_hazard(self) -> Arm:
        if (self.hazards is None) == (self.median_months is None):
            raise ValueError(f"arm {self.name}: give exactly one of hazards, median_months")
        if self.hazards is not None:
            starts = [s for s, _ in self.hazards]
            if (
                not starts
                or starts[0] != 0
                or any(b <= a for a, b in zip(starts, starts[1:], strict=False))
            ):
                raise ValueError(f"arm {self.name}: hazard starts must begin at 0 and increase")
            if any(h < 0 for _, h in self.hazards) or self.hazards[-1][1] <= 0:
                raise ValueError(f"arm {self.name}: hazards must be >= 0, the last one > 0")
        return self

    def pieces(self) -> tuple[np.ndarray, np.ndarray]:
        """(starts, hazards) arrays of the piecewise-exponential hazard."""
        if self.hazards is not None:
            starts, rates = zip(*self.hazards, strict=True)
            return np.array(starts, dtype=float), np.array(rates, dtype=float)
        return np.array([0.0]), np.array([math.log(2) / self.median_months])


class Accrual(BaseModel):
    """Enrolment: a rate per month reached after a linear ramp-up."""

    model_config = ConfigDict(frozen=True)

    rate_per_month: float = Field(gt=0)
    ramp_up_months: float = Field(0.0, ge=0)

    def times(self, n: int) -> np.ndarray:
        """Calendar month of entry of patients 1..n (deterministic, at the expected arrivals)."""
        return self.entry_time(np.arange(1, n + 1) - 0.5)

    def entry_time(self, count: np.ndarray) -> np.ndarray:
        """Inverse of the cumulative accrual A(u) = rate (u^2 / 2R for u < R, u - R/2 after)."""
        ramp, rate = self.ramp_up_months, self.rate_per_month
        count = np.asarray(count, dtype=float)
        in_ramp = count < rate * ramp / 2
        with np.errstate(invalid="ignore", divide="ignore"):
            early = np.sqrt(2 * ramp * np.maximum(count, 0) / rate)
        late = count / rate + ramp / 2
        return np.where(in_ramp, early, late)

    def enrolled_by(self, month: np.ndarray) -> np.ndarray:
        """Cumulative accrual A(u) (expected patients by calendar month u, not capped at n)."""
        ramp, rate = self.ramp_up_months, self.rate_per_month
        u = np.maximum(np.asarray(month, dtype=float), 0.0)
        if ramp == 0:
            return rate * u
        return np.where(u < ramp, rate * u**2 / (2 * ramp), rate * (u - ramp / 2))

    def duration(self, n: int) -> float:
        """Months to enrol n patients."""
        return float(self.entry_time(np.array([n]))[0])


class Switching(BaseModel):
    """Dynamic switch of control patients to the experimental treatment (surgery).

    Control patients still event-free switch at ``rate_per_month`` (exponential, time since
    randomisation); after the switch they follow the experimental arm's hazard from its start
    (the surgical-risk window included).
    """

    model_config = ConfigDict(frozen=True)

    rate_per_month: float = Field(gt=0)


class TrialDesign(BaseModel):
    """A two-arm time-to-event trial to simulate; looks are at total event counts."""

    model_config = ConfigDict(frozen=True)

    arms: tuple[Arm, Arm]
    n_patients: int = Field(gt=1)
    accrual: Accrual
    dropout_per_month: float = Field(0.0, ge=0)
    look_events: list[int] = Field(min_length=1)
    efficacy_z: list[float] | None = None
    futility_z: list[float] | None = None
    #: spending used when bounds are not given: one-sided alpha and the spending name
    alpha: float = Field(0.025, gt=0, lt=0.5)
    spending: str = "obf"
    #: last calendar month of follow-up; the final look happens here if events fall short
    max_duration_months: float = Field(240.0, gt=0)
    switching: Switching | None = None

    @model_validator(mode="after")
    def _looks(self) -> TrialDesign:
        events = self.look_events
        if any(e <= 0 for e in events) or any(
            b <= a for a, b in zip(events, events[1:], strict=False)
        ):
            raise ValueError(f"look_events={events}: expected increasing positive event counts")
        if events[-1] > self.n_patients:
            raise ValueError(f"look_events={events}: the final count exceeds n_patients")
        for name in ("efficacy_z", "futility_z"):
            bounds = getattr(self, name)
            if bounds is not None and len(bounds) != len(events):
                raise ValueError(f"{name}: expected one bound per look ({len(events)})")
        return self

    @classmethod
    def build(cls, **fields: object) -> TrialDesign:
        """Validate into a design, turning pydantic errors into ``InvalidInput`` problems."""
        from pydantic import ValidationError

        try:
            return cls.model_validate(fields)
        except ValidationError as exc:
            raise InvalidInput(
                [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
            ) from None

    @property
    def allocation(self) -> float:
        """Fraction randomised to the experimental arm."""
        a, b = self.arms
        return a.allocation / (a.allocation + b.allocation)

    def n_per_arm(self) -> tuple[int, int]:
        """Patients per arm (experimental rounded to nearest, the rest to control)."""
        n_exp = int(round(self.n_patients * self.allocation))
        return n_exp, self.n_patients - n_exp

    def bounds(self) -> tuple[list[float], list[float] | None]:
        """Efficacy and futility z bounds; efficacy from spending at the planned fractions if absent."""
        if self.efficacy_z is not None:
            return list(self.efficacy_z), self.futility_z
        from talentop.design.boundaries import gs_boundaries

        design = gs_boundaries(
            information=[float(e) for e in self.look_events],
            alpha=self.alpha,
            spending=self.spending,
        )
        return design.efficacy_z, self.futility_z


def exponential_design(
    *,
    hazard_ratio: float,
    control_median_months: float,
    n_patients: int,
    look_events: list[int],
    accrual_rate_per_month: float,
    **extra: object,
) -> TrialDesign:
    """A 1:1 design with exponential arms (control median, and HR for the experimental arm)."""
    control = math.log(2) / control_median_months
    return TrialDesign.build(
        arms=(
            {"name": "A", "hazards": [(0.0, control * hazard_ratio)]},
            {"name": "B", "hazards": [(0.0, control)]},
        ),
        n_patients=n_patients,
        accrual={"rate_per_month": accrual_rate_per_month},
        look_events=look_events,
        **extra,
    )
