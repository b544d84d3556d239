"""Time talentop.recist.evaluate against pyrecist 0.1.0 on the same target-only patients.

pyrecist (PyPI, robertorojasp06/pyrecist) is the only Python RECIST peer found; it classifies
target sums only, with binary floats and "once PR, stays PR" (our option ``ongoing_pr``), and has
no CR. Both run in this process on the same seeded patients; the script prints the ratio and how
often the two agree, and lists the disagreements' kinds (float boundaries, CR, NE handling).

Both are warmed up on the first 10 patients; each is timed ``--runs`` times (>= 3) and the
median ratio is quoted.

Run: ``.venv/bin/pip install pyrecist==0.1.0 && .venv/bin/python benchmarks/recist_engine.py``
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pandas as pd
from _repeat import check_runs, load, median

from talentop.recist import evaluate

PATIENTS = 400
VISITS = 6
SEED = 20251127


def make_patients(seed: int = SEED) -> list[dict]:
    """Seeded target-only cases: 1-5 lesions, sums drifting by -40 %..+30 % per visit."""
    rng = random.Random(seed)
    organs = ["liver", "lung", "adrenal", "bone", "kidney"]
    patients = []
    for number in range(PATIENTS):
        sizes = [rng.randint(100, 600) / 10 for _ in range(rng.randint(1, 5))]
        start = dt.date(2025, 1, 6)
        targets = [
            {"id": f"T{i}", "organ": organs[i], "diameter_mm": mm} for i, mm in enumerate(sizes)
        ]
        followups, current = [], sizes
        for visit in range(1, VISITS + 1):
            current = [max(0.0, round(mm * rng.uniform(0.6, 1.3), 1)) for mm in current]
            followups.append(
                {
                    "date": (start + dt.timedelta(days=56 * visit)).isoformat(),
                    "target": {f"T{i}": mm for i, mm in enumerate(current)},
                    "non_target": {},
                    "new_lesions": "none",
                }
            )
        patients.append(
            {
                "id": f"P{number}",
                "case": {
                    "baseline": {"date": start.isoformat(), "target": targets, "non_target": []},
                    "followups": followups,
                    "options": {"ongoing_pr": True},
                },
            }
        )
    return patients


def to_pyrecist_csv(patients: list[dict], path: Path) -> None:
    rows = []
    for patient in patients:
        case = patient["case"]
        visits = [
            (
                case["baseline"]["date"],
                {t["id"]: t["diameter_mm"] for t in case["baseline"]["target"]},
            )
        ]
        visits += [(f["date"], f["target"]) for f in case["followups"]]
        for date, values in visits:
            for lesion, mm in values.items():
                rows.append(
                    {
                        "patient_id": int(patient["id"][1:]),  # pyrecist diffs ids: numeric only
                        "study_date": int(date.replace("-", "")),
                        "measurement": mm,
                        "lesion_label_alias": lesion,
                        "lesion_category": "target",
                    }
                )
    pd.DataFrame(rows).to_csv(path, index=False)


def main() -> int:
    try:
        from pyrecist.assessment import Evaluator
        from pyrecist.data import Reader
    except ImportError:
        print("pyrecist is not installed: .venv/bin/pip install pyrecist==0.1.0")
        return 1
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="repeats; the median is quoted")
    args = parser.parse_args()
    check_runs(args.runs)
    patients = make_patients()

    def pyrecist(cases: list[dict], folder: Path) -> pd.DataFrame:
        csv_path = folder / "measurements.csv"
        to_pyrecist_csv(cases, csv_path)
        started = time.perf_counter()
        reader = Reader()
        reader.read_measurements(str(csv_path))
        result = Evaluator(reader).evaluate_recist()
        return result, time.perf_counter() - started

    with tempfile.TemporaryDirectory() as tmp:
        for p in patients[:10]:  # the same warm-up for both
            evaluate(p["case"])
        pyrecist(patients[:10], Path(tmp))
        ours_times, theirs_times = [], []
        for run in range(1, args.runs + 1):
            started = time.perf_counter()
            ours = {p["id"]: evaluate(p["case"]) for p in patients}
            ours_times.append(time.perf_counter() - started)
            theirs, theirs_s = pyrecist(patients, Path(tmp))
            theirs_times.append(theirs_s)
            print(f"run {run}: talentop {ours_times[-1]:.3f} s, pyrecist {theirs_s:.3f} s "
                  f"({load()})")  # fmt: skip
    ours_s, theirs_s = median(ours_times), median(theirs_times)
    ratio = median([o / t for o, t in zip(ours_times, theirs_times, strict=True)])

    agree, kinds = 0, Counter()
    compared = 0
    for _, row in theirs.iterrows():
        if row["classification"] is None:
            continue  # pyrecist stops after PD
        date = dt.datetime.strptime(row["current_date"], "%Y%m%d").date().isoformat()
        result = ours[f"P{int(row['patient_id'])}"]
        point = next(p for p in result["timepoints"] if p["date"] == date)
        compared += 1
        if point["target_response"] == row["classification"]:
            agree += 1
        else:
            kinds[f"ours {point['target_response']} vs pyrecist {row['classification']}"] += 1

    per_case_ms = 1000 * ours_s / PATIENTS
    print(f"patients={PATIENTS} visits={VISITS}; median of {args.runs} runs:")
    print(f"talentop.recist: {ours_s:.3f} s ({per_case_ms:.2f} ms/case)")
    print(f"pyrecist 0.1.0:  {theirs_s:.3f} s")
    print(f"ratio talentop/pyrecist = {ratio:.2f} (time ratio, lower is faster)")
    print(f"agreement on target response: {agree}/{compared} time points")
    for kind, count in kinds.most_common():
        if count:
            print(f"  {count:4d}  {kind}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
