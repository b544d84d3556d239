"""What the demo's model expects, computed from the model (the "expected" column).

Counts follow from the generator's probabilities (``demo.cohort``: exclusions, responses, the
MDT's resectable probability by response and baseline class, withdrawals); the grade >= 3
surgical complication rate from the drawn Clavien-Dindo probabilities plus post-operative
deaths (within 30 days: grade V) under the OS model, by a fixed-seed Monte Carlo.
"""

from __future__ import annotations

import numpy as np

from talentop.demo.cohort import (
    DAYS_PER_MONTH,
    EXCLUSION_PROBS,
    RESECTABLE_PROBS,
    RESPONSE_PROBS,
    SURGERY_DELAY_DAYS,
    WITHDRAW_DURING_INDUCTION,
)
from talentop.demo.outcomes import OutcomeModel
from talentop.demo.pathways import BASELINE_CLASS_PROBS, RESECTABLE_MULTIPLIER

#: Clavien-Dindo grades counted as "grade >= 3" (Dindo 2004: IIIa and above).
HIGH_GRADES = ("IIIa", "IIIb", "IVa", "IVb", "V")
POST_OP_DEATH_DAYS = 30
MC_DRAWS = 200_000


def expected_counts(n_screened: int) -> dict[str, float]:
    """Expected patients at each CONSORT step for ``n_screened`` screened (generator model)."""
    eligible = 1.0 - sum(EXCLUSION_PROBS.values())
    resectable = sum(
        RESPONSE_PROBS[r]
        * sum(
            BASELINE_CLASS_PROBS[c] * min(1.0, RESECTABLE_PROBS[r] * RESECTABLE_MULTIPLIER[c])
            for c in BASELINE_CLASS_PROBS
        )
        for r in RESPONSE_PROBS
    )
    induction = n_screened * eligible
    randomised = induction * (1.0 - WITHDRAW_DURING_INDUCTION) * resectable
    return {"induction": induction, "randomised": randomised, "arm_a": randomised / 2}


def _post_op_death_share(model: OutcomeModel, seed: int = 20251129) -> float:
    """P(death within 30 days of the resection | operated), Monte Carlo under the model."""
    rng = np.random.default_rng(seed)
    n = MC_DRAWS
    delay = rng.integers(SURGERY_DELAY_DAYS[0], SURGERY_DELAY_DAYS[1] + 1, size=n)
    ttf = model.ttf_operated.inverse(rng.exponential(size=n))
    dies = rng.random(n) < model.death_at_failure
    death = ttf + np.where(dies, 0.0, rng.exponential(size=n) / model.post_failure_operated)
    operated = ttf > delay / DAYS_PER_MONTH
    early = death <= (delay + POST_OP_DEATH_DAYS) / DAYS_PER_MONTH
    return float((operated & early).sum() / operated.sum())


def expected_cd3_pct(model: OutcomeModel) -> float:
    """Expected % of operated patients with a Clavien-Dindo grade >= IIIa complication."""
    drawn = sum(p for g, p in model.clavien_dindo_probs.items() if g in HIGH_GRADES)
    death = _post_op_death_share(model)
    return 100 * (death + (1 - death) * drawn)


def os_hr_with_reassessment(
    model: OutcomeModel,
    months: tuple[float, ...],
    *,
    n_patients: int = 8000,
    seed: int = 20251130,
) -> dict[str, dict[float, float]]:
    """Expected OS HR (A vs B) without and with dynamic reassessment of arm B, by Cox on a
    large generated cohort (no database), analysed ``months`` after the first randomisation.

    The same patients in both (common random numbers): arm A as the runner (planned resection
    unless failing first), arm B on atezo/bev; with reassessment, an arm-B patient whose
    tumour responds (latent PR: the trigger needs a CR/PR) and whom the MDT would find
    resectable (``conversion_months``) before failing switches then, and OS follows (OS =
    TTF + post-failure survival). Uniform entry over the accrual, censoring at the cut.
    """
    import pandas as pd

    from talentop.demo.cohort import generate_cohort
    from talentop.stats.cox import cox

    cohort = generate_cohort(n_patients, seed=seed, model=model)
    rng = np.random.default_rng(seed)
    entry = rng.uniform(0, model.accrual_months, n_patients)
    rows = []
    for i, p in enumerate(cohort):
        arm_a = i % 2 == 0
        if arm_a:
            path = "operated" if p.operated_if_allocated else "systemic"
            standard = dynamic = p.os_months[path]
        else:
            standard = p.os_months["systemic"]
            switches = (
                p.latent_response == "PR"
                and p.conversion_months is not None
                and p.conversion_months < p.ttf_months["systemic"]
            )
            dynamic = p.os_months["switched"] if switches else standard
        rows.append((float(arm_a), entry[i], standard, dynamic))
    data = pd.DataFrame(rows, columns=["arm_a", "entry", "standard", "dynamic"])
    out: dict[str, dict[float, float]] = {"standard": {}, "dynamic": {}}
    for reading in out:
        for month in months:
            follow = np.maximum(month - data["entry"], 0.0)
            frame = pd.DataFrame(
                {
                    "time": np.minimum(data[reading], follow) + 1e-9,
                    "event": (data[reading] <= follow).astype(float),
                    "arm_a": data["arm_a"],
                }
            )
            fit = cox(frame, duration="time", event="event", covariates=["arm_a"])
            out[reading][month] = float(fit.hr["arm_a"])
    return out
