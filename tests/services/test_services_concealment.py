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
import hashlib
import math
import statistics

import pytest
import sqlalchemy as sa

from flow_helpers import PROTOCOL, context, day, randomisation_secret, seed_ready_patients
from talentop import services as sv
from talentop.randomization import PermutedBlockScheme

pytestmark = pytest.mark.db

PATIENTS = 120
#: Keys that never touched the database, to learn how many arms a wrong key gets right.
NULL_KEYS = 2000


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
    bound = chance_bound([hits(null_key(i)) for i in range(NULL_KEYS)], len(candidates))
    assert bound < PATIENTS  # the test can fail: the real key is far beyond it
    best = max(hits(key) for key in candidates)
    assert best <= bound, f"a value from the database predicts {best}/{PATIENTS} arms"


def null_key(i: int) -> bytes:
    return hashlib.sha256(f"null key {i}".encode()).digest()


def chance_bound(null_hits: list[int], candidates: int, alpha: float = 0.001) -> float:
    """The most arms a key unrelated to the real one gets right by chance, such that any
    of ``candidates`` such keys exceeds it with probability < ``alpha`` (Bonferroni).

    Not a binomial bound: permuted blocks make a wrong key's hits come in correlated
    groups (in a block of 2 it gets both arms right or both wrong), so hits vary more
    than Binomial(n, 1/2) and a binomial bound is exceeded by chance far more often than
    alpha (it was, in CI: 87 hits against a bound of 86). The mean and the variance are
    learnt from keys that never touched the database, against the same allocations, and
    the tail is the sub-Gaussian (Hoeffding) form mean + sd * sqrt(2 ln(candidates /
    alpha)), which is above the normal quantile at every alpha.
    """
    mean, sd = statistics.fmean(null_hits), statistics.stdev(null_hits)
    return mean + sd * math.sqrt(2 * math.log(candidates / alpha))
