"""The whole demo in one call: cohort -> services -> ADTTE -> analysis -> report."""

from __future__ import annotations

import datetime as dt
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from talentop.demo.analysis import Interim, interim_analysis, key_figures, require_both_arms
from talentop.demo.cohort import DAYS_PER_MONTH, generate_cohort
from talentop.demo.collector import fewer_collections
from talentop.demo.run import Progress, TrialRun, adtte, run_cohort
from talentop.reports import fmt_hr, fmt_num

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
    dynamic_database_url: str | None = None
    dynamic_interim: Interim | None = None
    dynamic_run: TrialRun | None = None


#: Seconds between the demo's audit checkpoints (a server's default is 300 s). Short, so
#: that the checkpointer process (another core) sequences and hashes the log while the
#: cohort runs, and the final checkpoint has only the last seconds' entries left.
DEMO_CHECKPOINT_INTERVAL_S = 2.0
#: Every 10th tick (and the first and last) reads and checks every stored leaf; the ticks
#: between extend the tree signed last (``Checkpointer(full_every=...)``).
DEMO_FULL_CHECK_EVERY = 10


#: SQLite: the demo's write-ahead log is copied into the database file every 20,000 pages
#: (80 MiB) instead of SQLite's 1,000: about 0.4 s less of the demo's commits waiting for
#: copies and syncs (docs/benchmarks.md, "Write path, round 8"). PostgreSQL ignores it.
DEMO_WAL_PAGES = 20_000


def demo_keyring(out_dir: Path, name: str) -> Any:
    """The demo database's own key and checkpoint folders: ``OUT/<name>-keys`` and
    ``OUT/<name>-checkpoints`` (never the trial's ``TALENTOP_KEY_DIR``)."""
    from talentop.store import KeyRing

    return KeyRing(out_dir / f"{name}-keys", out_dir / f"{name}-checkpoints")


def fresh_sqlite(path: Path) -> str:
    """Remove a previous demo database (its WAL files, keys and checkpoints) so every run
    starts clean."""
    import shutil

    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    for folder in ("keys", "checkpoints"):
        shutil.rmtree(path.parent / f"{path.stem}-{folder}", ignore_errors=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def finish_checkpoints(checkpointer: Any, finishing: ExitStack | None) -> None:
    """After the cohort: the checkpointer's child signs the final checkpoint (a full check of
    every stored leaf, 0.4-0.7 s for the default demo) while this process derives, analyses
    and writes the report; ``finishing`` (the caller's exit stack) waits for it when the
    caller is done. Without one, it is waited for here."""
    checkpointer.request_stop()
    if finishing is None:
        checkpointer.stop()
    else:
        finishing.callback(checkpointer.stop)


def seed_randomisation_secret(store: Any, seed: int) -> None:
    """Demo only: initialise ``store`` with a randomisation key derived from the seed (in
    the store's key folder) so ``--seed`` reproduces the arms.

    A real trial keeps the random key ``talentop db init`` draws; here reproducibility
    of the whole in-silico run matters more than concealment. The key's registration (id
    and fingerprint, never the key) is in the audit log.
    """
    import hashlib

    from talentop.store import init_database

    derived = hashlib.sha256(f"talentop-demo-{seed}".encode()).digest()
    init_database(store, randomisation_secret=derived)


def require_empty(url: str) -> None:
    """``InvalidInput`` (before anything is written) unless the database has no table."""
    from talentop.errors import InvalidInput
    from talentop.store import Store, database_is_empty

    store = Store(url)
    try:
        empty = database_is_empty(store)
    finally:
        store.dispose()
    if not empty:
        raise InvalidInput.field(
            "--db",
            store.display_url,
            "an empty database (it already has tables; nothing was written)",
        )


def simulate(
    url: str,
    *,
    n_patients: int,
    seed: int,
    dynamic: bool,
    progress: Progress | None = None,
    keys: Any = None,
    protocol: Any = None,
    finishing: ExitStack | None = None,
) -> tuple[TrialRun, pd.DataFrame, Interim]:
    """Create the database at ``url`` (keys and checkpoints in ``keys``), run the cohort
    through it while checkpointing the audit log, derive and analyse (``finishing``: see
    ``finish_checkpoints``)."""
    from talentop.demo.outcomes import outcome_model
    from talentop.demo.safety import read_stored_facts
    from talentop.protocol import load_protocol
    from talentop.services.audit import Checkpointer
    from talentop.store import Store

    protocol = protocol or load_protocol("talentop")
    store = Store(url, keys=keys, wal_autocheckpoint=DEMO_WAL_PAGES)
    seed_randomisation_secret(store, seed)
    model = outcome_model()
    cohort = generate_cohort(n_patients, seed=seed, first_screening=FIRST_SCREENING, model=model)
    checkpointer = Checkpointer(
        store, DEMO_CHECKPOINT_INTERVAL_S, process=True, full_every=DEMO_FULL_CHECK_EVERY
    ).start()
    try:
        run = run_cohort(
            cohort,
            store,
            protocol,
            cutoff_date=data_cut(model),
            model=model,
            dynamic=dynamic,
            progress=progress,
        )
    except BaseException:
        checkpointer.stop()
        raise
    finish_checkpoints(checkpointer, finishing)
    try:
        patients = run.patient_frame()
        require_both_arms(run.screened, patients[patients["arm"].notna()])
        data = adtte(run, store, protocol)
        stored = read_stored_facts(store, protocol)
    finally:
        store.dispose()  # its connections closed here, not left to the collector at exit
    return run, data["primary"], interim_analysis(run, data, stored, protocol=protocol)


def conversion_figures(interim: Interim) -> dict[str, Any]:
    """Arm-B reassessments, switches and conversions, counted in the trial database.

    ``switched``: arm-B patients with a recorded ``switch_to_surgery`` (their own event; they
    stay arm B, intention to treat). ``unresectable``: arm-B patients the MDT found not
    resectable at their first reassessment on continued atezo/bev (technically unresectable
    then); ``converted``: those of them later found resectable and switched.
    """
    facts = interim.stored.patients
    arm_b = facts[facts.arm == "B"]
    unresectable = arm_b[arm_b.unresectable_at_first_review.astype(bool)]
    return {
        "arm_b": len(arm_b),
        "reassessment_reviews": int(arm_b.switch_reviews.sum()),
        "switched": int(arm_b.switched.sum()),
        "operated_after_switch": int(arm_b.after_switch.sum()),
        "unresectable": len(unresectable),
        "converted": int(unresectable.switched.sum()),
    }


def _of(count: int, total: int) -> str:
    return f"{count} of {total} ({fmt_num(100 * count / total)}%)" if total else "0 of 0"


def dynamic_table(standard: Interim, dynamic: Interim, model: Any = None) -> pd.DataFrame:
    """Standard vs dynamic-reassessment run of the same cohort and seed, side by side; with
    the outcome ``model``, the model's expected OS HR under each (``demo.expected``): one run
    of 201 patients has too few deaths before the cut to show how switching moves OS."""

    def median(km: Any) -> str:
        return fmt_num(km.median, 1, "not reached")

    rows = []
    for name, attr in (("TTF", "ttf"), ("OS", "os")):
        a, b = getattr(standard, attr), getattr(dynamic, attr)
        rows += [
            (f"Median {name} arm A, months", median(a.km["A"]), median(b.km["A"])),
            (f"Median {name} arm B, months", median(a.km["B"]), median(b.km["B"])),
            (
                f"{name} HR A vs B (95% CI)",
                fmt_hr(a.hr, *a.hr_ci, reason=a.hr_reason),
                fmt_hr(b.hr, *b.hr_ci, reason=b.hr_reason),
            ),
            (
                f"{name} events A / B",
                " / ".join(str(int(a.data.event[a.data.arm == x].sum())) for x in ("A", "B")),
                " / ".join(str(int(b.data.event[b.data.arm == x].sum())) for x in ("A", "B")),
            ),
        ]
    st, dy = conversion_figures(standard), conversion_figures(dynamic)
    rows += [
        ("Arm A operated", str(standard.operated), str(dynamic.operated)),
        (
            "Arm B MDT reassessments (flagged by the service)",
            str(st["reassessment_reviews"]),
            str(dy["reassessment_reviews"]),
        ),
        (
            "Arm B switched to surgery (switch / arm B)",
            _of(st["switched"], st["arm_b"]),
            _of(dy["switched"], dy["arm_b"]),
        ),
        (
            "Arm B operated after the switch",
            _of(st["operated_after_switch"], st["arm_b"]),
            _of(dy["operated_after_switch"], dy["arm_b"]),
        ),
        (
            "Conversion: unresectable at the first reassessment, later resectable",
            _of(st["converted"], st["unresectable"]),
            _of(dy["converted"], dy["unresectable"]),
        ),
    ]
    if model is not None:
        from talentop.demo.expected import os_hr_with_reassessment

        months = (model.data_cut_months, 48.0)
        expected = os_hr_with_reassessment(model, months)
        for month in months:
            rows.append(
                (
                    f"Expected OS HR A vs B at month {month:.1f} (model, 8,000 patients)",
                    fmt_num(expected["standard"][month], 3),
                    fmt_num(expected["dynamic"][month], 3),
                )
            )
    return pd.DataFrame(rows, columns=["Figure", "Standard", "Dynamic reassessment"])


@fewer_collections()
def run_demo(
    out_dir: Path,
    *,
    db_url: str | None = None,
    n_patients: int = 627,
    seed: int = 2025,
    dynamic_reassessment: bool = False,
    progress: Progress | None = None,
    protocol: Any = None,
) -> DemoResult:
    """Run the demo; the default database is ``<out_dir>/talentop-demo.db``, recreated.

    ``protocol``: a randomised-after-induction protocol (default TALENTOP); a protocol
    randomised at entry runs through ``demo.entry_pipeline`` instead (``talentop demo``).
    """
    from talentop.demo.report import write
    from talentop.protocol import load_protocol
    from talentop.reports import rendering_in
    from talentop.reports.render_pool import RenderPool

    protocol = protocol or load_protocol("talentop")
    started = time.perf_counter()
    out_dir = Path(out_dir)
    if db_url:
        require_empty(db_url)
    url = db_url or fresh_sqlite(out_dir / "talentop-demo.db")
    keys = demo_keyring(out_dir, "talentop-demo")
    if db_url:
        # A database of the caller's: keys from an earlier demo in OUT would not match it.
        import shutil

        for folder in (keys.key_dir, keys.checkpoint_dir):
            shutil.rmtree(folder, ignore_errors=True)
    # The final audit checkpoints are signed by the checkpointers' children while the
    # analysis and the report run; the block ends when they are (``finish_checkpoints``).
    with ExitStack() as finishing:
        run, data, interim = simulate(
            url,
            n_patients=n_patients,
            seed=seed,
            dynamic=False,
            progress=progress,
            keys=keys,
            protocol=protocol,
            finishing=finishing,
        )
        figures = key_figures(interim)
        dynamic_frame = dynamic = dyn_url = dyn_interim = dyn_run = None
        if dynamic_reassessment:
            dyn_url = fresh_sqlite(out_dir / "talentop-demo-dynamic.db")
            dyn_run, _, dyn_interim = simulate(
                dyn_url,
                n_patients=n_patients,
                seed=seed,
                dynamic=True,
                progress=progress,
                keys=demo_keyring(out_dir, "talentop-demo-dynamic"),
                protocol=protocol,
                finishing=finishing,
            )
            dynamic = key_figures(dyn_interim)
            dynamic_frame = dynamic_table(interim, dyn_interim, run.model)
            dynamic["conversion"] = conversion_figures(dyn_interim)
        out_dir.mkdir(parents=True, exist_ok=True)
        data.to_csv(out_dir / "adtte.csv", index=False)
        # Figures drawn by forked children while the report draws the next ones (render_pool).
        with RenderPool(workers=2) as pool, rendering_in(pool):
            report = write(
                interim,
                protocol,
                out_dir,
                seed=seed,
                n_patients=n_patients,
                dynamic=dynamic_frame,
                dynamic_interim=dyn_interim,
            )
    return DemoResult(
        report,
        url,
        figures,
        time.perf_counter() - started,
        run,
        interim,
        data,
        dynamic,
        dyn_url,
        dyn_interim,
        dyn_run,
    )
