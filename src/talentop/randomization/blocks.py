"""Stratified permuted-block randomisation with random block sizes.

Source: Matts & Lachin, Control Clin Trials 1988;9:327-344 (properties of permuted-block
randomisation); ICH E9 section 2.3.2 (block sizes unpredictable to investigators: vary
them at random and keep them concealed). Each stratum has its own independent list.
"""

from __future__ import annotations

import bisect
import threading

from talentop.errors import InvalidInput, check_problems
from talentop.randomization._stream import HmacStream, fingerprint
from talentop.randomization._validate import validate_ratio, validate_secret

_PURPOSE = "talentop/permuted-block/v1"


class PermutedBlockScheme:
    """Concealed allocation list per stratum: ``arm_for(stratum, slot)`` is a pure function.

    Block ``b`` of a stratum is derived from HMAC-SHA256(secret, stratum, b) alone: its size
    is drawn uniformly from ``block_sizes`` (a size listed twice is twice as likely), then
    the arms (each ``ratio[arm] * size / sum(ratio)`` times) are put in a uniformly random
    order by a Fisher-Yates shuffle. ``slot`` counts allocations within the stratum from 0.
    Nothing is stored but the secret: the same secret always regenerates the same lists,
    and without it the next allocation cannot be predicted.

    Block boundaries and computed blocks are cached per stratum, so ``arm_for`` costs one
    bisection plus, the first time a block is reached, a few HMACs. Thread-safe.
    """

    def __init__(self, ratio: dict[str, int], block_sizes: list[int], secret: bytes):
        self.ratio = validate_ratio(ratio)
        self.arms: tuple[str, ...] = tuple(self.ratio)
        ratio_total = sum(self.ratio.values())
        problems: list[str] = []
        if not isinstance(block_sizes, list | tuple) or not block_sizes:
            raise InvalidInput.field(
                "block_sizes", block_sizes, f"a non-empty list of multiples of {ratio_total}"
            )
        for size in block_sizes:
            if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
                problems.append(f"block_sizes value={size!r}: expected a positive integer")
            elif size % ratio_total:
                problems.append(
                    f"block_sizes value={size!r}: expected a multiple of sum(ratio)={ratio_total} "
                    f"so every block holds the exact ratio {self.ratio}"
                )
        check_problems(problems)
        self.block_sizes: tuple[int, ...] = tuple(block_sizes)
        self._secret = validate_secret(secret)
        self._ratio_total = ratio_total
        # stratum -> cumulative end slot of each block generated so far (block b covers
        # slots [ends[b-1], ends[b]) ).
        self._ends: dict[str, list[int]] = {}
        self._blocks: dict[tuple[str, int], tuple[str, ...]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        # Never show the secret: only its public fingerprint.
        return (
            f"PermutedBlockScheme(ratio={self.ratio}, block_sizes={list(self.block_sizes)}, "
            f"secret_fingerprint={self.secret_fingerprint!r})"
        )

    @property
    def secret_fingerprint(self) -> str:
        """Public identifier of the secret (record it in the audit trail, not the secret)."""
        return fingerprint(self._secret)

    @property
    def max_imbalance_bound(self) -> float:
        """Largest possible imbalance (see ``imbalance``) at any point in any stratum.

        Equals largest block / sum(ratio): half the largest block for 1:1, because
        complete blocks are exactly balanced and a partial block can be at most one
        block-multiple ahead.
        """
        return max(self.block_sizes) / self._ratio_total

    def _stream(self, stratum: str, block_index: int) -> HmacStream:
        return HmacStream(self._secret, _PURPOSE, stratum, str(block_index))

    def _block_size(self, stream: HmacStream) -> int:
        # The first draw of a block's stream is always its size, so boundaries can be
        # laid out without shuffling every earlier block.
        return self.block_sizes[stream.below(len(self.block_sizes))]

    def _make_block(self, stratum: str, block_index: int) -> tuple[str, ...]:
        stream = self._stream(stratum, block_index)
        size = self._block_size(stream)
        multiple = size // self._ratio_total
        arms = [arm for arm, weight in self.ratio.items() for _ in range(weight * multiple)]
        # Fisher-Yates (Durstenfeld): every ordering of the multiset equally likely.
        for i in range(len(arms) - 1, 0, -1):
            j = stream.below(i + 1)
            arms[i], arms[j] = arms[j], arms[i]
        return tuple(arms)

    def _locate(self, stratum: str, slot: int) -> tuple[int, int, int]:
        """(block index, block start slot, block size) of ``slot``; caller holds the lock."""
        ends = self._ends.setdefault(stratum, [])
        while not ends or ends[-1] <= slot:
            start = ends[-1] if ends else 0
            ends.append(start + self._block_size(self._stream(stratum, len(ends))))
        block_index = bisect.bisect_right(ends, slot)
        start = ends[block_index - 1] if block_index else 0
        return block_index, start, ends[block_index] - start

    def _check(self, stratum_key: str, slot: int) -> None:
        problems = []
        if not isinstance(stratum_key, str) or not stratum_key:
            problems.append(f"stratum_key={stratum_key!r}: expected a key from stratum_key()")
        if isinstance(slot, bool) or not isinstance(slot, int) or slot < 0:
            problems.append(f"slot={slot!r}: expected an integer >= 0 (0 = first in stratum)")
        check_problems(problems)

    def block_for(self, stratum_key: str, slot: int) -> tuple[int, int, tuple[str, ...]]:
        """(block index, position in block, the whole block) for audit and verification."""
        self._check(stratum_key, slot)
        with self._lock:
            block_index, start, _ = self._locate(stratum_key, slot)
            block = self._blocks.get((stratum_key, block_index))
            if block is None:
                block = self._make_block(stratum_key, block_index)
                self._blocks[(stratum_key, block_index)] = block
        return block_index, slot - start, block

    def arm_for(self, stratum_key: str, slot: int) -> str:
        """The arm of the ``slot``-th allocation (0-based) in the stratum."""
        _, position, block = self.block_for(stratum_key, slot)
        return block[position]

    def block_plan(self, stratum_key: str, n: int) -> list[str]:
        """The first ``n`` allocations of a stratum (verification and audit only: never
        show this before the allocations are made)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise InvalidInput.field("n", n, "an integer >= 0")
        self._check(stratum_key, 0)
        plan: list[str] = []
        while len(plan) < n:
            _, position, block = self.block_for(stratum_key, len(plan))
            plan.extend(block[position:])
        return plan[:n]

    def block_sizes_used(self, stratum_key: str, n_blocks: int) -> list[int]:
        """Sizes of the first ``n_blocks`` blocks of a stratum (audit of the size draw)."""
        self._check(stratum_key, 0)
        return [self._block_size(self._stream(stratum_key, index)) for index in range(n_blocks)]
