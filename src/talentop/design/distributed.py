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
        try:
            if key == "looks":
                grid[key] = [tuple(float(x) for x in v.split(":")) for v in values.split(",")]
            elif key in ("n", "events"):
                grid[key] = [int(v) for v in values.split(",")]
            else:
                grid[key] = [float(v) for v in values.split(",")]
        except ValueError:
            problems.append(f"grid item {item!r}: expected numbers separated by commas")
    if "hr" not in grid and not problems:
        problems.append("grid: expected at least hr=... (hazard ratios to simulate)")
    if problems:
        raise InvalidInput(problems)
    return grid


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

    Without ``events`` the final count is powered for ``design_hr`` (default: the cell's HR,
    or 0.7 when the cell's HR is 1, i.e. a type I error run).
    """
    hr = float(cell["hr"])
    fractions = list(cell.get("looks", (1.0,)))
    target_hr = design_hr or (hr if hr != 1 else 0.7)
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
        raise InvalidInput.field(
            "n", n, f"at least the {events} events the design needs (HR {target_hr})"
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
) -> list[pd.DataFrame]:
    """Simulate every design; returns one replicate table per design, in order.

    ``mode``: "serial", "processes" (a local process pool), "dask" (``client`` if given,
    else the cluster at ``scheduler``, else a LocalCluster with 2 worker processes).
    ``progress(done, total)`` is called as blocks finish (dask ``as_completed``).
    """
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
        _run_dask(tasks, done, scheduler, client)
    else:
        raise InvalidInput.field("mode", mode, "serial, processes or dask")
    frames = []
    for cell in range(len(designs)):
        parts = [results[(cell, block)] for block, _ in blocks(replicates)]
        frames.append(pd.concat(parts, ignore_index=True))
    return frames


def _run_dask(tasks: list[tuple], done: Callable, scheduler: str | None, client: Any) -> None:
    from dask.distributed import Client, LocalCluster, as_completed

    owned = []
    if client is None:
        if scheduler:
            client = Client(scheduler)
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
    """One row per grid cell: design and operating characteristics."""
    rows = []
    for cell, design, frame in zip(cells, designs, frames, strict=True):
        oc = operating_characteristics(frame, true_hr=float(cell["hr"]))
        rows.append(
            {
                "hr": float(cell["hr"]),
                "n": design.n_patients,
                "looks": ":".join(f"{e}" for e in design.look_events),
                "rejection_rate": oc.rejection_rate,
                "mc_se": oc.rejection_se,
                "expected_events": oc.expected_events,
                "expected_duration_months": oc.expected_duration_months,
                "stop_efficacy": ":".join(f"{p:.4f}" for p in oc.stop_efficacy),
                "mean_hr": oc.mean_hr,
                "log_hr_bias": oc.log_hr_bias,
            }
        )
    return pd.DataFrame(rows)
