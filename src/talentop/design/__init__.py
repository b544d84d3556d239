"""Trial design and simulation: events, sample size, group-sequential bounds, simulation."""

from talentop.design.boundaries import GSDesign, gs_boundaries
from talentop.design.sample_size import freedman_events, schoenfeld_events, schoenfeld_power
from talentop.design.simulate import simulate_trials
from talentop.design.trial import Accrual, Arm, Switching, TrialDesign, exponential_design

__all__ = [
    "Accrual",
    "Arm",
    "GSDesign",
    "Switching",
    "TrialDesign",
    "exponential_design",
    "freedman_events",
    "gs_boundaries",
    "schoenfeld_events",
    "schoenfeld_power",
    "simulate_trials",
]
