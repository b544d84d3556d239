"""The whole demo in one call: cohort -> services -> ADTTE -> analysis -> report."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from talentop.demo.analysis import Interim, interim_analysis, key_figures
from talentop.demo.cohort import DAYS_PER_MONTH, generate_cohort
from talentop.demo.run import Progress, TrialRun, adtte, run_cohort

FIRST_SCREENING = dt.date(2021, 3, 1)
#: Screening to randomisation: 7 days to the first dose, 12 weeks of induction and
#: assessment, MDT review and randomisation a few days later.
SCREEN_TO_RANDOMISATION_DAYS = 95


def data_cut(model: Any) -> dt.date:
    """The interim data cut the calibration assumes (months after the first randomisation)."""
    first_randomisation = FIRST_SCREENING + dt.timedelta(days=SCREEN_TO_RANDOMISATION_DAYS)
    return first_randomisation + dt.timedelta(days=round(model.data_cut_months * DAYS_PER_MONTH))


@dataclass
class DemoResult:
    """One demo run: where things went and the key figures."""

    report: Path
    database_url: str
    figures: dict[str, Any]
    seconds: float
    run: TrialRun
    interim: Interim
    adtte: pd.DataFrame
    dynamic: dict[str, Any] | None = None


def fresh_sqlite(path: Path) -> str:
    """Remove a previous demo database (and its WAL files) so every run starts clean."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def seed_randomisation_secret(store: Any, seed: int) -> None:
    """Demo only: derive the allocation secret from the seed so ``--seed`` reproduces the arms.

    A real trial keeps the random secret ``talentop db init`` draws; here reproducibility
    of the whole in-silico run matters more than concealment. Recorded in the audit trail.
    """
    import hashlib

    from talentop.store import append_audit, upgrade
    from talentop.store.models import RandomisationSecret

    upgrade(store)
    with store.unit_of_work() as session:
        row = RandomisationSecret(secret=hashlib.sha256(f"talentop-demo-{seed}".encode()).digest())
        session.add(row)
        session.flush()
        append_audit(
            session,
            actor="system",
            entity="randomisation_secret",
            entity_id=row.id,
            action="create",
            before=None,
            after={"id": row.id, "derived_from": "demo seed"},
        )


def simulate(
    url: str, *, n_patients: int, seed: int, dynamic: bool, progress: Progress | None = None
) -> tuple[TrialRun, pd.DataFrame, Interim]:
    """Create the database at ``url``, run the cohort through it, derive and analyse."""
    from talentop.demo.outcomes import outcome_model
    from talentop.demo.safety import read_stored_facts
    from talentop.protocol import load_protocol
    from talentop.store import Store, init_database

    protocol = load_protocol("talentop")
    store = Store(url)
    seed_randomisation_secret(store, seed)
    init_database(store)
    model = outcome_model()
    cohort = generate_cohort(n_patients, seed=seed, first_screening=FIRST_SCREENING, model=model)
    run = run_cohort(
        cohort,
        store,
        protocol,
        cutoff_date=data_cut(model),
        model=model,
        dynamic=dynamic,
        progress=progress,
    )
    data = adtte(run, store, protocol)
    stored = read_stored_facts(store, protocol)
    return run, data["continued"], interim_analysis(run, data, stored)


def dynamic_table(
    standard: dict[str, Any], dynamic: dict[str, Any], interim: Interim
) -> pd.DataFrame:
    """Standard vs dynamic-reassessment run, side by side (switches counted in the database)."""
    facts = interim.stored.patients
    arm_b = facts[facts.arm == "B"]
    switched, operated = int(arm_b.switched.sum()), int(arm_b.operated.sum())
    reviews = int(interim.randomised.get("reassessment_reviews", pd.Series(dtype=float)).sum())

    def fmt(value: Any) -> str:
        if value is None:
            return "not reached"
        return f"{value:.2f}" if isinstance(value, float) else str(value)

    def pct(count: int) -> str:
        return f"{count} of {len(arm_b)} ({100 * count / max(len(arm_b), 1):.1f}%)"

    rows = [
        (label, fmt(standard[key]), fmt(dynamic[key]))
        for label, key in (
            ("Median TTF arm A, months", "ttf_median_a"),
            ("Median TTF arm B, months", "ttf_median_b"),
            ("TTF HR (A vs B)", "ttf_hr"),
            ("OS HR (A vs B)", "os_hr"),
            ("Arm A operated", "operated"),
        )
    ]
    rows += [
        ("Arm B MDT reassessments (flagged by the service)", "0", str(reviews)),
        ("Arm B switched to surgery (MDT resectable)", "0", pct(switched)),
        ("Arm B operated after the switch (conversion)", "0", pct(operated)),
    ]
    return pd.DataFrame(rows, columns=["Figure", "Standard", "Dynamic reassessment"])


def run_demo(
    out_dir: Path,
    *,
    db_url: str | None = None,
    n_patients: int = 627,
    seed: int = 2025,
    dynamic_reassessment: bool = False,
    progress: Progress | None = None,
) -> DemoResult:
    """Run the demo; the default database is ``<out_dir>/talentop-demo.db``, recreated."""
    from talentop.demo.report import write
    from talentop.protocol import load_protocol

    started = time.perf_counter()
    out_dir = Path(out_dir)
    url = db_url or fresh_sqlite(out_dir / "talentop-demo.db")
    run, data, interim = simulate(
        url, n_patients=n_patients, seed=seed, dynamic=False, progress=progress
    )
    figures = key_figures(interim)
    dynamic_frame = dynamic = None
    if dynamic_reassessment:
        dyn_url = fresh_sqlite(out_dir / "talentop-demo-dynamic.db")
        dyn_run, _, dyn_interim = simulate(
            dyn_url, n_patients=n_patients, seed=seed, dynamic=True, progress=progress
        )
        dynamic = key_figures(dyn_interim)
        dynamic_frame = dynamic_table(figures, dynamic, dyn_interim)
        dynamic["conversion"] = dynamic_frame.iloc[-1, 2]
    out_dir.mkdir(parents=True, exist_ok=True)
    data.to_csv(out_dir / "adtte.csv", index=False)
    report = write(
        interim,
        load_protocol("talentop"),
        out_dir,
        seed=seed,
        n_patients=n_patients,
        dynamic=dynamic_frame,
    )
    return DemoResult(
        report, url, figures, time.perf_counter() - started, run, interim, data, dynamic
    )
