"""The REST API under load: concurrent HTTP clients on loopback register patients, record
tumour assessments and randomise, against a real `talentop serve` (uvicorn) on SQLite and,
when TALENTOP_TEST_POSTGRES_URL is set, PostgreSQL.

Prints throughput and p50/p99/max latency per call (each step's clock starts once every
client has logged in: logins are not what is measured), and compares the randomisation rate over
HTTP with the same number of in-process service calls (the peer: the plain service loop of
benchmarks/randomise_load.py) in the same run. Afterwards it checks that no patient was
randomised twice, no allocation number is duplicated or skipped (ids, and slots per
stratum), and that `audit verify` passes.

    .venv/bin/python benchmarks/api_load.py [--clients 32] [--patients 400] [--workers 2] [--warm-up 64]

Goal (issue "who is acting"): >= 150 randomisations/s over HTTP at 32 clients on
PostgreSQL, p99 < 250 ms (2-core machine).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import os
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import sqlalchemy as sa
from _repeat import postgres_schema, postgres_url
from randomise_load import DAY, PROTOCOL, seed

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from patient_records import ELIGIBLE  # noqa: E402  (the suite's eligible patient)
from talentop import services as sv
from talentop.services import identity
from talentop.store import Store, init_database
from talentop.store import models as m

PASSWORD = "benchmark password 1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def set_up(store: Store, patients: int) -> tuple[list[int], list[int]]:
    """Site, users, patients in induction with baseline lesions (assessment load) and
    patients ready to randomise (randomisation load)."""
    init_database(store)
    system = sv.Context(store, PROTOCOL, "system")
    sv.create_site(system, "SH01", "Bench site")
    identity.create_account(system, "bench_inv", "investigator", PASSWORD, site_code="SH01")
    in_induction = []
    lesions = [
        {"id": "T1", "kind": "target", "organ": "liver", "diameter_mm": 60.0},
        {"id": "N1", "kind": "non_target", "organ": "portal_vein"},
    ]
    with store.transaction():
        for i in range(patients):
            pid = sv.register_patient(system, "SH01", f"I{i:05d}", registered_on=DAY)
            sv.record_consent(
                system,
                pid,
                DAY,
                form_version=PROTOCOL.consent.in_force(DAY).version,
                obtained_by="bench",
                scopes=["treatment", "follow_up", "data_use"],
            )
            sv.screen_patient(system, pid, ELIGIBLE, DAY)
            sv.record_lesions_baseline(system, pid, DAY, lesions)
            sv.start_induction(system, pid, DAY)
            in_induction.append(pid)
    return in_induction, seed(store, patients, 100_000)


def start_server(
    url: str, port: int, workers: int, log: Path | None, wrapper: str = ""
) -> subprocess.Popen:
    env = {**os.environ, "TALENTOP_DATABASE_URL": url}
    sink = open(log, "ab") if log is not None else subprocess.DEVNULL  # noqa: SIM115
    server = subprocess.Popen(
        [
            *shlex.split(wrapper),
            sys.executable,
            "-m",
            "talentop.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=sink,
        stderr=sink,
    )
    for _ in range(200):
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=1)
            return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("server did not start")


async def load(base: str, clients: int, calls: list[tuple[str, str, dict]]) -> dict[str, float]:
    """Run ``calls`` (method, path, json) over ``clients`` concurrent connections, each with
    its own session."""
    latencies: list[float] = []
    failures: list[str] = []
    queue: asyncio.Queue = asyncio.Queue()
    for call in calls:
        queue.put_nowait(call)

    logged_in = 0
    started: list[float] = []
    go = asyncio.Event()

    async def client() -> None:
        nonlocal logged_in
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            r = await http.post(
                "/api/v1/auth/login", json={"username": "bench_inv", "password": PASSWORD}
            )
            if r.status_code != 200:
                raise RuntimeError(f"login: {r.status_code} {r.text[:300]}")
            http.headers["Authorization"] = f"Bearer {r.json()['token']}"
            # The clock starts when every client has logged in (logins are not measured).
            logged_in += 1
            if logged_in == clients:
                started.append(time.perf_counter())
                go.set()
            await go.wait()
            while not queue.empty():
                method, path, body = queue.get_nowait()
                start = time.perf_counter()
                r = await http.request(method, path, json=body)
                latencies.append(time.perf_counter() - start)
                if r.status_code >= 300:
                    failures.append(f"{path}: {r.status_code} {r.text[:120]}")

    await asyncio.gather(*(client() for _ in range(clients)))
    wall = time.perf_counter() - started[0]
    latencies.sort()
    return {
        "calls": len(latencies),
        "per_s": len(latencies) / wall,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "max_ms": 1000 * latencies[-1],
        "failures": len(failures),
        "first_failure": failures[0] if failures else "",
    }


def integrity(store: Store, expected: int) -> str:
    with store.unit_of_work() as session:
        rows = session.execute(
            sa.select(
                m.Randomisation.id,
                m.Randomisation.patient_id,
                m.Randomisation.stratum_key,
                m.Randomisation.slot,
            )
        ).all()
    patients = [r.patient_id for r in rows]
    ids = sorted(r.id for r in rows)
    slots: dict[str, list[int]] = {}
    for r in rows:
        slots.setdefault(r.stratum_key, []).append(r.slot)
    problems = []
    if len(rows) != expected:
        problems.append(f"{len(rows)} allocations, expected {expected}")
    if len(set(patients)) != len(patients):
        problems.append("a patient randomised twice")
    if ids != list(range(ids[0], ids[0] + len(ids))):
        problems.append("allocation numbers skipped or duplicated")
    for key, s in slots.items():
        if sorted(s) != list(range(len(s))):
            problems.append(f"slots of {key} not 0..n-1")
    report = sv.verify(store)
    if not report.ok:
        problems.append(f"audit verify: {report.problems[:2]}")
    return "ok" if not problems else "; ".join(problems)


def in_process_rate(store: Store, ids: list[int]) -> float:
    ctx = sv.Context(store, PROTOCOL, "bench_inv")
    start = time.perf_counter()
    for pid in ids:
        sv.randomise(ctx, pid, DAY)
    return len(ids) / (time.perf_counter() - start)


def bench(label: str, url: str, store: Store, args: argparse.Namespace) -> None:
    total = args.patients + args.warm_up
    induction, ready = set_up(store, total)
    baseline = seed(store, min(args.patients, 200), 200_000)
    serial = in_process_rate(store, baseline)
    port = free_port()
    server = start_server(url, port, args.workers, args.server_log, args.server_wrapper)
    base = f"http://127.0.0.1:{port}"
    try:
        steps = {
            "register": [
                (
                    "POST",
                    "/api/v1/patients",
                    {
                        "site_code": "SH01",
                        "pseudo_id": f"R{i:05d}",
                        "registered_on": DAY.isoformat(),
                    },
                )
                for i in range(total)
            ],
            "assess": [
                (
                    "POST",
                    f"/api/v1/patients/{pid}/assessments",
                    {
                        "visit_date": (DAY + dt.timedelta(days=42)).isoformat(),
                        "target": {"T1": 40.0},
                        "non_target": {"N1": "present"},
                    },
                )
                for pid in induction
            ],
            "randomise": [
                (
                    "POST",
                    f"/api/v1/patients/{pid}/randomisation",
                    {"randomised_on": DAY.isoformat()},
                )
                for pid in ready
            ],
        }
        results = {}
        for name, calls in steps.items():
            # Warm-up (not measured): each worker compiles the step's statements once, as
            # a server running for a while has long done.
            asyncio.run(load(base, args.clients, calls[: args.warm_up]))
            # The client's own garbage collector must not pause the clients mid-call (as
            # timeit does): what is alive now is frozen out of its scans.
            gc.collect()
            gc.freeze()
            results[name] = asyncio.run(load(base, args.clients, calls[args.warm_up :]))
            gc.unfreeze()
    finally:
        if args.server_wrapper:  # a profiler writes its output on SIGINT
            server.send_signal(signal.SIGINT)
            server.wait(60)
        else:
            server.terminate()
            server.wait(10)
    for name, r in results.items():
        print(
            f"{label:10s} {name:9s} {args.clients:3d} clients {r['calls']:5d} calls {r['per_s']:7.1f}/s  p50 {r['p50_ms']:6.1f} ms  p99 {r['p99_ms']:6.1f} ms  max {r['max_ms']:6.1f} ms  failures {r['failures']} {r['first_failure']}"
        )
    rand = results["randomise"]["per_s"]
    print(
        f"{label:10s} randomise over HTTP / in-process service loop (1 thread, {serial:.0f}/s) = {rand / serial:.2f}"
    )
    print(f"{label:10s} integrity: {integrity(store, len(ready) + len(baseline))}")


def _bench_in_folder(label: str, url_in: Callable[[Path], str], args: argparse.Namespace) -> None:
    """``bench`` with key and checkpoint folders of its own (a temporary folder)."""
    with tempfile.TemporaryDirectory() as tmp:
        _own_key_folders(Path(tmp))
        url = url_in(Path(tmp))
        store = Store(url)
        bench(label, url, store, args)
        store.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--patients", type=int, default=400)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--warm-up",
        type=int,
        default=64,
        help="Calls of each step made before the measured ones (not timed).",
    )
    parser.add_argument(
        "--databases",
        default="sqlite,postgresql",
        help="Comma-separated: sqlite, postgresql (the latter needs TALENTOP_TEST_POSTGRES_URL).",
    )
    parser.add_argument(
        "--server-log", type=Path, default=None, help="Write the server's log lines here."
    )
    parser.add_argument(
        "--server-wrapper",
        default="",
        help="A command the server runs under (e.g. 'py-spy record -o server.svg --').",
    )
    args = parser.parse_args()
    os.environ.setdefault("TALENTOP_PASSWORD_PROFILE", "cheapest")  # logins are not measured
    databases = {d.strip().lower() for d in args.databases.split(",")}
    if "sqlite" in databases:
        _bench_in_folder("SQLite", lambda tmp: f"sqlite:///{tmp / 'bench.db'}", args)
    pg = postgres_url(databases)
    if pg is None:
        return
    with postgres_schema(pg) as (_, url):
        _bench_in_folder("PostgreSQL", lambda _tmp: url, args)


def _own_key_folders(folder: Path) -> None:
    """Each database its own key and checkpoint folders (this process and the server read
    them from the environment): a checkpoint of the first run must not meet the second."""
    os.environ["TALENTOP_KEY_DIR"] = str(folder / "keys")
    os.environ["TALENTOP_CHECKPOINT_DIR"] = str(folder / "checkpoints")


if __name__ == "__main__":
    main()
