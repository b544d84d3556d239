"""Benchmark: batched whole-trial simulation vs a lifelines loop (not a test).

Work per trial: a 200-patient two-arm trial analysed once, with one log-rank test and one
Cox hazard ratio. Peer: a plain Python loop calling lifelines ``logrank_test`` and
``CoxPHFitter`` per trial (data generation not timed for the peer, so the ratio is
conservative). Ours: ``simulate_trials`` (generation + log-rank + Breslow Cox + KM medians,
vectorised across trials). Prints trials/s for both and the ratio; checks that z and HR
agree with lifelines on the first replicates of the very same simulated trials.

Run: .venv/bin/python benchmarks/simulate.py [--ours 20000] [--peer 50]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter
from lifelines.statistics import logrank_test

from talentop.design import exponential_design, simulate_trials
from talentop.design.generate import generate_patients, look_times, observe
from talentop.design.simulate import CHUNK, block_seed

SEED = 2025


def _design():
    return exponential_design(
        hazard_ratio=0.7,
        control_median_months=12.0,
        n_patients=200,
        look_events=[150],
        accrual_rate_per_month=10.0,
        efficacy_z=[1.959964],
    )


def _same_trials(design, count):
    """The data of block 0 exactly as simulate_trials draws it."""
    rng = np.random.Generator(np.random.PCG64(block_seed(SEED, 0)))
    patients = generate_patients(design, count, rng)
    cutoff = look_times(patients, design.look_events, design.max_duration_months)[:, 0]
    time_, status = observe(patients, cutoff)
    return time_, status, patients.experimental


def _lifelines(time_, status, x):
    a, b = x == 1, x == 0
    z2 = logrank_test(time_[a], time_[b], status[a], status[b]).test_statistic
    fit = CoxPHFitter().fit(pd.DataFrame({"T": time_, "E": status, "x": x}), "T", "E")
    return z2, float(fit.hazard_ratios_["x"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ours", type=int, default=20_000, help="trials for the batched run")
    parser.add_argument("--peer", type=int, default=50, help="trials for the lifelines loop")
    args = parser.parse_args()
    design = _design()
    time_, status, x = _same_trials(design, CHUNK)  # block 0 has CHUNK trials
    time_, status = time_[: args.peer], status[: args.peer]
    warnings.simplefilter("ignore")

    start = time.perf_counter()
    peer = [_lifelines(time_[r], status[r], x) for r in range(len(time_))]
    peer_seconds = time.perf_counter() - start
    peer_rate = len(peer) / peer_seconds

    simulate_trials(design, replicates=CHUNK, seed=SEED)  # warm-up (imports, caches)
    start = time.perf_counter()
    ours = simulate_trials(design, replicates=args.ours, seed=SEED)
    ours_seconds = time.perf_counter() - start
    ours_rate = len(ours) / ours_seconds

    z_diff = max(abs(ours["z_1"][r] ** 2 - peer[r][0]) for r in range(5))
    hr_rel = max(abs(ours["hr_1"][r] / peer[r][1] - 1) for r in range(5))
    print(
        f"lifelines loop : {len(peer):>6} trials in {peer_seconds:7.2f} s = {peer_rate:9.1f} trials/s"
    )
    print(
        f"talentop batched: {len(ours):>6} trials in {ours_seconds:7.2f} s = {ours_rate:9.1f} trials/s"
    )
    print(f"ratio (ours / lifelines loop): {ours_rate / peer_rate:.0f}x (goal >= 100x)")
    print(
        f"agreement on 5 identical trials: max |z^2 - chi2| = {z_diff:.2e}, max |HR/HR_ll - 1| = {hr_rel:.2e}"
    )
    print(f"power at HR 0.7, 150 events: {ours['rejected'].mean():.3f}")


if __name__ == "__main__":
    main()
