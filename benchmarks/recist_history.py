"""Time RECIST re-evaluation scan by scan, as ``record_assessment`` does it, with and
without the reuse of what earlier evaluations of the same patient parsed and evaluated.

A service evaluates a patient's whole history at every new scan. ``talentop.recist``
keeps, per baseline, the follow-ups it has parsed (``model._PARSED``) and the timepoints it
has evaluated with their rounded figures (``engine._EVALUATED``); the peer is the same
evaluation with both forgotten before every call (what each call costs without reuse).
Both produce the same results (checked here on every call; tests/recist/test_engine_reuse.py).

Run: ``.venv/bin/python benchmarks/recist_history.py [--patients 100] [--scans 20] [--runs 3]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time

from _repeat import check_runs, load, median

from talentop.recist import engine, model


def histories(patients: int, scans: int, seed: int = 20251130) -> list[dict]:
    """Seeded two-target, one-non-target patients, one scan every 6 weeks."""
    rng = random.Random(seed)
    out = []
    for _ in range(patients):
        baseline = sizes = [rng.randint(150, 600) / 10, rng.randint(100, 400) / 10]
        start = dt.date(2025, 1, 6)
        followups = []
        for visit in range(1, scans + 1):
            sizes = [round(mm * rng.uniform(0.85, 1.06), 1) for mm in sizes]
            followups.append(
                {
                    "date": (start + dt.timedelta(days=42 * visit)).isoformat(),
                    "target": {"T1": sizes[0], "T2": sizes[1]},
                    "non_target": {"N1": "present"},
                    "new_lesions": "none",
                }
            )
        out.append(
            {
                "baseline": {
                    "date": start.isoformat(),
                    "target": [
                        {"id": "T1", "organ": "liver", "diameter_mm": baseline[0]},
                        {"id": "T2", "organ": "lung", "diameter_mm": baseline[1]},
                    ],
                    "non_target": [{"id": "N1", "organ": "bone"}],
                },
                "followups": followups,
            }
        )
    return out


def _forget() -> None:
    engine._EVALUATED.clear()
    model._PARSED.clear()


def scan_by_scan(cases: list[dict], *, reuse: bool) -> tuple[list[dict], float]:
    results = []
    started = time.perf_counter()
    for case in cases:
        for n in range(1, len(case["followups"]) + 1):
            if not reuse:
                _forget()
            results.append(engine.evaluate({**case, "followups": case["followups"][:n]}))
    return results, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100)
    parser.add_argument("--scans", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3, help="repeats; the median is quoted")
    args = parser.parse_args()
    check_runs(args.runs)
    cases = histories(args.patients, args.scans)
    evaluations = args.patients * args.scans
    scan_by_scan(cases[:5], reuse=True)  # warm-up for both
    ratios, ours_times, peer_times = [], [], []
    for run in range(1, args.runs + 1):
        _forget()
        ours, ours_s = scan_by_scan(cases, reuse=True)
        peer, peer_s = scan_by_scan(cases, reuse=False)
        if ours != peer:
            print("the results differ: reuse is wrong")
            return 1
        ours_times.append(ours_s)
        peer_times.append(peer_s)
        ratios.append(ours_s / peer_s)
        print(f"run {run}: with reuse {ours_s:.3f} s, without {peer_s:.3f} s ({load()})")
    print(f"{args.patients} patients x {args.scans} scans = {evaluations} evaluations; median:")
    print(
        f"with reuse:    {median(ours_times):.3f} s ({1e3 * median(ours_times) / evaluations:.3f} ms each)"
    )
    print(
        f"without reuse: {median(peer_times):.3f} s ({1e3 * median(peer_times) / evaluations:.3f} ms each)"
    )
    print(
        f"ratio with / without = {median(ratios):.2f} (time ratio, lower is faster); same results"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
