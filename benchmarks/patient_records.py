"""A patient's records (``read_queries.patient_records``) and the patient page over them.

Usage: .venv/bin/python benchmarks/patient_records.py [--patients 40] [--runs 3]
       [--databases sqlite,postgresql]

The data: ``talentop demo --patients N`` written into a fresh SQLite file (and a fresh
PostgreSQL schema when ``TALENTOP_TEST_POSTGRES_URL`` is set). "orm" is the statement loop
``patient_records`` ran before (one ``session.execute`` of ``select(model)`` per table,
built once; the parents' ids read to reach their children), kept here as the reference; "direct" is
the code as it runs (``direct.load`` on the cursor, one pipeline on PostgreSQL). Each run
times both back to back on the same patients: the reads of every patient in one read-only
transaction each, then ``GET /patients/{id}`` (the page reads them twice) through the
app. Wall time: on PostgreSQL the round trips are most of it. Median of the runs.
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from _repeat import check_runs, load, median, postgres_schema, postgres_url

from talentop.store import KeyRing, Store, read_queries

HERE = Path(__file__).resolve().parent
PASSWORD = "bench-password-1"


@functools.lru_cache(maxsize=64)
def _orm_plan(tables: frozenset[str] | None) -> tuple[tuple[str, type, Any, Any], ...]:
    """The old ``_records_plan``: ORM selects built once, children by an expanding IN."""
    patient = sa.bindparam("patient_id")
    children = [
        (child, column, parent)
        for child, column, parent in read_queries._child_models()
        if tables is None or child.__tablename__ in tables
    ]
    parents = {parent for _, _, parent in children}
    plan: list[tuple[str, type, Any, Any]] = []
    for model in read_queries._patient_models():
        if tables is not None and model.__tablename__ not in tables:
            if model in parents:
                plan.append(
                    ("ids", model, None, sa.select(model.id).where(model.patient_id == patient))
                )
            continue
        plan.append(("rows", model, None, sa.select(model).where(model.patient_id == patient)))
    ids = sa.bindparam("ids", expanding=True)
    for child, column, parent in children:
        plan.append(
            ("children", child, parent, sa.select(child).where(getattr(child, column).in_(ids)))
        )
    return tuple(plan)


def orm_patient_records(session, patient_id, tables=None):
    """``patient_records`` as it was before (the reference): one ORM statement per table."""
    out: list[tuple[str, Any]] = []
    ids: dict[type, list[int]] = {}
    params = {"patient_id": patient_id}
    for kind, model, parent, stmt in _orm_plan(None if tables is None else frozenset(tables)):
        if kind == "ids":
            ids[model] = list(session.execute(stmt, params).scalars())
        elif kind == "rows":
            rows = list(session.execute(stmt, params).scalars())
            ids[model] = [row.id for row in rows]
            out.extend((model.__tablename__, row) for row in rows)
        elif ids.get(parent):
            found = session.execute(stmt, {"ids": ids[parent]}).scalars()
            out.extend((model.__tablename__, row) for row in found)
    return out


@contextmanager
def implementation(name: str):
    """Run with ``patient_records`` as ``name`` ("orm" swaps the reference in)."""
    current = read_queries.patient_records
    if name == "orm":
        read_queries.patient_records = orm_patient_records
    try:
        yield
    finally:
        read_queries.patient_records = current


def demo_into(url: str, patients: int, folder: Path) -> None:
    env = dict(os.environ, TALENTOP_KEY_DIR=str(folder / "keys"))
    env["TALENTOP_CHECKPOINT_DIR"] = str(folder / "checkpoints")
    command = [sys.executable, "-m", "talentop.cli", "demo", "--patients", str(patients)]
    command += ["--db", url, "--out", str(folder / "report"), "--json"]
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)


def patient_ids(store: Store) -> list[int]:
    with store.engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT id FROM patients ORDER BY id")).scalars())


def time_reads(store: Store, ids: list[int]) -> tuple[float, int]:
    """Wall seconds for every patient's records (one transaction each), and the rows."""
    rows = 0
    started = time.perf_counter()
    for pid in ids:
        with store.read_only() as session:
            rows += len(read_queries.patient_records(session, pid))
    return time.perf_counter() - started, rows


def page_client(store: Store):
    from fastapi.testclient import TestClient

    from talentop import services as sv
    from talentop.api.app import create_app
    from talentop.services import identity

    system = sv.Context(store, "talentop", "system")
    name = f"bench_admin_{uuid.uuid4().hex[:6]}"
    identity.create_account(system, name, "admin", PASSWORD)
    client = TestClient(create_app(store, "talentop"), follow_redirects=False)
    token = re.search(r'name="login_csrf" value="([^"]+)"', client.get("/login").text).group(1)
    response = client.post(
        "/login", data={"username": name, "password": PASSWORD, "login_csrf": token}
    )
    assert response.status_code == 303, response.text
    return client


def time_pages(client, ids: list[int]) -> float:
    started = time.perf_counter()
    for pid in ids:
        response = client.get(f"/patients/{pid}")
        assert response.status_code == 200, response.status_code
    return time.perf_counter() - started


def bench(label: str, store: Store, runs: int) -> None:
    ids = patient_ids(store)
    client = page_client(store)
    results: dict[str, dict[str, list[float]]] = {
        n: {"reads": [], "pages": []} for n in ("orm", "direct")
    }
    counted = {}
    for name in ("orm", "direct"):  # warm-up: compiled statements, prepared statements
        with implementation(name):
            counted[name] = time_reads(store, ids[:5])[1]
            time_pages(client, ids[:5])
    with implementation("orm"):
        orm_rows = time_reads(store, ids)[1]
    direct_rows = time_reads(store, ids)[1]
    assert orm_rows == direct_rows, (orm_rows, direct_rows)
    print(f"{label}: {len(ids)} patients, {direct_rows} rows; {load()}")
    for run in range(runs):
        for name in ("orm", "direct"):
            with implementation(name):
                results[name]["reads"].append(time_reads(store, ids)[0] / len(ids) * 1e3)
                results[name]["pages"].append(time_pages(client, ids) / len(ids) * 1e3)
        print(
            f"  run {run + 1}: records {results['orm']['reads'][-1]:.2f} -> "
            f"{results['direct']['reads'][-1]:.2f} ms/patient; page "
            f"{results['orm']['pages'][-1]:.1f} -> {results['direct']['pages'][-1]:.1f} ms"
        )
    for what, unit in (("reads", "ms/patient (records)"), ("pages", "ms/page")):
        before, after = median(results["orm"][what]), median(results["direct"][what])
        print(f"  median {unit}: orm {before:.2f}, direct {after:.2f} ({after / before:.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=40, help="screened in the demo")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    check_runs(args.runs)
    databases = args.databases.split(",")
    os.environ.setdefault("TALENTOP_PASSWORD_PROFILE", "cheapest")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        keys = KeyRing(folder / "keys", folder / "checkpoints")
        os.environ["TALENTOP_KEY_DIR"] = str(keys.key_dir)
        os.environ["TALENTOP_CHECKPOINT_DIR"] = str(keys.checkpoint_dir)
        if "sqlite" in databases:
            url = f"sqlite:///{folder / 'bench.db'}"
            demo_into(url, args.patients, folder)
            store = Store(url, keys=keys)
            bench("SQLite", store, args.runs)
            store.dispose()
        url = postgres_url(databases)
        if url is None:
            return
        for sub in ("keys", "checkpoints", "report"):
            shutil.rmtree(folder / sub, ignore_errors=True)  # the SQLite run's
        with postgres_schema(url) as (schema, search_url):
            demo_into(search_url, args.patients, folder)
            store = Store(url, pg_schema=schema, keys=keys)
            bench("PostgreSQL", store, args.runs)
            store.dispose()


if __name__ == "__main__":
    main()
