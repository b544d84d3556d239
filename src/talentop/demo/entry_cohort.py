"""Synthetic patients for a trial randomised at entry with on-demand local therapy (TALENTACE).

Pure and seeded. The primary endpoint's hazards are calibrated to the protocol file's
published figures (``published``: ``<primary>_median_a``, ``_median_b``, ``_hr``) by
``design.calibrate_entry.fit_two_piece``; OS is the primary event time plus post-event
survival (as ``design.os_model``). Each patient also carries the course a site would see:
how many treatable progressions on-demand TACE handles before the event, and what the event
is (untreatable progression, TACE refractoriness, or death). Frequencies are SETTINGs.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from talentop.demo.cohort import DAYS_PER_MONTH
from talentop.demo.outcomes import PiecewiseHazard

#: Planted screen failures (SETTING): about 15% of screened.
EXCLUSIONS = {
    "vascular_invasion": 0.05,
    "extrahepatic_spread": 0.04,
    "child_pugh_b": 0.03,
    "tumour_burden": 0.03,
}
#: What ends TACE-PFS, given it is not a death (SETTING).
EVENT_TYPES = {"untreatable_progression": 0.65, "tace_refractoriness": 0.35}
DEATH_AT_EVENT = 0.10  # SETTING: share of TACE-PFS events that are deaths
POST_EVENT_OS_MEDIAN_MONTHS = 14.0  # SETTING: survival after untreatable progression
CHANGE_MONTH = 12.0  # SETTING: the hazards change here (the curves converge towards ~24)
#: The control arm's later KM rate the fit uses when the protocol file publishes it.
LATE_RATE_MONTHS = 18
DATA_CUT_MONTHS = 42.0  # SETTING: median follow-up then about 26 months (published 26.3)
#: Treatable intrahepatic progressions per month on study (each answered by a repeat TACE).
TREATABLE_PD_RATE = 0.06


@dataclass(frozen=True)
class EntryModel:
    """Primary-endpoint hazards per arm, OS after the event, the settings used."""

    hazards: dict[str, PiecewiseHazard]  # arm id -> hazard of the primary event
    post_event_hazard: float
    death_at_event: float
    accrual_months: float
    data_cut_months: float
    expected: dict[str, float] = field(default_factory=dict)


def entry_model(protocol: Any, n_randomised: int | None = None) -> EntryModel:
    """Calibrate to the protocol's published primary-endpoint figures (module docstring)."""
    from talentop.design.calibrate_entry import fit_two_piece

    key = protocol.endpoints.primary.lower()
    published = {k: v.value for k, v in protocol.published.items()}
    n = int(n_randomised or published.get("randomised") or protocol.sap.target_patients.value)
    accrual = float(protocol.sap.accrual_months.value)
    late = f"{key}_rate_{LATE_RATE_MONTHS}m_b"
    fit = fit_two_piece(
        control_median=float(published[f"{key}_median_b"]),
        experimental_median=float(published[f"{key}_median_a"]),
        hazard_ratio=float(published[f"{key}_hr"]),
        n_patients=n,
        accrual_months=accrual,
        data_cut_months=DATA_CUT_MONTHS,
        change_month=CHANGE_MONTH,
        control_rate=(LATE_RATE_MONTHS, float(published[late]) / 100)
        if late in published
        else None,
    )
    return EntryModel(
        hazards={
            "A": PiecewiseHazard.from_pieces(fit.experimental),
            "B": PiecewiseHazard.from_pieces(fit.control),
        },
        post_event_hazard=math.log(2) / POST_EVENT_OS_MEDIAN_MONTHS,
        death_at_event=DEATH_AT_EVENT,
        accrual_months=accrual,
        data_cut_months=DATA_CUT_MONTHS,
        expected={
            f"{key}_median_a": float(published[f"{key}_median_a"]),
            f"{key}_median_b": float(published[f"{key}_median_b"]),
            f"{key}_hr": fit.hazard_ratio,
            f"{key}_events": fit.limit.events,
            f"{key}_z": fit.limit.logrank_z,
        }
        | {
            f"{key}_rate_{months}m_{arm.lower()}": 100 * math.exp(-float(h.cumulative(months)))
            for months in (12, 18)
            for arm, h in (
                ("A", PiecewiseHazard.from_pieces(fit.experimental)),
                ("B", PiecewiseHazard.from_pieces(fit.control)),
            )
        },
    )


@dataclass(frozen=True)
class EntryPatient:
    """One screened patient: record, lesions, and the latent course per arm."""

    index: int
    screening_id: str
    site: str
    screened_on: dt.date
    record: dict[str, Any]
    planted_exclusion: str | None
    weight_kg: float
    baseline: dict[str, Any]
    event_months: dict[str, float]  # arm -> primary event time
    event_type: str  # untreatable_progression | tace_refractoriness | death
    os_months: dict[str, float]
    treatable_pd_months: tuple[float, ...]  # treatable progressions (repeat TACE), any arm


def _record(rng: np.random.Generator) -> dict[str, Any]:
    """An intrahepatic, TACE-eligible patient (TALENTACE criteria, seed-free of MVI)."""
    from talentop.demo.cohort import _eligible_record

    record = _eligible_record(rng, int(rng.random() < 0.3), "Vp0", "Vv0")
    count = int(rng.integers(2, 7))
    record.update(
        tumour_count=count,
        largest_tumour_diameter_cm=round(float(rng.uniform(max(6 - count, 2.0) + 0.5, 10)), 1),
    )
    return record


def _plant(record: dict[str, Any], reason: str, rng: np.random.Generator) -> None:
    if reason == "vascular_invasion":
        record["vp_grade"] = "Vp2"
    elif reason == "extrahepatic_spread":
        record["extrahepatic_spread"] = True
    elif reason == "child_pugh_b":
        record.update(bilirubin_umol_l=40.0, albumin_g_l=30.0, ascites="mild")
    elif reason == "tumour_burden":
        record.update(tumour_count=2, largest_tumour_diameter_cm=2.5)


def _baseline(record: dict[str, Any], on: dt.date) -> dict[str, Any]:
    """Two intrahepatic targets (mRECIST viable = whole lesion at baseline)."""
    largest = round(record["largest_tumour_diameter_cm"] * 10, 0)
    targets = [
        {"id": "T1", "organ": "liver", "nodal": False, "diameter_mm": largest},
        {"id": "T2", "organ": "liver", "nodal": False, "diameter_mm": round(largest * 0.6, 0)},
    ]
    return {"date": on.isoformat(), "target": targets, "non_target": []}


def generate_entry_cohort(
    n_patients: int,
    *,
    seed: int,
    model: EntryModel,
    first_screening: dt.date,
    sites: tuple[str, ...] = ("ZS", "XA", "HB"),
) -> list[EntryPatient]:
    """Draw ``n_patients`` screened patients (seeded)."""
    rng = np.random.default_rng([seed, 71])
    offsets = np.sort(rng.uniform(0, model.accrual_months * DAYS_PER_MONTH, n_patients))
    total = sum(EXCLUSIONS.values())
    cohort = []
    for index in range(n_patients):
        record = _record(rng)
        planted = None
        if rng.random() < total:
            keys = list(EXCLUSIONS)
            planted = keys[int(rng.choice(len(keys), p=[EXCLUSIONS[k] / total for k in keys]))]
            _plant(record, planted, rng)
        screened_on = first_screening + dt.timedelta(days=int(offsets[index]))
        record.update(patient_id=f"E{index + 1:04d}", site=sites[index % len(sites)])
        unit = float(rng.exponential())  # one draw for both arms (common random numbers)
        events = {arm: float(h.inverse(unit)) for arm, h in model.hazards.items()}
        dies = bool(rng.random() < model.death_at_event)
        keys = list(EVENT_TYPES)
        kind = "death" if dies else keys[int(rng.choice(len(keys), p=list(EVENT_TYPES.values())))]
        after = 0.0 if dies else float(rng.exponential()) / model.post_event_hazard
        treatable = np.cumsum(rng.exponential(1 / TREATABLE_PD_RATE, size=4))
        cohort.append(
            EntryPatient(
                index=index,
                screening_id=record["patient_id"],
                site=record["site"],
                screened_on=screened_on,
                record=record,
                planted_exclusion=planted,
                weight_kg=round(float(np.clip(rng.normal(64, 10), 40, 120)), 1),
                baseline=_baseline(record, screened_on),
                event_months=events,
                event_type=kind,
                os_months={arm: t + after for arm, t in events.items()},
                treatable_pd_months=tuple(float(t) for t in treatable),
            )
        )
    return cohort
