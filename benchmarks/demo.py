"""Time `talentop demo` phases for the default cohort (627 screened), and the per-patient cost.

Usage: .venv/bin/python benchmarks/demo.py [--patients 627] [--seed 2025]
There is no peer implementation of an end-to-end in-silico TALENTOP; the reference point is
the 60 s budget of the issue, and the ratio printed is wall time / 60 s.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=627)
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args()

    import os

    from talentop.demo.analysis import interim_analysis
    from talentop.demo.outcomes import outcome_model
    from talentop.demo.pipeline import run_demo
    from talentop.demo.run import adtte
    from talentop.demo.safety import read_stored_facts
    from talentop.protocol import load_protocol
    from talentop.store import Store

    t0 = time.perf_counter()
    model = outcome_model()  # calibrate_talentop(), cached for the run below
    calibration = time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        result = run_demo(Path(tmp) / "report", n_patients=args.patients, seed=args.seed)
        total = time.perf_counter() - started
        t0 = time.perf_counter()
        protocol, store = load_protocol("talentop"), Store(result.database_url)
        interim_analysis(
            result.run, adtte(result.run, store, protocol), read_stored_facts(store, protocol)
        )
        analysis = time.perf_counter() - t0
    print(f"patients screened     {args.patients}")
    print(f"demo wall time        {total:.1f} s   (budget 60 s: ratio {total / 60:.2f})")
    print(f"per screened patient  {1000 * total / args.patients:.1f} ms")
    print(f"ADTTE + DB read + analysis  {analysis:.2f} s")
    print(f"calibration (before)  {calibration:.1f} s ({model.calibration})")
    print(f"load average          {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
