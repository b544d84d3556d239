"""Allocation concealment against a reader of the whole database: every table the database
user can read and every file in the database's folder (the SQLite file, its WAL and SHM)
give neither the randomisation key nor a better-than-chance guess of an arm.

Before issue 16 the 32-byte secret sat in a table, and reading it plus the stratum
counter predicted the next arm every time (20 of 20). The control below runs the same
attack with the real key (from the key folder, which the database user cannot read) and
gets every arm right, so the test can fail.
"""

from __future__ import annotations

import base64
import binascii

import pytest
import sqlalchemy as sa
from scipy.stats import binom

from flow_helpers import PROTOCOL, context, day, randomisation_secret, seed_ready_patients
from talentop import services as sv
from talentop.randomization import PermutedBlockScheme

pytestmark = pytest.mark.db

PATIENTS = 120


def readable_values(store) -> list[object]:
    """Every value of every table, as the database user reads them."""
    values: list[object] = []
    with store.engine.connect() as conn:
        for table in sa.inspect(conn).get_table_names():
            for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):
                values.extend(row)
    return values


def candidate_keys(values: list[object]) -> set[bytes]:
    """What an attacker would try as the key: every bytes value, every text value as bytes,
    and every hexadecimal or base64 text decoded (fingerprints, key ids, leaf hashes...)."""
    keys: set[bytes] = set()
    for value in values:
        if isinstance(value, bytes | memoryview):
            keys.add(bytes(value))
        if not isinstance(value, str):
            continue
        keys.add(value.encode())
        for part in value.replace('"', " ").replace("-", " ").split():
            for decode in (bytes.fromhex, base64.b64decode):
                try:
                    keys.add(decode(part))
                except (ValueError, binascii.Error):
                    pass
    return {key for key in keys if len(key) >= 16}


def test_next_arm_cannot_be_predicted_from_anything_the_database_user_can_read(store, tmp_path):
    ctx = context(store)
    made = [sv.randomise(ctx, pid, day(73)) for pid in seed_ready_patients(store, PATIENTS)]
    secret = randomisation_secret(store)
    with store.unit_of_work() as session:
        rows = session.execute(
            sa.text("SELECT stratum_key, slot, arm FROM randomisations ORDER BY id")
        ).all()
    assert [r.arm for r in rows] == [a["arm"] for a in made]

    # 1. The key is nowhere the database user can read, in any encoding.
    values = readable_values(store)
    forms = [secret, secret.hex().encode(), base64.b64encode(secret), secret.hex().upper().encode()]
    blobs = [repr(values).encode()]
    if store.is_sqlite:
        blobs += [path.read_bytes() for path in tmp_path.iterdir() if path.is_file()]
    assert not any(form in blob for form in forms for blob in blobs)

    # 2. Every candidate key taken from the database predicts the arms no better than
    #    chance; the same attack with the real key predicts all of them.
    rules = PROTOCOL.randomisation

    def hits(key: bytes) -> int:
        scheme = PermutedBlockScheme(rules.ratio, rules.block_sizes, key)
        return sum(scheme.arm_for(r.stratum_key, r.slot) == r.arm for r in rows)

    assert hits(secret) == PATIENTS  # the attack itself works
    candidates = candidate_keys(values)
    assert len(candidates) > 100 and secret not in candidates
    # Bonferroni over the candidates: P(any candidate reaches the bound by luck) < 0.001.
    bound = binom.isf(0.001 / len(candidates), PATIENTS, 0.5)
    best = max(hits(key) for key in candidates)
    assert best <= bound, f"a value from the database predicts {best}/{PATIENTS} arms"
