"""Limits checked before any work or allocation starts: a request that cannot fit the machine
(memory) or cannot finish in reasonable time is refused with a message naming the option,
the value and the limit. Every limit here is listed, with its reason, in docs/limits.md.
"""

from __future__ import annotations

import math
import os

from talentop.errors import InvalidInput

# ``talentop.design`` (scipy.optimize, pandas: about 0.8 s) is imported by the checks that
# need its limits, not here: `talentop recist` and `talentop demo` import this module too.

#: Hazard ratios a simulation or a design accepts. Beyond them one arm has (almost) no
#: events in any trial and every estimate degenerates (hr=1e-300 divided by zero).
HR_RANGE = (0.01, 100.0)
#: Memory of one simulated block (CHUNK trials) per patient slot, measured: 830 MB at
#: n = 20,000 and 220 MB at n = 2,000 (about 34 kB per patient, plus ~150 MB of Python).
BLOCK_BYTES_PER_PATIENT = 40_000
#: Memory of one result row (one trial of one grid cell) in the final table.
RESULT_BYTES_PER_TRIAL = 1_000
#: Simulation work: patient-trials (replicates x patients, summed over the grid cells);
#: the batched engine does about 2 million a second per core, so this is about 3 hours.
MAX_PATIENT_TRIALS = 2 * 10**10
#: Processes that hold a block at once (LocalCluster or process pool: 2 workers).
PARALLEL_BLOCKS = 2
#: Share of the memory available when the request starts that a request may plan to use.
MEMORY_SHARE = 0.5
#: The demo: about 58 ms per screened patient and a 1 MB database per 100 patients;
#: 20,000 patients is about 20 minutes (twice with --dynamic-reassessment).
MAX_DEMO_PATIENTS = 20_000
#: RECIST: a case's follow-ups are re-evaluated from the start at each one (work ~ n^2):
#: 400 take 0.3 s, 1,600 take 2.3 s. 500 is more than 50 years of 6-weekly scans.
MAX_FOLLOWUPS = 500
MAX_NON_TARGETS = 100
MAX_RECIST_FILES = 10_000


def available_memory() -> int:
    """Bytes of memory available now (MemAvailable from /proc/meminfo, else total)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover - not Linux
        pass
    try:  # pragma: no cover - not Linux
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return 8 * 2**30


def _size(count: float) -> str:
    for unit, scale in (("TB", 2**40), ("GB", 2**30), ("MB", 2**20)):
        if count >= scale:
            return f"{count / scale:,.1f} {unit}"
    return f"{count / 2**10:,.0f} kB"


def hazard_ratio(option: str, value: float) -> str | None:
    """A problem if a hazard ratio is outside HR_RANGE."""
    low, high = HR_RANGE
    if not (math.isfinite(value) and low <= value <= high):
        return f"{option}={value:g}: expected a hazard ratio between {low:g} and {high:g}"
    return None


def design_options(alpha: float, power: float, looks: int) -> list[str]:
    """The numerical limits of the group-sequential bounds, named by option."""
    from talentop.design.boundaries import MAX_LOOKS, MIN_ALPHA, MIN_BETA

    problems = []
    if 0 < alpha < MIN_ALPHA:
        problems.append(
            f"--alpha={alpha:g}: expected at least {MIN_ALPHA:g} (the bounds are computed "
            "reliably down to there)"
        )
    if 1 - MIN_BETA < power < 1:
        problems.append(
            f"--power={power!r}: expected at most {1 - MIN_BETA:g} (the bounds are computed "
            "reliably up to there)"
        )
    if looks > MAX_LOOKS:
        problems.append(f"--looks: {looks} looks; expected at most {MAX_LOOKS}")
    return problems


def simulation(
    *,
    patients: list[int],
    replicates: int,
    parallel: int,
    memory: int | None = None,
) -> list[str]:
    """Memory and work of a simulation grid (one n per cell) before anything is allocated."""
    from talentop.design.simulate import CHUNK

    memory = available_memory() if memory is None else memory
    budget = MEMORY_SHARE * memory
    problems = []
    largest = max(patients)
    block = BLOCK_BYTES_PER_PATIENT * largest * parallel
    results = RESULT_BYTES_PER_TRIAL * replicates * len(patients)
    if block > budget:
        most = int(budget / (BLOCK_BYTES_PER_PATIENT * parallel))
        problems.append(
            f"--grid n={largest:,}: a block of {CHUNK} trials of {largest:,} patients needs "
            f"about {_size(block)} ({parallel} at once); {_size(memory)} is available: expected "
            f"n <= {most:,} on this machine"
        )
    if results > budget:
        most = int(budget / (RESULT_BYTES_PER_TRIAL * len(patients)))
        problems.append(
            f"--replicates={replicates:,}: {replicates * len(patients):,} result rows need about "
            f"{_size(results)}; {_size(memory)} is available: expected --replicates <= {most:,} "
            f"for {len(patients)} grid cell(s)"
        )
    work = replicates * sum(patients)
    if work > MAX_PATIENT_TRIALS:
        problems.append(
            f"--replicates={replicates:,} x --grid n (sum {sum(patients):,}): {work:.2g} "
            f"patient-trials; expected at most {MAX_PATIENT_TRIALS:.0e} (about 3 hours on 2 "
            "cores): fewer replicates or smaller grids"
        )
    return problems


def demo_patients(patients: int) -> None:
    if patients > MAX_DEMO_PATIENTS:
        hours = patients * 0.058 / 3600
        raise InvalidInput(
            f"--patients={patients:,}: about {hours:,.1f} hours through the services; expected "
            f"at most {MAX_DEMO_PATIENTS:,}"
        )


def recist_files(count: int) -> None:
    if count > MAX_RECIST_FILES:
        raise InvalidInput(
            f"FILE.json: {count:,} files in one call; expected at most {MAX_RECIST_FILES:,} "
            "(run it in batches)"
        )


def recist_case(case: dict, where: str) -> list[str]:
    """Size of one RECIST case (work grows with the square of its follow-ups)."""
    problems = []
    followups = case.get("followups")
    if isinstance(followups, list) and len(followups) > MAX_FOLLOWUPS:
        problems.append(
            f"{where}: followups: {len(followups):,} assessments; expected at most {MAX_FOLLOWUPS}"
        )
    baseline = case.get("baseline")
    non_target = baseline.get("non_target") if isinstance(baseline, dict) else None
    if isinstance(non_target, list) and len(non_target) > MAX_NON_TARGETS:
        problems.append(
            f"{where}: baseline.non_target: {len(non_target):,} lesions; expected at most "
            f"{MAX_NON_TARGETS}"
        )
    return problems
