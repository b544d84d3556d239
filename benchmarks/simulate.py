"""Benchmark: batched whole-trial simulation vs a lifelines loop (not a test).

Work per trial: a 200-patient two-arm trial analysed once, with one log-rank test and one
Cox hazard ratio. Peer: a plain Python loop calling lifelines ``logrank_test`` and
``CoxPHFitter`` per trial (data generation not timed for the peer, so the ratio is
conservative). Ours: ``simulate_trials`` (generation + log-rank + Breslow Cox + KM medians,
vectorised across trials). Both get the same warm-up before timing (imports, caches,
lifelines' first fit); the peer runs at least 200 trials. Repeated ``--runs`` times (>= 3);
prints each run and the median of trials/s and of the ratio; checks that z and HR agree
with lifelines on the first replicates of the very same simulated trials.

Run: .venv/bin/python benchmarks/simulate.py [--ours 20000] [--peer 200] [--runs 3]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd
from _repeat import check_runs, load, median, timed
from lifelines import CoxPHFitter
from lifelines.statistics import logrank_test

from talentop.design import exponential_design, simulate_trials
from talentop.design.generate import generate_patients, look_times, observe
from talentop.design.simulate import CHUNK, block_seed

SEED = 2025
MIN_PEER_TRIALS = 200
WARM_UP = 5  # trials each engine runs before the clock starts


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
    parser.add_argument("--peer", type=int, default=MIN_PEER_TRIALS,
                        help=f"trials for the lifelines loop (>= {MIN_PEER_TRIALS})")  # fmt: skip
    parser.add_argument("--runs", type=int, default=3, help="repeats; the median is quoted")
    args = parser.parse_args()
    check_runs(args.runs)
    if args.peer < MIN_PEER_TRIALS:
        raise SystemExit(f"--peer {args.peer}: expected at least {MIN_PEER_TRIALS} trials")
    design = _design()
    blocks = -(-(args.peer + WARM_UP) // CHUNK)
    time_, status, x = _same_trials(design, CHUNK * blocks)
    warnings.simplefilter("ignore")

    # the same warm-up for both: a few trials each before any clock starts
    for r in range(WARM_UP):
        _lifelines(time_[-1 - r], status[-1 - r], x)
    simulate_trials(design, replicates=WARM_UP, seed=SEED + 1)

    peer_rates, ours_rates, ratios = [], [], []
    for run in range(1, args.runs + 1):
        peer, peer_s = timed(lambda: [_lifelines(time_[r], status[r], x) for r in range(args.peer)])
        ours, ours_s = timed(lambda: simulate_trials(design, replicates=args.ours, seed=SEED))
        peer_rate, ours_rate = len(peer) / peer_s, len(ours) / ours_s
        peer_rates.append(peer_rate)
        ours_rates.append(ours_rate)
        ratios.append(ours_rate / peer_rate)
        print(
            f"run {run}: lifelines loop {len(peer)} trials in {peer_s:6.2f} s = "
            f"{peer_rate:7.1f}/s; talentop {len(ours)} in {ours_s:6.2f} s = {ours_rate:9.1f}/s; "
            f"ratio {ratios[-1]:.0f}x ({load()})"
        )
    z_diff = max(abs(ours["z_1"][r] ** 2 - peer[r][0]) for r in range(5))
    hr_rel = max(abs(ours["hr_1"][r] / peer[r][1] - 1) for r in range(5))
    print(
        f"median of {args.runs}: lifelines loop {median(peer_rates):.1f} trials/s, talentop "
        f"{median(ours_rates):,.0f} trials/s, ratio {median(ratios):.0f}x (goal >= 100x)"
    )
    print(f"agreement on 5 identical trials: max |z^2 - chi2| = {z_diff:.2e}, "
          f"max |HR/HR_ll - 1| = {hr_rel:.2e}")  # fmt: skip
    print(f"power at HR 0.7, 150 events: {ours['rejected'].mean():.3f}")


if __name__ == "__main__":
    main()
