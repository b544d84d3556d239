"""Key rotation (`talentop db rotate-key`) in an ongoing stratum: the stratum finishes its
current permuted block with the old key, then starts its next block on the new key, so
every block stays complete and the imbalance bound (half the largest block) still holds."""

from __future__ import annotations

import pytest

from flow_helpers import PROTOCOL, context, day, randomisation_secret, seed_ready_patients
from talentop import services as sv
from talentop.randomization import PermutedBlockScheme
from talentop.store import queries, rotate_randomisation_key

pytestmark = pytest.mark.db

DEEP_ECOG0 = {"ecog": 0, "depth_of_response_pct": -45.0}


def test_rotation_waits_for_the_block_to_complete(store):
    ctx = context(store)
    ids = seed_ready_patients(store, 30)
    rules = PROTOCOL.randomisation
    old = PermutedBlockScheme(rules.ratio, rules.block_sizes, randomisation_secret(store))
    # One allocation, then rotate: slot 1 is inside the first block (every block holds at
    # least two), so the stratum is mid-block when the key changes.
    stratum = sv.randomise(ctx, ids[0], day(73), stratum_values=DEEP_ECOG0)["stratum"]
    _, position, block = old.block_for(stratum, 1)
    assert position == 1
    boundary = len(block)
    rotated = rotate_randomisation_key(store)
    new = PermutedBlockScheme(rules.ratio, rules.block_sizes, randomisation_secret(store))
    with store.unit_of_work() as session:
        old_id, new_id = (k.key_id for k in queries.randomisation_keys(session))
    assert new_id == rotated["key_id"] != old_id
    for pid in ids[1:]:
        sv.randomise(ctx, pid, day(73), stratum_values=DEEP_ECOG0)
    with store.unit_of_work() as session:
        rows = sorted(queries.randomisations(session), key=lambda r: r.slot)
    assert [r.slot for r in rows] == list(range(30))
    balance = 0
    for row in rows:
        if row.slot < boundary:
            assert (row.key_id, row.arm) == (old_id, old.arm_for(stratum, row.slot))
        else:
            assert (row.key_id, row.arm) == (new_id, new.arm_for(stratum, row.slot - boundary))
        balance += 1 if row.arm == "A" else -1
        assert abs(balance) <= max(rules.block_sizes) / 2
    report = sv.verify(store)
    assert report.ok, report.problems
