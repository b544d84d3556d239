"""Time `talentop demo` end to end (calibration included) and its phases, per screened patient.

Usage: .venv/bin/python benchmarks/demo.py [--patients 627] [--seed 2025] [--repeat 3]

Each repeat is a fresh process running ``run_demo`` exactly as ``talentop demo`` does
(nothing cached between repeats: calibration, imports, the database and the report are
all redone), timed by wall clock and CPU; the phase split (database set-up, calibration,
cohort generation, services, ADTTE + analysis, report) times the pipeline's own steps.
There is no peer implementation of an end-to-end in-silico TALENTOP; the reference point
is the issue's budget (10 s wall for the default cohort on the 2-core machine), and the
ratio printed is wall time / budget. The machine is shared: the load average before and
after each repeat is printed, and the medians are the figures to quote. To compare two
versions of the code in one run, alternate their checkouts with PYTHONPATH=<src> per
repeat (``--pythonpath A --pythonpath B``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUDGET_S = 10.0
PHASES = ("database", "calibration", "cohort", "services", "analysis", "report")


def _timed(phases: dict[str, float], name: str, func):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            phases[name] = phases.get(name, 0.0) + time.perf_counter() - started

    return wrapper


def _instrument(phases: dict[str, float]) -> None:
    """Time the pipeline's steps by wrapping the functions ``run_demo`` looks up (the same
    names in every version of the code, so two versions are split the same way)."""
    import talentop.demo.outcomes as outcomes
    import talentop.demo.pipeline as pipeline
    import talentop.demo.report as report
    import talentop.demo.safety as safety

    pipeline.seed_randomisation_secret = _timed(
        phases, "database", pipeline.seed_randomisation_secret
    )
    outcomes.outcome_model = _timed(phases, "calibration", outcomes.outcome_model)
    pipeline.generate_cohort = _timed(phases, "cohort", pipeline.generate_cohort)
    pipeline.run_cohort = _timed(phases, "services", pipeline.run_cohort)
    pipeline.adtte = _timed(phases, "analysis", pipeline.adtte)
    safety.read_stored_facts = _timed(phases, "analysis", safety.read_stored_facts)
    pipeline.interim_analysis = _timed(phases, "analysis", pipeline.interim_analysis)
    report.write = _timed(phases, "report", report.write)


def single(patients: int, seed: int) -> dict:
    """One demo in this process (the child side of a repeat)."""
    started, cpu = time.perf_counter(), time.process_time()
    children = os.times()
    try:  # as `talentop demo` does (round 8): the calibration starts in a child first
        from talentop.demo.outcomes import prefetch_outcome_model
    except ImportError:  # an older version of the code: calibrated in-process
        pass
    else:
        prefetch_outcome_model()
    from talentop.demo.pipeline import run_demo

    imported = time.perf_counter() - started
    phases: dict[str, float] = {}
    _instrument(phases)
    with tempfile.TemporaryDirectory() as tmp:
        result = run_demo(Path(tmp) / "report", n_patients=patients, seed=seed)
        database = Path(result.database_url.removeprefix("sqlite:///"))
        audit_entries = _audit_entries(database)
    figures = result.figures
    return {
        "wall_s": time.perf_counter() - started,
        "cpu_s": time.process_time() - cpu,
        # children waited for: calibration, figures, the checkpointer
        "children_cpu_s": _children_cpu(children),
        "import_s": imported,
        "phases": phases,
        "audit_entries": audit_entries,
        "randomised": figures["randomised"],
        "arms": [figures["arm_a"], figures["arm_b"]],
        "ttf_hr": figures["ttf_hr"],
        "os_hr": figures["os_hr"],
    }


def _children_cpu(before: os.times_result) -> float:
    now = os.times()
    return (now.children_user - before.children_user) + (
        now.children_system - before.children_system
    )


def _audit_entries(database: Path) -> int | None:
    import sqlite3

    if not database.exists():
        return None
    with sqlite3.connect(database) as conn:
        return conn.execute("SELECT count(*) FROM audit_trail").fetchone()[0]


def repeat(args: argparse.Namespace, pythonpath: str | None) -> dict:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    load_before = os.getloadavg()[0]
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--single",
            f"--patients={args.patients}",
            f"--seed={args.seed}",
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result["load"] = [load_before, os.getloadavg()[0]]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=627)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--pythonpath", action="append", help="a src folder to time (repeatable; alternated)"
    )
    parser.add_argument("--single", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.single:
        print(json.dumps(single(args.patients, args.seed)))
        return
    versions = args.pythonpath or [None]
    runs: dict[str | None, list[dict]] = {v: [] for v in versions}
    print(f"{os.cpu_count()} cores; {args.patients} screened, seed {args.seed}")
    for i in range(args.repeat):
        for version in versions:
            r = repeat(args, version)
            runs[version].append(r)
            split = "  ".join(f"{p} {r['phases'].get(p, 0):.2f}" for p in PHASES)
            print(
                f"[{version or 'installed'} #{i + 1}] wall {r['wall_s']:.2f} s  cpu "
                f"{r['cpu_s']:.2f} s + children {r['children_cpu_s']:.2f} s  load {r['load'][0]:.1f}->{r['load'][1]:.1f}  | {split}  | "
                f"{r['audit_entries']} audit entries, randomised {r['randomised']} "
                f"{r['arms']}, TTF HR {r['ttf_hr']:.4f}, OS HR {r['os_hr']:.4f}"
            )
    print()
    for version, results in runs.items():
        wall = statistics.median(r["wall_s"] for r in results)
        cpu = statistics.median(r["cpu_s"] for r in results)
        print(f"{version or 'installed'}: median of {len(results)}")
        print(
            f"  demo wall time       {wall:.2f} s   (budget {BUDGET_S:.0f} s: ratio {wall / BUDGET_S:.2f})"
        )
        children = statistics.median(r["children_cpu_s"] for r in results)
        print(f"  demo CPU time        {cpu:.2f} s (+ {children:.2f} s in its children)")
        print(f"  per screened patient {1000 * wall / args.patients:.1f} ms")
        for phase in ("import", *PHASES):
            values = [
                r["import_s"] if phase == "import" else r["phases"].get(phase, 0.0) for r in results
            ]
            print(f"  {phase:20s} {statistics.median(values):.2f} s")
        outcomes = {(r["randomised"], tuple(r["arms"]), r["ttf_hr"], r["os_hr"]) for r in results}
        print(f"  outcomes identical across repeats: {len(outcomes) == 1}")
    if len(runs) > 1:
        first, *others = runs.values()
        same = all(
            (a["randomised"], a["arms"], a["ttf_hr"], a["os_hr"])
            == (b["randomised"], b["arms"], b["ttf_hr"], b["os_hr"])
            for other in others
            for a, b in zip(first, other, strict=False)
        )
        print(f"same allocations and hazard ratios in every version: {same}")
        base = statistics.median(r["wall_s"] for r in first)
        for version, results in list(runs.items())[1:]:
            ratio = statistics.median(r["wall_s"] for r in results) / base
            print(f"wall ratio {version} / {versions[0] or 'installed'}: {ratio:.2f}")


if __name__ == "__main__":
    main()
