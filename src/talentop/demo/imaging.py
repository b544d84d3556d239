"""Post-randomisation imaging: scheduled scans with measurements that realise the patient's course.

Schedule (protocol): every ``assessment.interval_weeks`` from randomisation while on
treatment, then every ``follow_up.imaging_interval_weeks`` after treatment ends; each scan
within a few days of its scheduled date (``SCAN_JITTER_DAYS``, inside ``assessment.window_days``).
Measurements (RECIST 1.1 diameters and mRECIST viable diameters, recorded through
``services.record_assessment`` so the RECIST engine decides the response): targets stay at
their end-of-induction size (responders shrink a little more) until the latent progression
time; the first scan at or after it documents PD, by the sum of diameters (>= +20% and
>= 5 mm over the nadir, RECIST 1.1 section 4.3.1 / mRECIST) or by an unequivocal new lesion.
After resection the lesions are "resected" (no longer part of the assessment, EORTC RECIST FAQ;
``talentop.recist.resection``: no evidence of disease, not CR), so recurrence is PD by a new
intrahepatic lesion (RECIST 1.1 section 4.3.2).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from talentop.demo.cohort import SyntheticPatient

#: A scan is performed up to 3 days either side of its scheduled date.
SCAN_JITTER_DAYS = 3
#: PD by a new lesion rather than by the sum of target diameters (HCC: intrahepatic spread).
P_PD_BY_NEW_LESION = 0.3
#: Further shrinkage after randomisation for responders (PR, SD shrinking).
FURTHER_SHRINK = 0.95
#: mRECIST: viable (arterially enhancing) share of a responding lesion after induction.
VIABLE_FRACTION_RESPONDER = 0.8
#: PD measurement: sum at least this factor and this many mm above the nadir (RECIST needs
#: +20% and +5 mm; the margin keeps mRECIST's viable sum over the threshold after rounding).
PD_FACTOR, PD_MIN_MM = 1.3, 8.0
#: Progression after a non-progression failure (toxicity, withdrawal...): at this fraction of
#: the time from the failure to death (a uniform draw), for PFS only.
POST_FAILURE_PD_FRACTION = (0.2, 0.9)


def patient_rng(patient: SyntheticPatient) -> np.random.Generator:
    """A per-patient stream, separate from the cohort's (the calibrated draws stay unchanged)."""
    draw = int(patient.os_months.get("systemic", 0.0) * 1e6)
    return np.random.default_rng([patient.index, patient.screened_on.toordinal(), draw])


@dataclass(frozen=True)
class Schedule:
    """Scan dates: ``on_weeks`` apart from ``start`` up to ``treatment_end``, then ``off_weeks``."""

    start: dt.date
    on_weeks: int
    off_weeks: int
    jitter: tuple[int, ...]  # days, one per scan index

    @classmethod
    def for_patient(cls, protocol: Any, start: dt.date, rng: np.random.Generator) -> Schedule:
        window = min(SCAN_JITTER_DAYS, getattr(protocol.assessment, "window_days", None) or 3)
        return cls(
            start,
            protocol.assessment.interval_weeks,
            protocol.follow_up.imaging_interval_weeks,
            tuple(int(j) for j in rng.integers(-window, window + 1, size=400)),
        )

    def dates(self, treatment_end: dt.date, stop: dt.date) -> list[dt.date]:
        """Scans strictly after ``start`` and on or before ``stop`` (nominal dates + jitter)."""
        out, nominal, k = [], self.start, 0
        on = dt.timedelta(weeks=self.on_weeks)
        off = dt.timedelta(weeks=self.off_weeks)
        while k < len(self.jitter):
            nominal += on if nominal + on <= treatment_end else off
            actual = nominal + dt.timedelta(days=self.jitter[k])
            k += 1
            if actual > stop:
                break
            if actual > self.start:
                out.append(actual)
        return out


def documented_pd(scans: list[dt.date], latent: dt.date | None, death: dt.date) -> dt.date | None:
    """The first scan at or after the latent progression and before death.

    When the next scheduled scan would come after the death, the deterioration prompts an
    unscheduled scan on the latent date (if the patient is alive then).
    """
    if latent is None or latent >= death:
        return None
    later = [d for d in scans if d >= latent]
    return later[0] if later and later[0] < death else latent


@dataclass
class Course:
    """What the scans show: sizes before PD, the documented PD date and how, resection date."""

    last: dict[str, Any]  # end-of-induction visit (cohort follow-up dict)
    baseline: dict[str, Any]
    responder: bool
    pd_on: dt.date | None
    pd_by_new_lesion: bool
    resected_on: dt.date | None = None

    def _stable(self) -> dict[str, float]:
        factor = FURTHER_SHRINK if self.responder else 1.0
        return {
            code: (round(max(v * factor, 5.0), 0) if isinstance(v, int | float) else v)
            for code, v in self.last["target"].items()
        }

    def _nadir_sum(self) -> float:
        sums = [sum(t["diameter_mm"] for t in self.baseline["target"])]
        sums.append(sum(v for v in self.last["target"].values() if isinstance(v, int | float)))
        sums.append(sum(v for v in self._stable().values() if isinstance(v, int | float)))
        return min(sums)

    def visit(self, on: dt.date) -> dict[str, Any]:
        """``record_assessment`` keyword arguments for a scan on ``on``."""
        progressed = self.pd_on is not None and on >= self.pd_on
        if self.resected_on is not None and on > self.resected_on:
            # Resected targets and thrombus leave the assessment; recurrence is a new lesion.
            codes_t = [t["id"] for t in self.baseline["target"]]
            codes_n = [n["id"] for n in self.baseline["non_target"]]
            new = "unequivocal" if progressed else "none"
            return {
                "target": dict.fromkeys(codes_t, "resected"),
                "viable": dict.fromkeys(codes_t, "resected"),
                "non_target": dict.fromkeys(codes_n, "resected"),
                "new_lesions": new,
            }
        target = self._stable()
        new = "none"
        if progressed and self.pd_by_new_lesion:
            new = "unequivocal"
        elif progressed:
            total = sum(target.values())
            wanted = max(PD_FACTOR * self._nadir_sum(), self._nadir_sum() + PD_MIN_MM)
            scale = wanted / total
            target = {code: float(math.ceil(v * scale)) for code, v in target.items()}
        fraction = VIABLE_FRACTION_RESPONDER if self.responder and not progressed else 1.0
        return {
            "target": target,
            "viable": {code: round(v * fraction, 0) for code, v in target.items()},
            "non_target": dict(self.last["non_target"]),
            "new_lesions": new,
        }


def record_scans(ctx: Any, pid: int, course: Course, dates: list[dt.date]) -> list[dict[str, Any]]:
    """One ``record_assessment`` per date (the RECIST engine evaluates each)."""
    from talentop.services import record_assessment

    return [record_assessment(ctx, pid, on, **course.visit(on)) for on in dates]


def course_for(
    patient: SyntheticPatient, pd_on: dt.date | None, rng: np.random.Generator
) -> Course:
    """The patient's imaging course with PD documented on ``pd_on`` (None: no PD)."""
    return Course(
        last=patient.followups[-1],
        baseline=patient.baseline,
        responder=patient.latent_response in ("PR", "SD_shrink"),
        pd_on=pd_on,
        pd_by_new_lesion=bool(rng.random() < P_PD_BY_NEW_LESION),
    )
