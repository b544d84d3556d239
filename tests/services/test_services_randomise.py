"""Randomisation service: strata from the protocol, concealment, one allocation per patient,
no half-allocation on a crash, and 32 concurrent threads x 50 allocations on each database
(the edc-randomization warning in style.md: no lock -> shared slots)."""

from __future__ import annotations

import importlib
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest

from flow_helpers import (
    PROTOCOL,
    VOTES_YES,
    context,
    day,
    mdt,
    seed_ready_patients,
    to_assessed,
    to_randomised,
)
from talentop import services as sv
from talentop.errors import AllocationError, InvalidInput, ProtocolViolation
from talentop.protocol import protocol_from_mapping
from talentop.randomization import MinimisationScheme, PermutedBlockScheme
from talentop.store import models as m
from talentop.store import queries

# The package exports the function ``randomise``; the module holds the crash-test hook.
randomise_module = importlib.import_module("talentop.services.randomise")

pytestmark = pytest.mark.db

THREADS = 32
PER_THREAD = 50


def allocations(store):
    with store.unit_of_work() as session:
        return [
            (r.patient_id, r.stratum_key, r.slot, r.arm) for r in queries.randomisations(session)
        ]


def test_stratum_from_depth_of_response_and_ecog(store):
    """-40% depth -> 'deep' (upper -30); ECOG 0 from the screening record -> 'ecog0'."""
    ctx = context(store)
    pid, arm = to_randomised(ctx, shrink=0.6)
    ((patient, key, slot, stored_arm),) = allocations(store)
    assert (patient, key, slot, stored_arm) == (pid, "depth_of_response=deep|ecog=ecog0", 0, arm)
    with store.unit_of_work() as session:
        secret = queries.randomisation_secret(session)
    # The arm is the concealed list's entry for this stratum and slot (re-derivable for audit).
    assert arm == PermutedBlockScheme(
        PROTOCOL.randomisation.ratio, PROTOCOL.randomisation.block_sizes, secret
    ).arm_for(key, 0)


def test_stratum_values_given_at_randomisation_override_screening(store):
    ctx = context(store)
    pid = to_assessed(ctx, shrink=0.9)  # -10% -> shallow
    sv.record_mdt_review(mdt(ctx), pid, day(72), VOTES_YES)
    out = sv.randomise(ctx, pid, day(73), stratum_values={"ecog": 1})
    assert out["stratum"] == "depth_of_response=shallow|ecog=ecog1"


def test_exactly_one_allocation_per_patient(store):
    ctx = context(store)
    pid, _ = to_randomised(ctx)
    with pytest.raises(ProtocolViolation, match="randomise refused.*'randomised'"):
        sv.randomise(ctx, pid, day(74))
    assert len(allocations(store)) == 1


def test_crash_after_counter_update_leaves_nothing(store, monkeypatch):
    ctx = context(store)
    pid = to_assessed(ctx)
    sv.record_mdt_review(mdt(ctx), pid, day(72), VOTES_YES)
    audit_rows = sv.verify(store).rows

    def crash():
        raise RuntimeError("power cut after the counter update")

    monkeypatch.setattr(randomise_module, "_after_counter_update", crash)
    with pytest.raises(RuntimeError, match="power cut"):
        sv.randomise(ctx, pid, day(73))
    monkeypatch.setattr(randomise_module, "_after_counter_update", None)
    with store.unit_of_work() as session:
        assert queries.randomisations(session) == []
        assert queries.count(session, m.StratumCounter) == 0
    assert (
        sv.patient_summary(ctx, pid)["state"] == "assessed" and sv.verify(store).rows == audit_rows
    )
    out = sv.randomise(ctx, pid, day(73))
    assert allocations(store) == [(pid, out["stratum"], 0, out["arm"])]


def test_missing_secret_refuses_allocation(store):
    ctx = context(store)
    pid = to_assessed(ctx)
    sv.record_mdt_review(mdt(ctx), pid, day(72), VOTES_YES)
    with store.unit_of_work() as session:
        session.query(m.RandomisationSecret).delete()
    with pytest.raises(AllocationError, match="no randomisation secret: run `talentop db init`"):
        sv.randomise(ctx, pid, day(73))


def test_missing_stratum_value_is_named(store):
    ctx = context(store)
    [pid] = seed_ready_patients(store, 1)
    with store.unit_of_work() as session:
        session.query(m.Screening).delete()
    with pytest.raises(InvalidInput, match="ecog=None: needed for stratum ecog"):
        sv.randomise(ctx, pid, day(73))


def test_nothing_reveals_the_secret_or_a_future_arm(store):
    """Concealment (ICH E9 2.3.2): before allocation no read-out holds an arm, a slot or the
    secret; after it, only that patient's arm; a refused request says nothing of the list."""
    import base64

    ctx = context(store)
    pid = to_assessed(ctx)
    with store.unit_of_work() as session:
        secret = queries.randomisation_secret(session)
    forms = [secret.hex(), base64.b64encode(secret).decode(), repr(secret)[2:-1]]

    def everything_readable() -> str:
        texts = [repr(sv.audit_entries(store, limit=100_000)), repr(store)]
        texts += [repr(sv.patient_summary(ctx, p)) for p in range(1, pid + 1)]
        texts += [repr(randomise_module._block_scheme(secret, (("A", 1), ("B", 1)), (2, 4)))]
        return "\n".join(texts)

    summary = sv.patient_summary(ctx, pid)
    assert summary["arm"] is None and not {"stratum", "slot"} & set(summary)
    with pytest.raises(ProtocolViolation) as refused:  # no MDT review yet
        sv.randomise(ctx, pid, day(73))
    leaked = everything_readable() + str(refused.value)
    assert not any(form in leaked for form in forms)
    entities = {e["entity"] for e in sv.audit_entries(store, limit=100_000)}
    assert {"randomisations", "stratum_counters"}.isdisjoint(entities)
    assert "arm" not in str(refused.value) and " A" not in str(refused.value)
    sv.record_mdt_review(mdt(ctx), pid, day(72), VOTES_YES)
    arm = sv.randomise(ctx, pid, day(73))["arm"]
    assert not any(form in everything_readable() for form in forms)
    allocations_audited = sv.audit_entries(store, entity="randomisations")
    assert [
        (e["action"], e["after"]["patient_id"], e["after"]["arm"]) for e in allocations_audited
    ] == [("create", pid, arm)]


def test_two_requests_for_the_same_patient_allocate_once(store):
    ctx = context(store)
    pid = to_assessed(ctx)
    sv.record_mdt_review(mdt(ctx), pid, day(72), VOTES_YES)
    barrier = threading.Barrier(2)

    def attempt():
        barrier.wait()
        try:
            return sv.randomise(ctx, pid, day(73))["arm"]
        except ProtocolViolation as exc:
            return exc

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: attempt(), range(2)))
    assert sum(isinstance(r, str) for r in results) == 1
    assert sum(isinstance(r, ProtocolViolation) for r in results) == 1
    assert len(allocations(store)) == 1


@pytest.mark.slow
def test_concurrent_randomisation_32_threads_x_50(store):
    """Zero duplicates, zero gaps per stratum, imbalance never beyond half the largest block,
    every arm equal to the concealed list, and an unforked audit chain."""
    ctx = context(store)
    ids = seed_ready_patients(store, THREADS * PER_THREAD)
    chunks = [ids[i::THREADS] for i in range(THREADS)]
    barrier = threading.Barrier(THREADS)

    def worker(chunk):
        barrier.wait()
        return [sv.randomise(ctx, pid, day(73)) for pid in chunk]

    with ThreadPoolExecutor(THREADS) as pool:
        results = [r for chunk_results in pool.map(worker, chunks) for r in chunk_results]
    assert len(results) == THREADS * PER_THREAD
    rows = allocations(store)
    assert len(rows) == len({p for p, *_ in rows}) == THREADS * PER_THREAD
    by_stratum = defaultdict(list)
    for _, key, slot, arm in rows:
        by_stratum[key].append((slot, arm))
    assert len(by_stratum) == 6  # 3 depth levels x 2 ECOG levels
    with store.unit_of_work() as session:
        secret = queries.randomisation_secret(session)
        counters = {c.stratum_key: c.next_slot for c in session.query(m.StratumCounter)}
    rules = PROTOCOL.randomisation
    scheme = PermutedBlockScheme(rules.ratio, rules.block_sizes, secret)
    bound = max(rules.block_sizes) / 2
    for key, slots in by_stratum.items():
        slots.sort()
        assert [s for s, _ in slots] == list(range(len(slots))), f"gap or duplicate in {key}"
        assert counters[key] == len(slots)
        balance = 0
        for slot, arm in slots:
            assert arm == scheme.arm_for(key, slot)
            balance += 1 if arm == "A" else -1
            assert abs(balance) <= bound, f"imbalance {balance} in {key} at slot {slot}"
    report = sv.verify(store)
    assert report.ok, report.problems[:3]
    counter_rows = sv.audit_entries(store, entity="stratum_counters", limit=100_000)
    assert sum(e["action"] == "create" for e in counter_rows) == len(by_stratum)
    assert sum(e["action"] == "update" for e in counter_rows) == THREADS * PER_THREAD


def test_minimisation_scheme_replays_from_the_record(store):
    data = PROTOCOL.model_dump()
    data["randomisation"] = {**data["randomisation"], "scheme": "minimisation"}
    protocol = protocol_from_mapping(data)
    base = context(store)
    ctx = sv.Context(store, protocol, base.actor)
    ids = seed_ready_patients(store, 40, seed=3)
    arms = [sv.randomise(ctx, pid, day(73))["arm"] for pid in ids]
    with store.unit_of_work() as session:
        secret = queries.randomisation_secret(session)
        rows = queries.randomisations(session)
    import json

    scheme = MinimisationScheme(
        dict(protocol.randomisation.ratio),
        ["depth_of_response", "ecog"],
        protocol.randomisation.minimisation_p,
        secret,
    )
    history = []
    for row in rows:
        levels = json.loads(row.levels_json)
        assert row.slot == len(history) and row.scheme == "minimisation"
        assert scheme.assign(history, levels, row.slot) == row.arm
        history.append({**levels, "arm": row.arm})
    assert set(arms) == {"A", "B"}


def test_depth_stratum_uses_the_exact_depth_not_the_rounded_one(store):
    """Sums 100 -> 70.004 mm is -29.996 %: SD, printed as -30.00 % (2 decimals), yet it is
    not PR-range shrinkage, so the stratum is 'shallow', never 'deep' (upper -30, inclusive)."""
    ctx = context(store)
    pid = to_assessed(ctx, shrink=0.70004)
    with store.unit_of_work() as session:
        response = queries.latest_response(session, pid, PROTOCOL.assessment.criteria)
        assert response.depth_of_response_pct == pytest.approx(-30.0, abs=0.005)
    sv.record_mdt_review(mdt(ctx), pid, day(72), VOTES_YES)
    out = sv.randomise(ctx, pid, day(73))
    assert out["stratum"] == "depth_of_response=shallow|ecog=ecog0"
