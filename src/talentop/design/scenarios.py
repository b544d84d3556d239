"""Design questions answered by simulation: one scenario = the SAP's plan with some
assumptions changed (a protocol file's ``scenarios``, resolved by the caller).

For a scenario: the events the SAP's power needs at the scenario's effective HR (Schoenfeld
x inflation, ``design.plan``), the patients that yield them (``design.events.sample_size``:
accrual at the SAP's rate, minimum follow-up), and by Monte Carlo (``simulate_trials``) the
power, mean HR and duration of the trial as the scenario runs it (its patients, analysed at
the planned events or at a calendar month). Arm A is experimental (exponential, control
hazard x HR); the control hazard may be scaled (a pathway that helps arm B); event-free control
patients may switch to arm A's hazard at a rate per month (dynamic reassessment).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from talentop.design.events import accrual_for, expected_events, sample_size
from talentop.design.plan import planned_analysis
from talentop.design.simulate import simulate_trials
from talentop.design.trial import TrialDesign
from talentop.errors import InvalidInput

#: Planned events beyond this share of the patients are capped (analysed at the cap).
MAX_EVENT_SHARE = 0.9


@dataclass(frozen=True)
class ScenarioSpec:
    """Every value a scenario needs (SAP values where the scenario sets nothing)."""

    id: str
    title: str
    endpoint: str
    hazard_ratio: float  # experimental vs the unscaled control
    control_median_months: float
    n_patients: int
    accrual_months: float
    min_follow_up_months: float
    alpha: float
    sided: int
    power: float
    looks: tuple[float, ...]
    spending: str
    switching_rate_per_month: float | None = None
    control_hazard_multiplier: float = 1.0
    final_analysis_month: float | None = None

    @property
    def effective_hazard_ratio(self) -> float:
        """Experimental vs the (scaled) control the trial actually compares."""
        return self.hazard_ratio / self.control_hazard_multiplier


def _design(spec: ScenarioSpec, look_events: list[int], switching: bool) -> TrialDesign:
    control = math.log(2) / spec.control_median_months
    fields: dict[str, object] = {
        "arms": (
            {"name": "A", "hazards": [(0.0, control * spec.hazard_ratio)]},
            {"name": "B", "hazards": [(0.0, control * spec.control_hazard_multiplier)]},
        ),
        "n_patients": spec.n_patients,
        "accrual": accrual_for(spec.n_patients, spec.accrual_months),
        "look_events": look_events,
        "alpha": spec.alpha / spec.sided,
        "spending": spec.spending,
        "max_duration_months": 1e4,
    }
    if switching and spec.switching_rate_per_month:
        fields["switching"] = {"rate_per_month": spec.switching_rate_per_month}
    return TrialDesign.build(**fields)


def run_scenario(spec: ScenarioSpec, *, replicates: int, seed: int) -> dict[str, object]:
    """The scenario's answers (module docstring), JSON-safe."""
    if spec.n_patients < 2:
        raise InvalidInput.field("n_patients", spec.n_patients, "at least 2 patients")
    plan = planned_analysis(
        hazard_ratio=spec.effective_hazard_ratio,
        alpha=spec.alpha,
        sided=spec.sided,
        power=spec.power,
        looks=list(spec.looks),
        spending=spec.spending,
    )
    rate = spec.n_patients / spec.accrual_months
    for_size = _design(spec, [1], switching=False).model_copy(
        update={"accrual": accrual_for(1000, 1000 / rate)}
    )
    try:
        needed = sample_size(
            for_size, events=plan.max_events, min_follow_up_months=spec.min_follow_up_months
        ).n_patients
    except InvalidInput:
        needed = None
    if spec.final_analysis_month is not None:
        expected = float(expected_events(_design(spec, [1], False), [spec.final_analysis_month])[0])
        final = max(1, int(round(expected)))
        looks = sorted({max(1, math.ceil(f * final)) for f in spec.looks})
    else:
        # a trial cannot wait for more events than most of its patients can give
        cap = max(1, int(MAX_EVENT_SHARE * spec.n_patients))
        looks = [min(e, cap) for e in plan.look_events]
    looks = sorted(set(looks))
    design = _design(spec, looks, switching=True)
    frame = simulate_trials(design, replicates=replicates, seed=seed)
    power = float(frame["rejected"].mean())
    log_hr = np.log(frame["hr"].dropna())
    return {
        **{k: v for k, v in asdict(spec).items() if k != "looks"},
        "looks": list(spec.looks),
        "effective_hazard_ratio": spec.effective_hazard_ratio,
        "required_events": plan.max_events,
        "patients_needed": needed,
        "look_events": looks,
        "replicates": replicates,
        "seed": seed,
        "power": power,
        "power_mc_se": math.sqrt(power * (1 - power) / replicates),
        "mean_hr": float(np.exp(log_hr.mean())),
        "expected_events": float(frame["events"].mean()),
        "expected_duration_months": float(frame["duration"].mean()),
        "switched_per_trial": float(frame["switched"].mean()),
    }
