"""Benchmark: Kaplan-Meier + log-rank, talentop vs lifelines, on the same data.

Usage: python benchmarks/km.py [--rows 1000000] [--runs 3]
Goal: no slower than lifelines (ratio >= 1); same log-rank statistic (difference printed).
Both are warmed up on 2,000 rows; repeated ``--runs`` times (>= 3), the median is quoted.
"""

from __future__ import annotations

import argparse
import time

from _repeat import check_runs, load, median
from _survival_data import heavy_ties

from talentop.stats import kaplan_meier_by, logrank


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3, help="repeats; the median is quoted")
    args = parser.parse_args()
    check_runs(args.runs)
    data = heavy_ties(args.rows)
    t, e, g = data.time.to_numpy(), data.event.to_numpy(), data.arm.to_numpy()
    print(f"rows={len(data):,} distinct times={data.time.nunique()}")

    from lifelines import KaplanMeierFitter
    from lifelines.statistics import logrank_test

    # warm-up on 2,000 rows: imports and lazy initialisation are not what is compared
    kaplan_meier_by(t[:2000], e[:2000], g[:2000])
    KaplanMeierFitter().fit(t[:2000], e[:2000])
    logrank(t[:2000], e[:2000], g[:2000])
    logrank_test(t[:1000], t[1000:2000], e[:1000], e[1000:2000])
    ours_times, peer_times = [], []
    for run in range(1, args.runs + 1):
        start = time.perf_counter()
        curves = kaplan_meier_by(t, e, g)
        test = logrank(t, e, g)
        ours_times.append(time.perf_counter() - start)

        start = time.perf_counter()
        fits = {}
        for arm in (0, 1):
            mask = g == arm
            fits[arm] = KaplanMeierFitter().fit(t[mask], e[mask])
            _ = fits[arm].median_survival_time_
        ref = logrank_test(t[g == 0], t[g == 1], e[g == 0], e[g == 1])
        peer_times.append(time.perf_counter() - start)
        print(f"run {run}: ours {ours_times[-1]:.3f} s, lifelines {peer_times[-1]:.3f} s "
              f"({load()})")  # fmt: skip

    ratio = median([p / o for p, o in zip(peer_times, ours_times, strict=True)])
    diff = abs(test.statistic - ref.test_statistic)
    medians = [curves[arm].median for arm in (0, 1)]
    print(f"medians (ours) {medians}, lifelines {[fits[a].median_survival_time_ for a in (0, 1)]}")
    print(f"median of {args.runs} runs:")
    print(
        f"{'peer':22} {'ours s':>8} {'peer s':>8} {'ratio':>7} {'goal':>6} {'met?':>5} {'|dchisq|':>9}"
    )
    met = "yes" if ratio >= 1 and diff < 1e-6 * max(1.0, ref.test_statistic) else "no"
    print(
        f"{'lifelines KM+logrank':22} {median(ours_times):8.3f} {median(peer_times):8.3f} "
        f"{ratio:6.1f}x {1:5.0f}x {met:>5} {diff:9.1e}"
    )


if __name__ == "__main__":
    main()
