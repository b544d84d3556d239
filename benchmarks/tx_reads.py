"""Reads a SQLite transaction repeats, kept (``talentop.store.tx_reads``) against sent again.

Usage: .venv/bin/python benchmarks/tx_reads.py [--calls 3000] [--runs 3]

What every write service call reads before it writes, ``--calls`` times in one
transaction: the patient row with its record locks and the acting user
(``patient_for_write``), the consent gate and the path so far. "sent" is the same code
with the statements unmarked (every read a statement, as before issue 17's round 10);
"kept" is the code as it runs. Each run times both back to back in one process, on the
same database; the median of the runs is quoted (docs/benchmarks.md, "Write path, round
10"). CPU time of the thread, per call of the three reads.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time
from pathlib import Path

import randomise_load
from _repeat import check_runs, load, median

from talentop import services as sv
from talentop.store import Store, direct, init_database, path_queries, writes
from talentop.store import models as m

DAY = dt.date(2025, 3, 20)


def seed(store: Store) -> int:
    """One patient with a signed consent and a path of two steps (``randomise_load``'s
    set-up: inserted and audited directly, not what is timed)."""
    system = sv.Context(store, randomise_load.PROTOCOL, "system")
    sv.create_site(system, "SH01", "Bench site")
    sv.create_user(system, "bench", "investigator", site_code="SH01")
    (patient_id,) = randomise_load.seed(store, 1, 0)
    with store.unit_of_work() as session:
        for state in ("screened", "assessed"):
            step = m.StateChange(patient_id=patient_id, to_state=state, on_date=DAY, actor="b")
            writes.insert(session, "system", step)
    return patient_id


def reads(store: Store, patient_id: int, calls: int) -> float:
    """Thread CPU per call of the three reads, ``calls`` calls in one transaction (us)."""
    with store.unit_of_work() as session:
        started = time.thread_time()
        for _ in range(calls):
            path_queries.patient_for_write(session, patient_id, "bench")
            path_queries.consent_gate(session, patient_id, "treatment")
            path_queries.state_steps(session, patient_id)
        return (time.thread_time() - started) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    runs = check_runs(args.runs)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TALENTOP_KEY_DIR"] = str(Path(tmp) / "keys")
        os.environ["TALENTOP_CHECKPOINT_DIR"] = str(Path(tmp) / "checkpoints")
        store = Store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        init_database(store)
        patient_id = seed(store)
        marked = dict(direct._PER_TRANSACTION)
        reads(store, patient_id, 100)  # warm-up: statements compiled, caches filled
        sent, kept = [], []
        for run in range(1, runs + 1):
            direct._PER_TRANSACTION.clear()  # unmarked: every read is a statement
            sent.append(reads(store, patient_id, args.calls))
            direct._PER_TRANSACTION.update(marked)
            kept.append(reads(store, patient_id, args.calls))
            print(
                f"run {run}: sent {sent[-1]:.1f} us, kept {kept[-1]:.1f} us a call "
                f"({kept[-1] / sent[-1]:.2f}x)  {load()}"
            )
        store.dispose()
    ratio = median([k / s for k, s in zip(kept, sent, strict=True)])
    print(
        f"median of {runs}: sent {median(sent):.1f} us, kept {median(kept):.1f} us a call "
        f"of the three reads; ratio kept/sent {ratio:.2f}"
    )


if __name__ == "__main__":
    main()
