"""The in-silico run of a trial randomised at entry (TALENTACE) end to end: cohort -> services
-> ADTTE (the protocol's primary endpoint, e.g. TACE-PFS) -> analysis -> report.

Chosen by protocol data (``randomisation.timing: at_entry``), not by the trial's name.
"""

from __future__ import annotations

import datetime as dt
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from talentop.demo.analysis import EndpointResult, compare, endpoint_frame
from talentop.demo.cohort import DAYS_PER_MONTH
from talentop.demo.collector import fewer_collections
from talentop.demo.entry_cohort import entry_model, generate_entry_cohort
from talentop.demo.entry_run import EntryRun, run_entry_cohort
from talentop.demo.pipeline import (
    DEMO_CHECKPOINT_INTERVAL_S,
    DEMO_FULL_CHECK_EVERY,
    DEMO_WAL_PAGES,
    FIRST_SCREENING,
    demo_keyring,
    finish_checkpoints,
    fresh_sqlite,
    require_empty,
    seed_randomisation_secret,
)
from talentop.demo.run import Progress
from talentop.reports import json_number

ARMS = ("A", "B")
#: Months at which the KM rate of the primary endpoint is reported (TALENTACE: 12 and 18).
RATE_MONTHS = (12, 18)


@dataclass
class EntryInterim:
    """The analysis of one run: primary endpoint, OS, mRECIST PFS, TTF, the plan."""

    run: EntryRun
    primary: EndpointResult
    os: EndpointResult
    pfs_mrecist: EndpointResult | None
    procedures: pd.DataFrame  # per randomised patient: arm, TACE count, ...
    plan: Any
    gs: dict[str, Any]
    key: str  # the primary PARAMCD in lower case (e.g. "tacepfs")


def _median(km: Any) -> float | None:
    value = float(km.median)
    return value if np.isfinite(value) else None


def analyse(run: EntryRun, adtte: pd.DataFrame, protocol: Any) -> EntryInterim:
    """KM, stratified log-rank and Cox for the primary endpoint, OS and mRECIST PFS."""
    from talentop.design.plan import plan_from_sap

    paramcd = protocol.endpoints.primary
    randomised = run.patient_frame()
    primary = compare(endpoint_frame(adtte, paramcd, randomised), paramcd)
    os_ = compare(endpoint_frame(adtte, "OS", randomised), "OS")
    pfs = (
        compare(endpoint_frame(adtte, "PFSMR", randomised), "PFSMR")
        if (adtte.PARAMCD == "PFSMR").any()
        else None
    )
    plan = plan_from_sap(protocol.sap) if protocol.sap is not None else None
    z = None if primary.hr_reason is not None else float(-primary.z)
    gs = plan.at_interim(int(primary.data.event.sum()), z) if plan is not None else {}
    return EntryInterim(run, primary, os_, pfs, randomised, plan, gs, paramcd.lower())


def key_figures(interim: EntryInterim) -> dict[str, Any]:
    """Headline numbers (JSON-safe), keys named after the primary endpoint."""
    k, p = interim.key, interim.primary
    figures: dict[str, Any] = {
        "screened": interim.run.screened,
        "randomised": len(interim.procedures),
        "arm_a": int((interim.procedures.arm == "A").sum()),
        "arm_b": int((interim.procedures.arm == "B").sum()),
        f"{k}_median_a": _median(p.km["A"]),
        f"{k}_median_b": _median(p.km["B"]),
        f"{k}_hr": json_number(p.hr),
        f"{k}_hr_ci": [json_number(v) for v in p.hr_ci],
        f"{k}_hr_reason": p.hr_reason,
        f"{k}_p": json_number(p.logrank_p),
        f"{k}_events": int(p.data.event.sum()),
        "os_hr": json_number(interim.os.hr),
        "os_events": int(interim.os.data.event.sum()),
        "expected": dict(interim.run.model.expected),
    }
    for months in RATE_MONTHS:
        for arm in ARMS:
            rate = float(np.asarray(p.km[arm].survival_at(months)).ravel()[0])
            figures[f"{k}_rate_{months}m_{arm.lower()}"] = json_number(100 * rate)
    return figures


def data_cut(model: Any) -> dt.date:
    """The data cut of the entry model (months after the first randomisation)."""
    first = FIRST_SCREENING + dt.timedelta(days=1)
    return first + dt.timedelta(days=round(model.data_cut_months * DAYS_PER_MONTH))


def simulate_entry(
    url: str,
    protocol: Any,
    *,
    n_patients: int,
    seed: int,
    progress: Progress | None = None,
    keys: Any = None,
    finishing: ExitStack | None = None,
) -> tuple[EntryRun, pd.DataFrame, EntryInterim]:
    """Create the database (keys and checkpoints in ``keys``), run the cohort through the
    services while checkpointing the audit log, derive ADTTE, analyse (``finishing``:
    ``pipeline.finish_checkpoints``)."""
    from talentop.services import Checkpointer, Context, patient_timelines
    from talentop.services.endpoints import adtte_for_protocol
    from talentop.store import Store

    store = Store(url, keys=keys, wal_autocheckpoint=DEMO_WAL_PAGES)
    seed_randomisation_secret(store, seed)
    model = entry_model(protocol)
    cohort = generate_entry_cohort(
        n_patients, seed=seed, model=model, first_screening=FIRST_SCREENING
    )
    cut = data_cut(model)
    checkpointer = Checkpointer(
        store, DEMO_CHECKPOINT_INTERVAL_S, process=True, full_every=DEMO_FULL_CHECK_EVERY
    ).start()
    try:
        run = run_entry_cohort(
            cohort, store, protocol, cutoff_date=cut, model=model, progress=progress
        )
    except BaseException:
        checkpointer.stop()
        raise
    finish_checkpoints(checkpointer, finishing)
    try:
        timelines = patient_timelines(Context(store=store, protocol=protocol, actor="system"))
    finally:
        store.dispose()  # its connections closed here, not left to the collector at exit
    adtte = adtte_for_protocol(timelines, protocol, cut)
    return run, adtte, analyse(run, adtte, protocol)


@dataclass
class EntryDemoResult:
    """One run: where things went, the key figures, the analysis."""

    report: Path
    database_url: str
    figures: dict[str, Any]
    seconds: float
    interim: EntryInterim
    adtte: pd.DataFrame


@fewer_collections()
def run_entry_demo(
    out_dir: Path,
    protocol: Any,
    *,
    db_url: str | None = None,
    n_patients: int = 400,
    seed: int = 2025,
    progress: Progress | None = None,
) -> EntryDemoResult:
    """Run the at-entry demo; the default database is ``<out_dir>/talentop-demo.db``."""
    from talentop.demo.entry_report import write
    from talentop.reports import rendering_in
    from talentop.reports.render_pool import RenderPool

    started = time.perf_counter()
    out_dir = Path(out_dir)
    if db_url is not None:
        require_empty(db_url)
    url = db_url or fresh_sqlite(out_dir / "talentop-demo.db")
    with ExitStack() as finishing:  # the final checkpoint is signed while the report runs
        _, adtte, interim = simulate_entry(
            url,
            protocol,
            n_patients=n_patients,
            seed=seed,
            progress=progress,
            keys=demo_keyring(out_dir, "talentop-demo"),
            finishing=finishing,
        )
        figures = key_figures(interim)
        out_dir.mkdir(parents=True, exist_ok=True)
        adtte.to_csv(out_dir / "adtte.csv", index=False)
        with RenderPool(workers=2) as pool, rendering_in(pool):  # figures by forked children
            report = write(
                interim, protocol, out_dir, seed=seed, n_patients=n_patients, figures=figures
            )
    return EntryDemoResult(report, url, figures, time.perf_counter() - started, interim, adtte)
