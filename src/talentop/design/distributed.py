"""Run a grid of designs on Dask (an existing cluster or a local one) or local processes.

The unit of work is one (grid cell, block) pair; its random stream comes from
``SeedSequence(seed, spawn_key=(cell, block))`` and never from worker state, so a Dask
run, a process pool and a serial run give identical tables for the same seed.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import pandas as pd

from talentop.design.boundaries import gs_boundaries
from talentop.design.operating import operating_characteristics
from talentop.design.sample_size import schoenfeld_events_exact
from talentop.design.simulate import blocks, simulate_block
from talentop.design.trial import TrialDesign
from talentop.errors import InvalidInput

GRID_KEYS = ("hr", "n", "looks", "events")


def parse_grid(items: list[str]) -> dict[str, list[Any]]:
    """``["hr=0.6,0.7", "n=200,300", "looks=0.5:1,1"]`` -> lists per key.

    Commas separate the values of a key; colons separate the information fractions of one
    ``looks`` value (``0.5:1`` = an interim at half the events and the final analysis).
    Every value is checked and a problem names the grid key and value.
    """
    grid: dict[str, list[Any]] = {}
    problems = []
    for item in items:
        key, _, values = item.partition("=")
        key = key.strip()
        if key not in GRID_KEYS or not values:
            problems.append(
                f"grid item {item!r}: expected KEY=V1,V2 with KEY one of {', '.join(GRID_KEYS)}"
            )
            continue
        if key in grid:
            problems.append(f"grid item {item!r}: key {key} given twice; list its values once")
            continue
        try:
            if key == "looks":
                grid[key] = [tuple(float(x) for x in v.split(":")) for v in values.split(",")]
            elif key in ("n", "events"):
                grid[key] = [int(v) for v in values.split(",")]
            else:
                grid[key] = [float(v) for v in values.split(",")]
        except ValueError:
            problems.append(f"grid item {item!r}: expected numbers separated by commas")
            continue
        problems += [p for value in grid[key] if (p := _check_value(key, value))]
    if "hr" not in grid and not problems:
        problems.append("grid: expected at least hr=... (hazard ratios to simulate)")
    if problems:
        raise InvalidInput(problems)
    return grid


def _check_value(key: str, value: Any) -> str | None:
    """A problem naming the grid key and value, or None."""
    if key == "hr" and not (math.isfinite(value) and value > 0):
        return f"grid hr={value:g}: expected a finite positive hazard ratio (A vs B)"
    if key == "n" and value < 2:
        return f"grid n={value}: expected at least 2 patients"
    if key == "events" and value < 1:
        return f"grid events={value}: expected at least 1 event at the final analysis"
    if key == "looks":
        text = ":".join(f"{f:g}" for f in value)
        increasing = all(b > a for a, b in zip(value, value[1:], strict=False))
        if not (all(0 < f <= 1 for f in value) and increasing and value[-1] == 1):
            return (
                f"grid looks={text}: expected increasing information fractions in (0, 1] "
                "separated by ':', ending at 1 (e.g. 0.5:1)"
            )
    return None


def check_run(replicates: Any, seed: Any, connect_timeout: float = 10.0) -> None:
    """Check the run options of a simulation before any work starts."""
    problems = []
    if isinstance(replicates, bool) or not isinstance(replicates, int) or replicates < 1:
        problems.append(f"replicates={replicates!r}: expected a whole number of trials >= 1")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        problems.append(f"seed={seed!r}: expected an integer >= 0")
    if not (math.isfinite(connect_timeout) and connect_timeout > 0):
        problems.append(f"connect_timeout={connect_timeout!r}: expected seconds > 0")
    if problems:
        raise InvalidInput(problems)


def grid_cells(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Cartesian product of the grid, in a fixed order (the cell index keys the seed)."""
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grid.values())]


def cell_design(
    cell: dict[str, Any],
    *,
    control_median_months: float = 12.0,
    accrual_rate_per_month: float = 10.0,
    alpha: float = 0.025,
    power: float = 0.8,
    spending: str = "obf",
    design_hr: float | None = None,
) -> TrialDesign:
    """One grid cell as a 1:1 exponential design; events from Schoenfeld x GS inflation.

    Without ``events`` the final count is powered for ``design_hr`` (default: the cell's
    HR). A cell with HR 1 (a type I error run) cannot be sized at its own HR, so it needs
    ``events`` or ``design_hr``.
    """
    hr = float(cell["hr"])
    fractions = list(cell.get("looks", (1.0,)))
    if design_hr is not None and not (
        math.isfinite(design_hr) and design_hr > 0 and design_hr != 1
    ):
        raise InvalidInput.field(
            "design_hr", design_hr, "a finite positive hazard ratio other than 1"
        )
    if hr == 1 and "events" not in cell and design_hr is None:
        raise InvalidInput(
            "grid hr=1 without events: Schoenfeld's event count is infinite at HR 1; expected "
            "events=N in the grid or a design HR to size the trial for (--design-hr 0.7)"
        )
    target_hr = design_hr or hr
    if "events" in cell:
        events = int(cell["events"])
    else:
        bounds = gs_boundaries(
            information=fractions, alpha=alpha, spending=spending, beta=1 - power
        )
        fixed = schoenfeld_events_exact(hazard_ratio=target_hr, alpha=alpha, power=power, sided=1)
        events = math.ceil(fixed * bounds.inflation)
    n = int(cell.get("n", math.ceil(events * 1.3)))
    look_events = sorted({max(1, round(f * events)) for f in fractions})
    if events > n:
        raise InvalidInput(
            f"grid n={n}: expected at least the {events} events the design needs "
            f"(HR {target_hr:g}); give a larger n or fewer events"
        )
    control = math.log(2) / control_median_months
    return TrialDesign.build(
        arms=(
            {"name": "A", "hazards": [(0.0, control * hr)]},
            {"name": "B", "hazards": [(0.0, control)]},
        ),
        n_patients=n,
        accrual={"rate_per_month": accrual_rate_per_month},
        look_events=look_events,
        alpha=alpha,
        spending=spending,
    )


def _task(design: TrialDesign, count: int, seed: int, block: int, cell: int) -> pd.DataFrame:
    return simulate_block(design, count=count, seed=seed, block=block, cell=cell)


def run_grid(
    designs: list[TrialDesign],
    *,
    replicates: int,
    seed: int,
    mode: str = "serial",
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    client: Any = None,
    connect_timeout: float = 10.0,
) -> list[pd.DataFrame]:
    """Simulate every design; returns one replicate table per design, in order.

    ``mode``: "serial", "processes" (a local process pool), "dask" (``client`` if given,
    else the cluster at ``scheduler``, else a LocalCluster with 2 worker processes).
    ``progress(done, total)`` is called as blocks finish (dask ``as_completed``).
    An unreachable ``scheduler`` raises InvalidInput after ``connect_timeout`` seconds.
    """
    check_run(replicates, seed, connect_timeout)
    tasks = [
        (design, count, seed, block, cell)
        for cell, design in enumerate(designs)
        for block, count in blocks(replicates)
    ]
    results: dict[tuple[int, int], pd.DataFrame] = {}
    total = len(tasks)

    def done(key: tuple[int, int], frame: pd.DataFrame) -> None:
        results[key] = frame
        if progress is not None:
            progress(len(results), total)

    if mode == "serial":
        for task in tasks:
            done((task[4], task[3]), _task(*task))
    elif mode == "processes":
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(max_workers=2) as pool:
            futures = {pool.submit(_task, *task): (task[4], task[3]) for task in tasks}
            for future in as_completed(futures):
                done(futures[future], future.result())
    elif mode == "dask":
        _run_dask(tasks, done, scheduler, client, connect_timeout)
    else:
        raise InvalidInput.field("mode", mode, "serial, processes or dask")
    frames = []
    for cell in range(len(designs)):
        parts = [results[(cell, block)] for block, _ in blocks(replicates)]
        frames.append(pd.concat(parts, ignore_index=True))
    return frames


def _connect(scheduler: str, timeout: float) -> Any:
    """A Client of the scheduler at ``scheduler``, or InvalidInput naming the address."""
    from dask.distributed import Client

    try:
        return Client(scheduler, timeout=timeout)
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        reason = str(exc).strip() or type(exc).__name__
        raise InvalidInput(
            f"scheduler={scheduler!r}: cannot reach Dask scheduler {scheduler}: {reason}; "
            f"expected a running scheduler at that address (connect_timeout={timeout:g} s)"
        ) from None


def _run_dask(
    tasks: list[tuple], done: Callable, scheduler: str | None, client: Any, timeout: float
) -> None:
    from dask.distributed import Client, LocalCluster, as_completed

    owned = []
    if client is None:
        if scheduler:
            client = _connect(scheduler, timeout)
        else:
            cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True)
            owned.append(cluster)
            client = Client(cluster)
        owned.insert(0, client)
    try:
        futures = [client.submit(_task, *task, pure=False) for task in tasks]
        keys = {f.key: (task[4], task[3]) for f, task in zip(futures, tasks, strict=True)}
        for future in as_completed(futures):
            done(keys[future.key], future.result())
    finally:
        for resource in owned:
            resource.close()


def grid_table(
    cells: list[dict[str, Any]], designs: list[TrialDesign], frames: list[pd.DataFrame]
) -> pd.DataFrame:
    """One row per grid cell: design and operating characteristics.

    ``looks`` (events per look) and ``stop_efficacy`` (probability per look) hold lists.
    """
    rows = []
    for cell, design, frame in zip(cells, designs, frames, strict=True):
        oc = operating_characteristics(frame, true_hr=float(cell["hr"]))
        rows.append(
            {
                "hr": float(cell["hr"]),
                "n": int(design.n_patients),
                "looks": [int(e) for e in design.look_events],
                "rejection_rate": oc.rejection_rate,
                "mc_se": oc.rejection_se,
                "expected_events": oc.expected_events,
                "expected_duration_months": oc.expected_duration_months,
                "stop_efficacy": [float(p) for p in oc.stop_efficacy],
                "mean_hr": oc.mean_hr,
                "log_hr_bias": oc.log_hr_bias,
                "hr_trials": oc.hr_estimable,  # the trials the two figures above are over
            }
        )
    return pd.DataFrame(rows)
