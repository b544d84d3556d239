"""Benchmark: reconstructing a 500-click curve (Guyot) and digitising a 1000 x 700 KM figure.

Usage: python benchmarks/ipd.py [--clicks 500] [--repeat 5]
No Python peer exists (IPDfromKM and reconstructKM are R; R is not on this machine), so each
step is timed against a plain-Python reference loop of the same algorithm in the same run:
Guyot's per-interval iteration written with lists and nested loops (censorings counted click
by click), and the curve tracer's dynamic programme written cell by cell. The references
must give the same answers (events per interval; the traced path), which is printed.
Goals (issue 14): reconstruction well under 1 s, digitising a few seconds at most.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "ipd"))
from ipd_journal import ARMS, X_MAX, at_risk_table, draw_journal_figure, simulate_arms  # noqa: E402

from talentop.ipd.axes import read_image  # noqa: E402
from talentop.ipd.clicks import AtRisk, Clicks, clean_clicks  # noqa: E402
from talentop.ipd.digitise import digitise  # noqa: E402
from talentop.ipd.guyot import _with_at_risk_clicks, reconstruct  # noqa: E402
from talentop.ipd.trace import _band_sums, best_path, line_thickness  # noqa: E402
from talentop.stats import kaplan_meier  # noqa: E402


def reference_walk(survival, times, t_end, n_start, censored, km_last):
    """One interval, plain Python: censor times spread evenly, counted click by click."""
    t_start = times[0]
    censor_times = [
        t_start + (t_end - t_start) * j / (censored + 1) for j in range(1, censored + 1)
    ]
    bounds = list(times) + [t_end]
    events, at_risk, used = [], n_start, 0
    for k in range(len(times)):
        in_click = sum(1 for c in censor_times if bounds[k] <= c < bounds[k + 1])
        d = 0
        if km_last > 0 and at_risk > 0:
            d = min(max(int(round(at_risk * (1 - survival[k] / km_last))), 0), at_risk)
            if d > 0:
                km_last *= 1 - d / at_risk
        take = min(in_click, at_risk - d)
        used += take
        at_risk -= d + take
        events.append(d)
    return at_risk, events, used, km_last


def reference_reconstruct(time_, survival, t_risk, n_risk):
    """Guyot's iteration for the intervals with a published end (the benchmark's table ends
    with 0 at risk, so every interval has one): events per interval."""
    lower = [next(i for i, t in enumerate(time_) if t >= r) for r in t_risk]
    upper = [i - 1 for i in lower[1:]] + [len(time_) - 1]
    km_last, n_start, per_interval = 1.0, int(n_risk[0]), []
    for i in range(len(t_risk) - 1):
        clicks_t = time_[lower[i] : upper[i] + 1]
        clicks_s = survival[lower[i] : upper[i] + 1]
        s_end = clicks_s[-1]
        target = int(n_risk[i + 1])
        guess = n_start * s_end / clicks_s[0] - target if clicks_s[0] > 0 else 0.0
        censored = int(min(max(round(guess), 0), max(n_start - target, 0)))
        best, seen = None, set()
        for _ in range(50):
            result = reference_walk(clicks_s, clicks_t, t_risk[i + 1], n_start, censored, km_last)
            seen.add(censored)
            if best is None or abs(result[0] - target) < abs(best[0] - target):
                best = result
            if result[0] == target:
                break
            following = int(min(max(censored + result[0] - target, 0), n_start))
            if following in seen:
                break
            censored = following
        per_interval.append(sum(best[1]))
        km_last = best[3]
        n_start = min(best[0], target)
    return per_interval


def reference_path(score, penalty):
    """The tracer's dynamic programme cell by cell (same recurrence and tie rules)."""
    height, width = score.shape
    value = [float(score[r, 0]) for r in range(height)]
    pointers = [list(range(height))]
    for column in range(1, width):
        new_value, pointer = [0.0] * height, [0] * height
        best, best_row = -np.inf, 0
        for row in range(height):
            jump = best - penalty if row > 0 else -np.inf
            if value[row] >= jump:
                new_value[row], pointer[row] = float(score[row, column]) + value[row], row
            else:
                new_value[row], pointer[row] = float(score[row, column]) + jump, best_row
            if value[row] >= best:
                best, best_row = value[row], row
        value = new_value
        pointers.append(pointer)
    path = [int(np.argmax(value))]
    for column in range(width - 1, 0, -1):
        path.append(pointers[column][path[-1]])
    return np.array(path[::-1])


def timed(func, repeat):
    best, result = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    return result, best


def bench_reconstruct(clicks_count: int, repeat: int) -> None:
    data = simulate_arms(2026, n_per_arm=400)
    rows = data[data["arm"] == ARMS[1]]
    km = kaplan_meier(rows["time"], rows["event"])
    rng = np.random.default_rng(2026)
    times = np.sort(rng.uniform(0, rows["time"].max(), clicks_count))
    survival = km.survival_at(times) + rng.normal(0, 0.004, clicks_count)
    clicks = clean_clicks(Clicks(times, survival))
    table = at_risk_table(data)
    at_risk = AtRisk(table["time"].to_numpy(), table[ARMS[1]].to_numpy())
    ours, ours_s = timed(lambda: reconstruct(clicks, at_risk), repeat)
    t_all, s_all = _with_at_risk_clicks(clicks, at_risk.time[at_risk.n_risk > 0])
    live = at_risk.n_risk > 0
    reference, ref_s = timed(
        lambda: reference_reconstruct(list(t_all), list(s_all), list(at_risk.time[live]),
                                      list(at_risk.n_risk[live])), repeat)  # fmt: skip
    same = ours.intervals["events"].tolist()[: len(reference)] == reference
    print(f"reconstruct: {len(clicks.time)} clicks, {len(ours.ipd)} patients, "
          f"{int(ours.ipd['event'].sum())} events")  # fmt: skip
    print(f"  talentop {ours_s * 1000:8.1f} ms   plain loop {ref_s * 1000:8.1f} ms   "
          f"ratio {ref_s / ours_s:5.1f}x   goal < 1000 ms: {'yes' if ours_s < 1 else 'no'}   "
          f"same events per interval: {same}")  # fmt: skip


def bench_digitise(repeat: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "km.png"
        draw_journal_figure(simulate_arms(2026), path)
        result, ours_s = timed(
            lambda: digitise(read_image(path), x_range=(0, X_MAX), y_range=(0, 1)), repeat
        )
        rgb = read_image(path)
    print(f"digitise: 1000 x 700 px figure, {len(result.curves)} curves "
          f"({', '.join(f'{c.name} {len(c.clicks)} clicks' for c in result.curves)})")  # fmt: skip
    # the tracer alone, on the first curve's ink, against the cell-by-cell programme
    from talentop.ipd.colours import class_weights

    area = result.area
    curve = result.curves[0]
    top, left = curve.origin
    region = rgb[top : int(np.ceil(area.bottom)) + 7, left : int(np.ceil(area.right)) + 7]
    own = class_weights(region, curve.colour)
    other = class_weights(region, result.curves[1].colour)
    thickness = line_thickness(own)
    trace, trace_s = timed(lambda: best_path(own, other, thickness), repeat)
    half = max(1, int(round(thickness / 2)))
    score = _band_sums(np.clip(own + 0.5 * other, 0, 1), half)
    path, ref_s = timed(lambda: reference_path(score, 0.25 * thickness), 1)
    print(
        f"  talentop whole digitise {ours_s:6.2f} s   goal < 5 s: {'yes' if ours_s < 5 else 'no'}"
    )
    print(f"  tracer {trace_s * 1000:7.1f} ms   plain loop {ref_s * 1000:8.1f} ms   "
          f"ratio {ref_s / trace_s:5.1f}x   same path: {bool(np.array_equal(path, trace.rows))}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    bench_reconstruct(args.clicks, args.repeat)
    bench_digitise(args.repeat)


if __name__ == "__main__":
    main()
