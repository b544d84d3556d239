"""Randomisation under load: a clients sweep (threads and processes), SQLite file and PostgreSQL.

Each allocation is the real service call (`talentop.services.randomise`: lock the patient,
check readiness, lock the stratum counter, take the slot, insert the allocation, audit,
change state) in one transaction. For each database, each mode (threads of one process,
or separate processes) and each number of clients (1, 2, 4, 8, 16, 32 by default), fresh
patients are randomised by that many concurrent clients, each calling the service back to
back (closed loop); the step prints allocations/s, p50 and p99 latency and the throughput
relative to one client, and the CPU per allocation: the clients' allocating threads
(``thread_time``) and, for a PostgreSQL server on this host, the server's processes
(``_server_cpu``), read from the start line to the last result. Afterwards the integrity
checks run over every allocation made:
no patient randomised twice, every stratum's slots 0..n-1 with no duplicate and no gap,
the allocation count equal to the calls made, and `audit verify` (after a signed
checkpoint) passing with every entry covered. PostgreSQL runs when
TALENTOP_TEST_POSTGRES_URL is set (own schema, dropped afterwards).

    .venv/bin/python benchmarks/randomise_load.py [--per-step 300] [--clients 1,2,4,8,16,32]
        [--modes threads,processes] [--databases sqlite,postgresql] [--runs 3]

Each step is repeated ``--runs`` times (>= 3) and the median is the figure quoted.

The machine is shared: the load average is printed with every step.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import random
import statistics
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from _repeat import check_runs, postgres_schema, postgres_url
from _server_cpu import ServerCpu

from talentop import services as sv
from talentop.protocol import load_protocol
from talentop.store import KeyRing, Store, init_database, writes
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


def _allocate(ctx: sv.Context, chunk: list[int]) -> tuple[list[float], float, float, float]:
    """Randomise every patient of ``chunk`` back to back: (latencies, first start, last end,
    CPU seconds of this thread)."""
    latencies = []
    began, cpu = time.time(), time.thread_time()
    for pid in chunk:
        start = time.perf_counter()
        sv.randomise(ctx, pid, DAY)
        latencies.append(time.perf_counter() - start)
    return latencies, began, time.time(), time.thread_time() - cpu


@dataclass
class Step:
    """One timed step: the latencies, its wall time, the clients' CPU seconds (their
    allocating threads) and the server's (None: SQLite, or a server not on this host)."""

    latencies: list[float]
    wall: float
    client_cpu: float
    server_cpu: float | None


def _timed_step(start_line, server: ServerCpu | None, collect, finish_line=None) -> Step:
    """Wait with the clients at ``start_line``, read the server's CPU, let ``collect``
    gather their results, read it again, then meet them at ``finish_line`` (if any: client
    processes keep their connections, whose backends' CPU is read, until then)."""
    start_line.wait()
    before = server.seconds() if server else None
    results = collect()
    after = server.seconds() if server else None
    if finish_line is not None:
        finish_line.wait()
    latencies = sorted(x for r in results for x in r[0])
    wall = max(r[2] for r in results) - min(r[1] for r in results)
    spent = None if server is None else after - before
    return Step(latencies, wall, sum(r[3] for r in results), spent)


def run_threads(ctx: sv.Context, ids: list[int], clients: int, server: ServerCpu | None) -> Step:
    chunks = [ids[i::clients] for i in range(clients)]
    barrier = threading.Barrier(clients + 1)  # the clients and this thread

    def worker(chunk: list[int]) -> tuple[list[float], float, float, float]:
        barrier.wait()
        return _allocate(ctx, chunk)

    with ThreadPoolExecutor(clients) as pool:
        futures = [pool.submit(worker, chunk) for chunk in chunks]
        return _timed_step(barrier, server, lambda: [f.result() for f in futures])


#: Allocations each client process makes before the start line (not timed): a server's
#: worker has compiled its statements long before; a fresh process compiles them once.
WARM_UP = 2


def _process_client(spec: dict, warm_up: list[int], chunk: list[int], barrier, out, done) -> None:
    # A separate process: its own engine and connection pool (nothing inherited is reused).
    keys = KeyRing(Path(spec["key_dir"]), Path(spec["checkpoint_dir"]))
    store = Store(spec["url"], pg_schema=spec["schema"], keys=keys)
    ctx = sv.Context(store, PROTOCOL, "bench")
    _allocate(ctx, warm_up)
    barrier.wait()
    out.put(_allocate(ctx, chunk))
    done.wait()  # the server's CPU is read while this client's backend still runs
    store.dispose()


def run_processes(
    store: Store, spec: dict, ids: list[int], clients: int, server: ServerCpu | None
) -> Step:
    """``ids`` starts with ``WARM_UP`` patients per client."""
    store.dispose()  # no pooled connection crosses the fork
    mp = multiprocessing.get_context("fork")
    # Both barriers: the clients and this process.
    barrier, done, out = mp.Barrier(clients + 1), mp.Barrier(clients + 1), mp.Queue()
    warm, ids = ids[: WARM_UP * clients], ids[WARM_UP * clients :]
    chunks = [ids[i::clients] for i in range(clients)]
    procs = [
        mp.Process(target=_process_client, args=(spec, warm[i::clients], c, barrier, out, done))
        for i, c in enumerate(chunks)
    ]
    for p in procs:
        p.start()
    step = _timed_step(barrier, server, lambda: [out.get() for _ in procs], done)
    for p in procs:
        p.join()
        if p.exitcode != 0:
            raise RuntimeError(f"client process exited with {p.exitcode}")
    return step


def p(latencies: list[float], q: float) -> float:
    return 1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))]


def integrity(store: Store, expected: int) -> list[str]:
    """Problems found in the allocations (empty: none)."""
    problems = []
    with store.read_only() as session:
        rows = session.execute(
            sa.select(m.Randomisation.patient_id, m.Randomisation.stratum_key, m.Randomisation.slot)
        ).all()
    if len(rows) != expected:
        problems.append(f"{len(rows)} allocations stored, {expected} calls made")
    if len({r.patient_id for r in rows}) != len(rows):
        problems.append("a patient was randomised twice")
    slots: dict[str, list[int]] = defaultdict(list)
    for r in rows:
        slots[r.stratum_key].append(r.slot)
    for stratum, taken in slots.items():
        if sorted(taken) != list(range(len(taken))):
            problems.append(f"stratum {stratum}: slots duplicated or skipped")
    return problems


def _cpu_per_allocation(step: Step) -> tuple[float, float | None]:
    """(client, server) CPU milliseconds per timed allocation."""
    n = len(step.latencies)
    server = None if step.server_cpu is None else 1000 * step.server_cpu / n
    return 1000 * step.client_cpu / n, server


def _median_cpu(cpus: list[tuple[float, float | None]]) -> tuple[float, float | None]:
    servers = [s for _, s in cpus if s is not None]
    return statistics.median(c for c, _ in cpus), statistics.median(servers) if servers else None


def _cpu_text(cpu: tuple[float, float | None]) -> str:
    client, server = cpu
    return f"client {client:.2f} ms" + ("" if server is None else f" server {server:.2f} ms")


def bench(label: str, store: Store, spec: dict, args: argparse.Namespace) -> None:
    init_database(store)
    server = ServerCpu.find(store.engine)
    system = sv.Context(store, PROTOCOL, "system")
    sv.create_site(system, "SH01", "Bench site")
    sv.create_user(system, "bench", "investigator", site_code="SH01")
    ctx = sv.Context(store, PROTOCOL, "bench")
    made, offset = 0, 0
    for mode in args.modes:
        base = None
        for clients in args.clients:
            rates, p50s, p99s, cpus = [], [], [], []
            for run in range(1, args.runs + 1):
                warm = WARM_UP * clients if mode == "processes" else 0
                ids = seed(store, args.per_step + warm, offset)
                offset += args.per_step + warm
                load = os.getloadavg()[0]
                if mode == "threads":
                    step = run_threads(ctx, ids, clients, server)
                else:
                    step = run_processes(store, spec, ids, clients, server)
                latencies = step.latencies
                made += len(latencies) + warm
                rates.append(len(latencies) / step.wall)
                p50s.append(p(latencies, 0.5))
                p99s.append(p(latencies, 0.99))
                cpus.append(_cpu_per_allocation(step))
                print(
                    f"{label:10s} {mode:9s} {clients:3d} clients run {run}  "
                    f"{len(latencies):5d} allocations  {rates[-1]:7.1f} /s  p50 {p50s[-1]:7.1f} ms  "
                    f"p99 {p99s[-1]:7.1f} ms  CPU/allocation {_cpu_text(cpus[-1])}  load {load:.1f}",
                    flush=True,
                )
            rate = statistics.median(rates)
            base = base or rate
            print(
                f"{label:10s} {mode:9s} {clients:3d} clients median of {args.runs}: "
                f"{rate:7.1f} /s ({rate / base:4.2f}x)  p50 {statistics.median(p50s):7.1f} ms  "
                f"p99 {statistics.median(p99s):7.1f} ms  CPU/allocation "
                f"{_cpu_text(_median_cpu(cpus))}",
                flush=True,
            )
    started = time.perf_counter()
    head = sv.checkpoint(store).head
    signed = time.perf_counter() - started
    report = sv.verify(store)
    problems = integrity(store, made)
    print(
        f"{label:10s} integrity: {made} allocations, "
        f"{'no duplicate or skipped slot, no patient twice' if not problems else problems}; "
        f"audit verify {'ok' if report.ok else report.problems[:3]}, "
        f"{report.uncovered} entries uncovered; checkpoint of {head.size} entries {signed:.2f} s",
        flush=True,
    )
    if problems or not report.ok or report.uncovered:
        raise SystemExit(f"{label}: integrity check failed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-step", type=int, default=300, help="allocations per step")
    parser.add_argument("--clients", default="1,2,4,8,16,32")
    parser.add_argument("--modes", default="threads,processes")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument(
        "--runs", type=int, default=3, help="repeats per step; the median is quoted"
    )
    args = parser.parse_args()
    check_runs(args.runs)
    args.clients = [int(c) for c in args.clients.split(",")]
    args.modes = args.modes.split(",")
    databases = args.databases.split(",")
    print(f"{os.cpu_count()} cores; {args.per_step} allocations per step; 6 strata")
    if "sqlite" in databases:
        with tempfile.TemporaryDirectory() as tmp:
            keys = KeyRing(Path(tmp) / "keys", Path(tmp) / "checkpoints")
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            spec = {"url": url, "schema": None, "key_dir": str(keys.key_dir)}
            spec["checkpoint_dir"] = str(keys.checkpoint_dir)
            store = Store(url, keys=keys)
            bench("SQLite", store, spec, args)
            store.dispose()
    url = postgres_url(databases)
    if url is None:
        return
    with postgres_schema(url) as (schema, _), tempfile.TemporaryDirectory() as tmp:
        keys = KeyRing(Path(tmp) / "keys", Path(tmp) / "checkpoints")
        spec = {"url": url, "schema": schema, "key_dir": str(keys.key_dir)}
        spec["checkpoint_dir"] = str(keys.checkpoint_dir)
        store = Store(url, pg_schema=schema, keys=keys)
        bench("PostgreSQL", store, spec, args)
        store.dispose()


if __name__ == "__main__":
    main()
