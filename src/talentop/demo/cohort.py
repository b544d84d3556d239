"""Synthetic TALENTOP cohort: screened patients with labs, imaging, lesions, MDT votes, outcomes.

Pure and seeded (``numpy.random.Generator``): the same seed gives the same cohort. Nothing
here decides eligibility, response, allocation or endpoints - the real engines do that when
``talentop.demo.run`` feeds these patients through the services. The generator only draws
what a site would observe, with frequencies calibrated to the published interim
(627 screened -> 489 induction -> 201 randomised -> 83 of 101 operated; Vp3/Vp4 > 50%).
Outcome times come from :mod:`talentop.demo.outcomes` (the design calibration); every
potential outcome (operated, systemic, switched) of TTF comes from one exponential per patient
(common random numbers: a patient's arm changes only the path); OS is TTF plus post-failure
survival (``demo.outcomes.os_months``: a failure is the death itself with probability
``death_at_failure``, else an Exponential post-failure time with the path's hazard). The
pathway draws (baseline resectability class, local therapy, pathology...) come from a second
stream (``demo.pathways``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from talentop.demo.outcomes import OutcomeModel, os_months, outcome_model, switched_time
from talentop.demo.pathways import (
    COMPLICATION_CATEGORIES,
    RESECTABLE_MULTIPLIER,
    PathwayDraws,
    draw_class,
    draw_pathways,
    extra_stream,
)

#: Screen-failure reasons the generator plants (about 22% of 627 = 138 in the interim).
EXCLUSION_PROBS: dict[str, float] = {
    "extrahepatic_spread": 0.060,
    "child_pugh_b": 0.045,
    "ecog_2": 0.030,
    "remnant_liver_volume": 0.025,
    "no_macrovascular_invasion": 0.020,
    "platelets": 0.015,
    "prior_therapy": 0.015,
    "tcm_washout": 0.010,
}
#: Latent tumour behaviour under induction (IMbrave150-like: ORR ~30% RECIST 1.1).
RESPONSE_PROBS = {"PR": 0.34, "SD_shrink": 0.28, "SD_grow": 0.18, "PD": 0.20}
#: Probability that the MDT's consensus view is "resectable", by latent response.
RESECTABLE_PROBS = {"PR": 0.67, "SD_shrink": 0.53, "SD_grow": 0.33, "PD": 0.0}
WITHDRAW_DURING_INDUCTION = 0.04
#: Why an arm-A patient is not planned for resection (failures before the planned date are
#: decided by the outcome model, not drawn here).
NOT_OPERATED_REASONS = {
    "liver_function_deterioration": 0.3,
    "patient_refused_surgery": 0.45,
    "unfit_for_anaesthesia": 0.25,
}
#: Planned days from randomisation to resection (arm A; the washout may push it later).
SURGERY_DELAY_DAYS = (14, 35)
ATTRIBUTIONS = {
    "unrelated": 0.1,
    "unlikely": 0.1,
    "possible": 0.4,
    "probable": 0.3,
    "definite": 0.1,
}
AE_TERMS = {  # term: (per-patient probability during treatment, P(grade >= 3 | event))
    "Hypertension": (0.30, 0.20),
    "Proteinuria": (0.25, 0.10),
    "Fatigue": (0.20, 0.05),
    "Aspartate aminotransferase increased": (0.18, 0.15),
    "Decreased appetite": (0.15, 0.03),
    "Rash": (0.12, 0.04),
    "Diarrhoea": (0.10, 0.05),
    "Hypothyroidism": (0.08, 0.0),
    "Gastrointestinal haemorrhage": (0.04, 0.6),
}
SURGICAL_COMPLICATIONS = (
    "Bile leak",
    "Post-hepatectomy liver failure",
    "Intra-abdominal bleeding",
    "Pleural effusion",
    "Wound infection",
    "Ascites",
)
MDT_ROLES = (
    "hepatobiliary_surgeon",
    "hepatologist_or_oncologist",
    "radiologist",
    "hepatobiliary_surgeon",
    "pathologist",
)
DAYS_PER_MONTH = 30.4375


@dataclass(frozen=True)
class SyntheticPatient:
    """What a site would observe for one screened patient, plus the latent outcome draws."""

    index: int
    screening_id: str
    site: str
    screened_on: dt.date
    record: dict[str, Any]  # screening fields (talentop.clinical.fields names)
    planted_exclusion: str | None  # what the generator planted (the engine decides)
    weight_kg: float
    age_years: int
    sex: str
    baseline: dict[str, Any]  # RECIST baseline (targets + non-targets)
    followups: list[dict[str, Any]]  # RECIST follow-ups during induction (weeks 6, 12)
    latent_response: str  # PR | SD_shrink | SD_grow | PD
    withdraws_after_cycle: int | None  # stops induction after this cycle (None: completes)
    mdt_votes: list[tuple[str, bool]]  # (specialty, resectable?) per member
    operated_if_allocated: bool
    not_operated_reason: str | None
    clavien_dindo: str  # worst grade after resection ("none")
    complications: list[tuple[str, str]]  # (term, Clavien-Dindo grade)
    adverse_events: list[tuple[str, int, float, str]]  # (term, grade, fraction of time on
    # treatment at onset, attribution)
    surgery_delay_days: int = 21  # planned resection, days after randomisation
    ttf_months: dict[str, float] = field(default_factory=dict)  # path -> failure time
    os_months: dict[str, float] = field(default_factory=dict)  # path -> death time
    failure_reason: str = "progression"  # reason if treatment fails before death
    conversion_months: float | None = None  # arm B: MDT would find resectable at this time
    switch_votes: list[tuple[str, bool]] = field(default_factory=list)  # MDT at conversion
    pathways: PathwayDraws | None = None  # baseline class, post-failure draw, pathology...
    complication_categories: list[str] = field(default_factory=list)  # per complication


def _eligible_record(rng: np.random.Generator, ecog: int, vp: str, vv: str) -> dict[str, Any]:
    """A record comfortably inside every criterion (so only planted reasons fail)."""
    total_ml = float(rng.uniform(1100, 1700))
    return {
        "hcc_confirmed": True,
        "prior_anticancer_therapy": False,
        "tcm_used": bool(rng.random() < 0.1),
        "tcm_stopped_days_before_induction": int(rng.integers(14, 90)),
        "measurable_lesions": int(rng.integers(1, 4)),
        "vp_grade": vp,
        "vv_grade": vv,
        "right_atrial_thrombus": False,
        "extrahepatic_spread": False,
        "total_functional_liver_volume_ml": round(total_ml, 0),
        "future_liver_remnant_ml": round(total_ml * float(rng.uniform(0.32, 0.7)), 0),
        "bilirubin_umol_l": round(float(rng.uniform(6, 24)), 1),
        "bilirubin_uln_umol_l": 21.0,
        "albumin_g_l": round(float(rng.uniform(36, 46)), 1),
        "inr": round(float(rng.uniform(0.95, 1.25)), 2),
        "ascites": "none",
        "encephalopathy": "none",
        "ecog": ecog,
        "ecog_days_before_induction": int(rng.integers(1, 7)),
        "child_pugh_days_before_induction": int(rng.integers(1, 7)),
        "labs_days_before_induction": int(rng.integers(1, 12)),
        "life_expectancy_weeks": float(rng.integers(26, 104)),
        "anc_10e9_l": round(float(rng.uniform(2.0, 6.0)), 1),
        "lymphocytes_10e9_l": round(float(rng.uniform(0.8, 2.5)), 1),
        "platelets_10e9_l": float(rng.integers(95, 320)),
        "haemoglobin_g_l": float(rng.integers(105, 160)),
        "ast_u_l": float(rng.integers(25, 150)),
        "ast_uln_u_l": 40.0,
        "alt_u_l": float(rng.integers(20, 140)),
        "alt_uln_u_l": 40.0,
        "alp_u_l": float(rng.integers(70, 300)),
        "alp_uln_u_l": 120.0,
        "largest_tumour_diameter_cm": round(float(rng.uniform(4.0, 14.0)), 1),
        "tumour_count": int(rng.integers(1, 4)),
    }


def _plant(record: dict[str, Any], reason: str, rng: np.random.Generator) -> None:
    """Change the record so that exactly the planted criterion fails."""
    if reason == "extrahepatic_spread":
        record["extrahepatic_spread"] = True
    elif reason == "child_pugh_b":
        record.update(
            bilirubin_umol_l=round(float(rng.uniform(36, 50)), 1),
            albumin_g_l=round(float(rng.uniform(29, 33)), 1),
            ascites="mild",
        )
    elif reason == "ecog_2":
        record["ecog"] = 2
    elif reason == "remnant_liver_volume":
        record["future_liver_remnant_ml"] = round(
            record["total_functional_liver_volume_ml"] * float(rng.uniform(0.12, 0.22)), 0
        )
    elif reason == "no_macrovascular_invasion":
        record.update(vp_grade="Vp0", vv_grade="Vv0")
    elif reason == "platelets":
        record["platelets_10e9_l"] = float(rng.integers(40, 70))
    elif reason == "prior_therapy":
        record["prior_anticancer_therapy"] = True
    elif reason == "tcm_washout":
        record.update(tcm_used=True, tcm_stopped_days_before_induction=int(rng.integers(0, 5)))


def _lesions(rng: np.random.Generator, record: dict[str, Any], response: str, start: dt.date):
    """RECIST baseline and two follow-ups (weeks 6 and 12) that realise the latent response."""
    largest_mm = round(record["largest_tumour_diameter_cm"] * 10, 0)
    targets = [{"id": "T1", "organ": "liver", "nodal": False, "diameter_mm": largest_mm}]
    if record["tumour_count"] >= 2:
        targets.append(
            {
                "id": "T2",
                "organ": "liver",
                "nodal": False,
                "diameter_mm": round(float(rng.uniform(15, 40)), 0),
            }
        )
    # Baseline imaging between screening and the first dose (start = screening + 7 days).
    baseline = {
        "date": (start - dt.timedelta(days=int(rng.integers(1, 7)))).isoformat(),
        "target": targets,
        "non_target": [],
    }
    if record["vp_grade"] != "Vp0":
        baseline["non_target"].append({"id": "N1", "organ": "portal_vein"})
    elif record["vv_grade"] != "Vv0":
        baseline["non_target"].append({"id": "N1", "organ": "hepatic_vein"})
    change = {
        "PR": rng.uniform(-0.75, -0.32),
        "SD_shrink": rng.uniform(-0.27, -0.02),
        "SD_grow": rng.uniform(0.02, 0.17),
        "PD": rng.uniform(0.25, 0.6),
    }[response]
    new_lesion = response == "PD" and rng.random() < 0.3
    followups = []
    for week, fraction in ((6, 0.6), (12, 1.0)):
        last = week == 12
        factor = 1.0 + float(change) * fraction
        followups.append(
            {
                "date": (
                    start + dt.timedelta(days=7 * week + int(rng.integers(-3, 4)))
                ).isoformat(),
                "target": {t["id"]: round(max(t["diameter_mm"] * factor, 5.0), 0) for t in targets},
                "non_target": {n["id"]: "present" for n in baseline["non_target"]},
                "new_lesions": "unequivocal" if (new_lesion and last) else "none",
            }
        )
    return baseline, followups


def _mdt_votes(rng: np.random.Generator, resectable: bool) -> list[tuple[str, bool]]:
    """3-5 members; each agrees with the (latent) truth with probability 0.85."""
    size = int(rng.integers(3, 6))
    return [
        (MDT_ROLES[i], bool(resectable if rng.random() < 0.85 else not resectable))
        for i in range(size)
    ]


def _choice(rng: np.random.Generator, probs: dict[str, float]) -> str:
    keys = list(probs)
    weights = np.array([probs[k] for k in keys], float)
    return keys[int(rng.choice(len(keys), p=weights / weights.sum()))]


def operated_intent_probability(model: OutcomeModel) -> float:
    """P(arm-A patient planned for resection) so that ~83/101 are actually operated.

    Patients who fail before their planned operation are not operated; the planned delay is
    uniform on SURGERY_DELAY_DAYS, so divide the target by the mean P(no failure by then).
    """
    days = np.arange(SURGERY_DELAY_DAYS[0], SURGERY_DELAY_DAYS[1] + 1)
    reach = np.exp(-model.ttf_operated.cumulative(days / DAYS_PER_MONTH)).mean()
    return min(1.0, model.operated_fraction_arm_a / float(reach))


def generate_cohort(
    n_patients: int = 627,
    *,
    seed: int = 2025,
    first_screening: dt.date = dt.date(2021, 3, 1),
    accrual_months: float | None = None,
    sites: tuple[str, ...] = ("ZS", "FD2", "SH3"),
    model: OutcomeModel | None = None,
) -> list[SyntheticPatient]:
    """Draw ``n_patients`` screened patients (seeded; same seed, same cohort)."""
    model = model or outcome_model()
    accrual_months = model.accrual_months if accrual_months is None else accrual_months
    p_intent = operated_intent_probability(model)
    rng = np.random.default_rng(seed)
    extra = extra_stream(seed)
    offsets = np.sort(rng.uniform(0, accrual_months * DAYS_PER_MONTH, n_patients))
    exclusion_total = sum(EXCLUSION_PROBS.values())
    cohort = []
    for index in range(n_patients):
        ecog = int(rng.random() < 0.38)
        vp = _choice(rng, {"Vp1": 0.07, "Vp2": 0.21, "Vp3": 0.40, "Vp4": 0.20, "Vp0": 0.12})
        vv = (
            _choice(rng, {"Vv2": 0.6, "Vv3": 0.4})
            if vp == "Vp0"
            else _choice(rng, {"Vv0": 0.85, "Vv1": 0.1, "Vv2": 0.05})
        )
        record = _eligible_record(rng, ecog, vp, vv)
        planted = _choice(rng, EXCLUSION_PROBS) if rng.random() < exclusion_total else None
        if planted:
            _plant(record, planted, rng)
        screened_on = first_screening + dt.timedelta(days=int(offsets[index]))
        record.update(patient_id=f"S{index + 1:04d}", site=sites[index % len(sites)])
        start = screened_on + dt.timedelta(days=7)
        response = _choice(rng, RESPONSE_PROBS)
        baseline, followups = _lesions(rng, record, response, start)
        cls = draw_class(extra)
        resectable = bool(
            rng.random() < min(1.0, RESECTABLE_PROBS[response] * RESECTABLE_MULTIPLIER[cls])
        )
        operated = bool(rng.random() < p_intent)
        clavien = _choice(rng, model.clavien_dindo_probs) if operated else "none"
        complications = []
        if clavien != "none":
            complications.append(
                (SURGICAL_COMPLICATIONS[int(rng.integers(len(SURGICAL_COMPLICATIONS)))], clavien)
            )
        adverse_events = []
        for term, (p_any, p_high) in AE_TERMS.items():
            if rng.random() < p_any:
                grade = (
                    int(rng.integers(3, 5)) if rng.random() < p_high else int(rng.integers(1, 3))
                )
                onset = float(rng.uniform(0.0, 1.0))
                adverse_events.append((term, grade, onset, _choice(rng, ATTRIBUTIONS)))
        # Coupled potential outcomes: one exponential draw for every path (TTF); OS = TTF +
        # post-failure survival (demo.outcomes.os_months).
        e_ttf = float(rng.exponential())
        draws = draw_pathways(
            extra, cls, response=response, ttf_unit=e_ttf, death_at_failure=model.death_at_failure
        )
        ttf_sys = float(model.ttf_systemic.inverse(e_ttf))
        conversion = (
            float(rng.uniform(2, 14))
            if (not resectable and response != "PD" and rng.random() < 0.35)
            else None
        )
        if resectable and response != "PD" and rng.random() < 0.5:
            conversion = float(rng.uniform(1.5, 9))  # arm B, resectable at entry: re-proposed
        ttf = {"operated": float(model.ttf_operated.inverse(e_ttf)), "systemic": ttf_sys}
        if conversion is not None:
            ttf["switched"] = float(
                switched_time(model.ttf_systemic, model.ttf_operated, conversion, e_ttf)
            )
        os_ = {
            path: os_months(model, months, path, draws.dies_at_failure, draws.post_failure_unit)
            for path, months in ttf.items()
        }
        cohort.append(
            SyntheticPatient(
                index=index,
                screening_id=record["patient_id"],
                site=record["site"],
                screened_on=screened_on,
                record=record,
                planted_exclusion=planted,
                weight_kg=round(float(np.clip(rng.normal(66, 10), 40, 120)), 1),  # plausible adults
                age_years=int(np.clip(rng.normal(55, 10), 25, 80)),
                sex="male" if rng.random() < 0.86 else "female",
                baseline=baseline,
                followups=followups,
                latent_response=response,
                withdraws_after_cycle=int(rng.integers(1, 4))
                if rng.random() < WITHDRAW_DURING_INDUCTION
                else None,
                mdt_votes=_mdt_votes(rng, resectable),
                operated_if_allocated=operated,
                not_operated_reason=None if operated else _choice(rng, NOT_OPERATED_REASONS),
                clavien_dindo=clavien,
                complications=complications,
                adverse_events=adverse_events,
                ttf_months=ttf,
                os_months=os_,
                failure_reason=_choice(
                    rng,
                    {
                        "progression": 0.72,
                        "unacceptable_toxicity": 0.1,
                        "loss_of_clinical_benefit": 0.08,
                        "patient_withdrawal": 0.06,
                        "investigator_decision": 0.04,
                    },
                ),
                conversion_months=conversion,
                surgery_delay_days=int(rng.integers(*SURGERY_DELAY_DAYS, endpoint=True)),
                switch_votes=_mdt_votes(rng, True),
                pathways=draws,
                complication_categories=[COMPLICATION_CATEGORIES[t] for t, _ in complications],
            )
        )
    return cohort
