"""Randomisation under load: allocations/s and p99 latency, SQLite file and PostgreSQL.

Each allocation is the real service call (`talentop.services.randomise`: lock the stratum
counter, take the slot, insert the allocation, audit, change state) in one transaction.
Runs N patients with 1 thread (serial baseline) and with T threads (concurrent sites), and
prints the ratio. PostgreSQL runs when TALENTOP_TEST_POSTGRES_URL is set (own schema,
dropped afterwards).

    .venv/bin/python benchmarks/randomise_load.py [--patients 800] [--threads 32]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import sqlalchemy as sa

from talentop import services as sv
from talentop.protocol import load_protocol
from talentop.store import Store, init_database, writes
from talentop.store import models as m

PROTOCOL = load_protocol("talentop")
DAY = dt.date(2025, 3, 20)


def seed(store: Store, n: int, offset: int) -> list[int]:
    """n patients ready to randomise (assessed, PR/SD, MDT-resectable), spread over strata.

    Inserted directly (bulk set-up, not the path under test) but audited like any write, so
    `audit verify` still reconciles every table with the trail afterwards.
    """
    rng = random.Random(offset)
    ids = []
    with store.unit_of_work() as session:
        site = session.query(m.Site).filter_by(code="SH01").one()
        for i in range(n):
            patient = m.Patient(
                site_id=site.id, pseudo_id=f"B{offset + i:06d}", registered_on=DAY, state="assessed"
            )
            writes.insert(session, "system", patient)
            writes.insert(
                session,
                "system",
                m.Consent(  # randomisation needs consent to treatment (issue 13)
                    patient_id=patient.id,
                    consented_on=DAY,
                    form_version=PROTOCOL.consent.forms[0].version,
                    obtained_by="bench",
                    scope_treatment=True,
                    scope_follow_up=True,
                    scope_data_use=True,
                    scope_biobank=False,
                ),
            )
            depth = rng.choice([-45.0, -10.0, 12.0])
            writes.insert(
                session,
                "system",
                m.Screening(
                    patient_id=patient.id,
                    screened_on=DAY,
                    protocol_id="talentop",
                    protocol_version="1",
                    record_json=json.dumps({"ecog": rng.choice([0, 1])}),
                    verdict="eligible",
                ),
            )
            visit = m.AssessmentVisit(
                patient_id=patient.id,
                visit_date=DAY,
                new_lesions="none",
                new_lesions_mrecist="none",
            )
            writes.insert(session, "system", visit)
            bor = "PR" if depth <= -30 else "SD"
            writes.insert(
                session,
                "system",
                m.ResponseAssessment(
                    patient_id=patient.id,
                    visit_id=visit.id,
                    criteria="recist1.1",
                    engine_version="bench",
                    overall_response=bor,
                    best_overall_response=bor,
                    depth_of_response_pct=depth,
                    result_json="{}",
                ),
            )
            writes.insert(
                session,
                "system",
                m.MdtReview(
                    patient_id=patient.id,
                    review_date=DAY,
                    purpose="randomisation",
                    rule="majority",
                    votes_resectable=3,
                    votes_total=3,
                    resectable=True,
                ),
            )
            ids.append(patient.id)
    return ids


def run(ctx: sv.Context, ids: list[int], threads: int) -> dict[str, float]:
    latencies: list[float] = []
    lock = threading.Lock()

    def worker(chunk: list[int]) -> None:
        own = []
        for pid in chunk:
            start = time.perf_counter()
            sv.randomise(ctx, pid, DAY)
            own.append(time.perf_counter() - start)
        with lock:
            latencies.extend(own)

    chunks = [ids[i::threads] for i in range(threads)]
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(worker, chunks))
    wall = time.perf_counter() - start
    latencies.sort()
    return {
        "allocations": len(latencies),
        "per_s": len(latencies) / wall,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
    }


def bench(label: str, store: Store, patients: int, threads: int) -> None:
    init_database(store)
    system = sv.Context(store, PROTOCOL, "system")
    sv.create_site(system, "SH01", "Bench site")
    sv.create_user(system, "bench", "investigator", site_code="SH01")
    ctx = sv.Context(store, PROTOCOL, "bench")
    serial = run(ctx, seed(store, patients, 0), 1)
    parallel = run(ctx, seed(store, patients, patients), threads)
    assert sv.verify(store).ok
    for name, r in (("1 thread", serial), (f"{threads} threads", parallel)):
        print(
            f"{label:10s} {name:11s} {r['allocations']:5.0f} allocations  {r['per_s']:8.1f} /s  "
            f"p50 {r['p50_ms']:7.1f} ms  p99 {r['p99_ms']:7.1f} ms"
        )
    print(
        f"{label:10s} throughput ratio {threads} threads / 1 thread = {parallel['per_s'] / serial['per_s']:.2f}; "
        f"p99 ratio = {parallel['p99_ms'] / serial['p99_ms']:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=800)
    parser.add_argument("--threads", type=int, default=32)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        bench("SQLite", store, args.patients, args.threads)
        store.dispose()
    url = os.environ.get("TALENTOP_TEST_POSTGRES_URL")
    if not url:
        print("PostgreSQL: skipped (set TALENTOP_TEST_POSTGRES_URL)")
        return
    schema = f"talentop_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        store = Store(url, pg_schema=schema)
        bench("PostgreSQL", store, args.patients, args.threads)
        store.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


if __name__ == "__main__":
    main()
