"""Start-up time of the CLI: `talentop --version` and `talentop --help` (goal < 0.3 s), a
numeric command's help (`talentop design --help`), and one light command, `talentop recist
CASE.json --json` (the RECIST engine on one case).

Usage: .venv/bin/python benchmarks/cli_startup.py [--repeat 15] [--pythonpath SRC ...]

Each is run as a fresh process (the installed console script), wall clock, median of the
repeats; the peer in the same run is the bare interpreter (`python -c pass`) and the
interpreter importing Typer (what any Typer CLI pays). Several ``--pythonpath`` folders
are alternated run by run (before / after in one run). The load average is printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = Path(sys.executable).with_name("talentop")
CASE = Path(__file__).resolve().parents[1] / "examples" / "recist" / "pr.json"


def timed(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, env=env, check=False, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--pythonpath", action="append")
    args = parser.parse_args()
    cases = {
        "python -c pass (peer)": [sys.executable, "-c", "pass"],
        "python -c 'import typer' (peer)": [sys.executable, "-c", "import typer"],
        "talentop --version": [str(SCRIPT), "--version"],
        "talentop --help": [str(SCRIPT), "--help"],
        "talentop design --help": [str(SCRIPT), "design", "--help"],
        "talentop recist pr.json --json": [str(SCRIPT), "recist", str(CASE), "--json"],
    }
    versions = args.pythonpath or [None]
    times: dict[tuple[str | None, str], list[float]] = {}
    load = os.getloadavg()[0]
    for _ in range(args.repeat):
        for version in versions:
            env = dict(os.environ)
            if version:
                env["PYTHONPATH"] = version
            for name, cmd in cases.items():
                times.setdefault((version, name), []).append(timed(cmd, env))
    print(f"{os.cpu_count()} cores, load average {load:.1f} -> {os.getloadavg()[0]:.1f}")
    for (version, name), values in times.items():
        label = f"[{version}] " if version else ""
        print(
            f"{label}{name:34s} median {statistics.median(values):.3f} s  (min {min(values):.3f})"
        )


if __name__ == "__main__":
    main()
