"""What the demo draws for the experts' questions: baseline resectability class, the structured
criteria behind each MDT vote, survival after failure, local therapy before surgery,
pathology, complication categories.

Drawn from their own random stream (``extra_stream``) so the calibrated draws of
``demo.cohort`` keep their sequence. Frequencies are SETTINGs (no source gives them), chosen
so the published interim stays reproduced: the class shifts the MDT's resectable probability
by a multiplier whose mean over the classes is 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from talentop.clinical import albi, child_pugh
from talentop.clinical.resectability import (
    ONCOLOGICALLY_UNRESECTABLE,
    TECHNICALLY_RESECTABLE,
    TECHNICALLY_UNRESECTABLE,
)

#: Baseline class at screening (SETTING): TALENTOP patients all have macrovascular invasion.
BASELINE_CLASS_PROBS = {
    TECHNICALLY_RESECTABLE: 0.25,
    ONCOLOGICALLY_UNRESECTABLE: 0.35,
    TECHNICALLY_UNRESECTABLE: 0.40,
}
#: MDT resectable-after-induction probability multiplier by class (mean 1 over the classes).
RESECTABLE_MULTIPLIER = {
    TECHNICALLY_RESECTABLE: 1.3,
    ONCOLOGICALLY_UNRESECTABLE: 1.1,
    TECHNICALLY_UNRESECTABLE: 0.725,
}
ONCOLOGICAL_REASONS = (
    "Vp3/Vp4 thrombus: upfront resection not advised (early recurrence risk)",
    "multifocal disease with thrombus: oncological outcome of upfront resection poor",
)
#: Complication term -> category reported beside Clavien-Dindo.
COMPLICATION_CATEGORIES = {
    "Bile leak": "bile_leak",
    "Post-hepatectomy liver failure": "liver_failure",
    "Intra-abdominal bleeding": "bleeding",
    "Pleural effusion": "other",
    "Wound infection": "wound",
    "Ascites": "other",
}
#: ISGLS grade implied by the management a Clavien-Dindo grade records (Rahbari 2011: A no
#: change in management, B non-invasive treatment, C invasive treatment).
ISGLS_FOR_CLAVIEN = {"I": "A", "II": "B", "IIIa": "C", "IIIb": "C", "IVa": "C", "IVb": "C"}
#: Arm-A patients given local therapy (TACE or radiotherapy) before the resection (SETTING).
P_LOCAL_THERAPY_BEFORE_SURGERY = 0.10
#: Labs not drawn at an arm-B reassessment visit (SETTING): the trigger is then blocked.
P_LABS_MISSING = 0.10


def extra_stream(seed: int) -> np.random.Generator:
    """The demo's second random stream (the cohort's calibrated stream stays unchanged)."""
    return np.random.default_rng([seed, 15])


def findings(record: dict[str, Any], *, r0_feasible: bool | None) -> dict[str, Any]:
    """Structured criteria (``clinical.resectability.Findings``) from a screening record."""
    pct = 100 * record["future_liver_remnant_ml"] / record["total_functional_liver_volume_ml"]
    liver = child_pugh(
        bilirubin_umol_l=record["bilirubin_umol_l"],
        albumin_g_l=record["albumin_g_l"],
        inr=record["inr"],
        ascites=record["ascites"],
        encephalopathy=record["encephalopathy"],
    )
    grade = albi(bilirubin_umol_l=record["bilirubin_umol_l"], albumin_g_l=record["albumin_g_l"])
    return {
        "r0_feasible": r0_feasible,
        "remnant_liver_pct": round(pct, 1),
        "vp_grade": record["vp_grade"],
        "vv_grade": record["vv_grade"],
        "child_pugh_grade": liver.grade,
        "albi_grade": grade.grade,
    }


@dataclass(frozen=True)
class PathwayDraws:
    """One patient's draws for the pathways (see module docstring)."""

    baseline_class: str
    baseline_reason: str | None
    dies_at_failure: bool
    post_failure_unit: float  # Exponential(1): post-failure survival = unit / hazard
    local_therapy: str | None  # "tace" | "radiotherapy" before the resection (arm A)
    necrosis_pct: float  # of the resected specimen
    labs_missing: tuple[bool, ...]  # per arm-B reassessment visit


def draw_class(rng: np.random.Generator) -> str:
    """The baseline resectability class (``BASELINE_CLASS_PROBS``)."""
    keys = list(BASELINE_CLASS_PROBS)
    return keys[int(rng.choice(len(keys), p=list(BASELINE_CLASS_PROBS.values())))]


def draw_pathways(
    rng: np.random.Generator, cls: str, *, response: str, ttf_unit: float, death_at_failure: float
) -> PathwayDraws:
    """One patient's pathway draws. Necrosis rises with the patient's TTF draw (a patient who
    fails late tends to have a more necrotic specimen): the pathology-OS link is in the model."""
    reason = (
        ONCOLOGICAL_REASONS[int(rng.integers(len(ONCOLOGICAL_REASONS)))]
        if cls == ONCOLOGICALLY_UNRESECTABLE
        else ("R0 resection not feasible at baseline" if cls == TECHNICALLY_UNRESECTABLE else None)
    )
    dies = bool(rng.random() < death_at_failure)
    unit = float(rng.exponential())
    local = None
    if rng.random() < P_LOCAL_THERAPY_BEFORE_SURGERY:
        local = "tace" if rng.random() < 0.7 else "radiotherapy"
    quantile = 1.0 - math.exp(-ttf_unit)  # the TTF draw as a uniform
    boost = {"PR": 0.15, "SD_shrink": 0.05}.get(response, 0.0)
    necrosis = 100 * float(np.clip(0.25 + 0.65 * quantile + boost + rng.normal(0, 0.12), 0, 1))
    labs = tuple(bool(x) for x in rng.random(12) < P_LABS_MISSING)
    return PathwayDraws(cls, reason, dies, unit, local, round(necrosis, 0), labs)
