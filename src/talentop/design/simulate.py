"""Whole-trial simulation, vectorised across replicates, deterministic for a seed.

Replicates are simulated in fixed blocks of ``CHUNK`` trials; block ``i`` draws from
``SeedSequence(seed, spawn_key=(i,))``, so the result does not depend on how blocks are
spread over processes or Dask workers, and memory is bounded by one block.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from talentop.design.batched_tests import batched_analysis
from talentop.design.generate import generate_patients, look_times, observe
from talentop.design.trial import TrialDesign
from talentop.errors import InvalidInput

#: trials per block; part of the random stream's definition (changing it changes results)
CHUNK = 250


def block_seed(seed: int, block: int, cell: int | None = None) -> np.random.SeedSequence:
    """Seed of one block (and grid cell): never taken from worker or process state."""
    key = (block,) if cell is None else (cell, block)
    return np.random.SeedSequence(entropy=seed, spawn_key=key)


def simulate_block(
    design: TrialDesign, *, count: int, seed: int, block: int, cell: int | None = None
) -> pd.DataFrame:
    """Simulate ``count`` trials of block ``block``: the unit of work for processes and Dask."""
    rng = np.random.Generator(np.random.PCG64(block_seed(seed, block, cell)))
    patients = generate_patients(design, count, rng)
    efficacy, futility = design.bounds()
    looks = design.look_events
    times = look_times(patients, looks, design.max_duration_months)
    columns: dict[str, np.ndarray] = {
        "replicate": np.arange(count) + block * CHUNK,
    }
    stop_look = np.zeros(count, dtype=int)
    decision = np.full(count, "final", dtype=object)
    stop_values = {}
    for k in range(len(looks)):
        time, status = observe(patients, times[:, k])
        result = batched_analysis(time, status, patients.experimental)
        label = k + 1
        columns[f"events_{label}"] = result.events.astype(int)
        columns[f"time_{label}"] = times[:, k]
        columns[f"z_{label}"] = result.logrank_z
        columns[f"hr_{label}"] = np.exp(result.log_hr)
        columns[f"se_{label}"] = result.se_log_hr
        open_ = stop_look == 0
        crossed = open_ & (result.logrank_z >= efficacy[k])
        futile = (
            open_
            & ~crossed
            & (futility is not None)
            & (result.logrank_z <= (futility[k] if futility is not None else -np.inf))
        )
        last = k == len(looks) - 1
        decision[crossed] = "efficacy"
        decision[futile] = "futility"
        stopping = crossed | futile | (open_ & last)
        stop_look[stopping] = label
        for name, values in (
            ("median_A", result.median_experimental),
            ("median_B", result.median_control),
            ("hr", np.exp(result.log_hr)),
            ("events", result.events),
            ("duration", times[:, k]),
        ):
            stop_values.setdefault(name, np.full(count, np.nan))[stopping] = values[stopping]
    columns["stop_look"] = stop_look
    columns["decision"] = decision
    columns["rejected"] = decision == "efficacy"
    for name, values in stop_values.items():
        columns[name] = values
    columns["switched"] = np.isfinite(patients.switch).sum(axis=1)
    columns["noncompliant"] = patients.crossed_over.sum(axis=1)
    return pd.DataFrame(columns)


def blocks(replicates: int) -> list[tuple[int, int]]:
    """(block index, count) pairs covering ``replicates`` trials."""
    return [(b, min(CHUNK, replicates - b * CHUNK)) for b in range(-(-replicates // CHUNK))]


def simulate_trials(design: TrialDesign, *, replicates: int, seed: int) -> pd.DataFrame:
    """Simulate ``replicates`` whole trials; one row per replicate.

    Columns per look k: ``events_k``, ``time_k`` (calendar month), ``z_k`` (log-rank,
    > 0 favours arm A), ``hr_k`` (Breslow Cox HR, A vs B), ``se_k`` (its log-HR SE); then ``stop_look``, ``decision``
    ("efficacy" / "futility" / "final"), ``rejected``, and at the stopping look ``median_A``,
    ``median_B`` (KM, months), ``hr``, ``events``, ``duration``; ``switched`` and
    ``noncompliant`` counts.
    """
    if not isinstance(replicates, int | np.integer) or replicates < 1:
        raise InvalidInput.field("replicates", replicates, "a positive whole number of trials")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InvalidInput.field("seed", seed, "an integer >= 0")
    frames = [
        simulate_block(design, count=count, seed=seed, block=block)
        for block, count in blocks(replicates)
    ]
    return pd.concat(frames, ignore_index=True)
