"""Permuted blocks with random sizes: determinism, concealment, exact ratio, bounded imbalance.

Reference properties: Matts & Lachin, Control Clin Trials 1988;9:327-344 (a complete block
holds the exact ratio; within a block of size b the 1:1 imbalance is at most b/2).
"""

import itertools
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from talentop.errors import InvalidInput
from talentop.randomization import PermutedBlockScheme, imbalance

SECRET = bytes(range(32))
ONE_TO_ONE = {"A": 1, "B": 1}


def _chunks(plan, sizes):
    """Split a plan by block sizes (reconstructed independently of block_for)."""
    start = 0
    for size in sizes:
        yield plan[start : start + size]
        start += size


def test_same_secret_gives_the_same_list_in_any_query_order():
    first = PermutedBlockScheme(ONE_TO_ONE, [2, 4], SECRET)
    second = PermutedBlockScheme(ONE_TO_ONE, [2, 4], SECRET)
    # Query the second scheme backwards: caching must not change answers.
    backwards = [second.arm_for("ecog=0", slot) for slot in reversed(range(200))][::-1]
    assert first.block_plan("ecog=0", 200) == backwards


def test_different_secrets_and_strata_give_different_lists():
    scheme = PermutedBlockScheme(ONE_TO_ONE, [2, 4], SECRET)
    other = PermutedBlockScheme(ONE_TO_ONE, [2, 4], bytes(reversed(range(32))))
    plan = scheme.block_plan("ecog=0", 100)
    assert other.block_plan("ecog=0", 100) != plan
    assert scheme.block_plan("ecog=1", 100) != plan


def test_block_plan_prefixes_agree():
    scheme = PermutedBlockScheme(ONE_TO_ONE, [2, 4, 6], SECRET)
    assert scheme.block_plan("s", 37) == scheme.block_plan("s", 100)[:37]
    assert scheme.block_plan("s", 0) == []


def test_every_complete_block_holds_the_exact_ratio():
    scheme = PermutedBlockScheme(ONE_TO_ONE, [2, 4, 6], SECRET)
    sizes = scheme.block_sizes_used("depth=deep|ecog=0", 300)
    plan = scheme.block_plan("depth=deep|ecog=0", sum(sizes))
    for block in _chunks(plan, sizes):
        assert Counter(block) == {"A": len(block) // 2, "B": len(block) // 2}


def test_block_for_reports_position_inside_the_block():
    scheme = PermutedBlockScheme(ONE_TO_ONE, [4], SECRET)
    index, position, block = scheme.block_for("s", 9)
    assert (index, position, len(block)) == (2, 1, 4)
    assert block[position] == scheme.arm_for("s", 9)


@settings(max_examples=60, deadline=None)
@given(
    secret=st.binary(min_size=16, max_size=48),
    stratum=st.text(min_size=1, max_size=20),
    block_sizes=st.sampled_from([[2], [2, 4], [4, 6], [2, 4, 6, 8]]),
)
def test_imbalance_never_exceeds_half_the_largest_block(secret, stratum, block_sizes):
    scheme = PermutedBlockScheme(ONE_TO_ONE, block_sizes, secret)
    assert scheme.max_imbalance_bound == max(block_sizes) / 2
    counts = Counter()
    for arm in scheme.block_plan(stratum, 150):
        counts[arm] += 1
        assert abs(counts["A"] - counts["B"]) <= max(block_sizes) / 2
        assert imbalance(counts, scheme.ratio) == abs(counts["A"] - counts["B"])


def test_block_sizes_come_from_the_allowed_set_roughly_uniformly():
    """Chi-square goodness of fit of 3000 drawn sizes to uniform over {2, 4, 6}; alpha 0.001."""
    scheme = PermutedBlockScheme(ONE_TO_ONE, [2, 4, 6], SECRET)
    sizes = Counter(scheme.block_sizes_used("site=S01", 3000))
    assert set(sizes) == {2, 4, 6}
    assert stats.chisquare([sizes[2], sizes[4], sizes[6]]).pvalue > 0.001


def test_orders_within_a_block_are_uniform():
    """All 6 orderings of AABB equally likely (chi-square, alpha 0.001, 3000 blocks)."""
    scheme = PermutedBlockScheme(ONE_TO_ONE, [4], SECRET)
    plan = scheme.block_plan("x", 4 * 3000)
    orders = Counter("".join(plan[i : i + 4]) for i in range(0, len(plan), 4))
    expected = {"".join(p) for p in itertools.permutations("AABB")}
    assert set(orders) == expected
    assert stats.chisquare(list(orders.values())).pvalue > 0.001


def test_unequal_ratio_two_to_one_with_blocks_of_three_and_six():
    scheme = PermutedBlockScheme({"surgery": 2, "systemic": 1}, [3, 6], SECRET)
    assert scheme.max_imbalance_bound == 2.0
    sizes = scheme.block_sizes_used("s", 400)
    assert set(sizes) == {3, 6}
    plan = scheme.block_plan("s", sum(sizes))
    for block in _chunks(plan, sizes):
        assert Counter(block) == {"surgery": 2 * len(block) // 3, "systemic": len(block) // 3}
    counts = Counter()
    for arm in plan:
        counts[arm] += 1
        assert imbalance(counts, scheme.ratio) <= scheme.max_imbalance_bound
        # In arm units: surgery never more than 4 ahead of twice systemic (one 6-block).
        assert abs(counts["surgery"] - 2 * counts["systemic"]) <= 4


def test_repr_does_not_reveal_the_secret():
    scheme = PermutedBlockScheme(ONE_TO_ONE, [2, 4], SECRET)
    assert repr(SECRET) not in repr(scheme)
    assert SECRET.hex() not in repr(scheme)
    assert scheme.secret_fingerprint in repr(scheme)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"block_sizes": [2, 3]}, r"block_sizes value=3: expected a multiple of sum\(ratio\)=2"),
        ({"block_sizes": []}, r"block_sizes=\[\]: expected a non-empty list"),
        ({"block_sizes": [0]}, r"block_sizes value=0: expected a positive integer"),
        ({"ratio": {"A": 1}}, r"ratio=\{'A': 1\}: expected a mapping of at least two arms"),
        ({"ratio": {"A": 1, "B": 0}}, r"ratio\['B'\]=0: expected a positive integer"),
        ({"ratio": {"A": 2, "B": 1}, "block_sizes": [4]}, r"block_sizes value=4: .*=3"),
        ({"secret": b"short"}, r"secret='<5 bytes>': expected at least 16 random bytes"),
        ({"secret": "a text secret of 32 characters!!"}, r"secret=.*: expected at least 16"),
    ],
)
def test_invalid_configurations_are_refused(kwargs, message):
    config = {"ratio": ONE_TO_ONE, "block_sizes": [2, 4], "secret": SECRET} | kwargs
    with pytest.raises(InvalidInput, match=message):
        PermutedBlockScheme(**config)


@pytest.mark.parametrize(
    ("stratum", "slot", "message"),
    [("s", -1, r"slot=-1: expected an integer >= 0"), ("", 0, r"stratum_key='': expected")],
)
def test_invalid_slots_and_strata_are_refused(stratum, slot, message):
    scheme = PermutedBlockScheme(ONE_TO_ONE, [2, 4], SECRET)
    with pytest.raises(InvalidInput, match=message):
        scheme.arm_for(stratum, slot)
