"""Input checks shared by the allocation schemes (every problem collected, not just one)."""

from __future__ import annotations

from collections.abc import Mapping

from talentop.errors import InvalidInput, check_problems

MIN_SECRET_BYTES = 16


def validate_ratio(ratio: object) -> dict[str, int]:
    """Return the ratio as {arm: positive int}, arms sorted by name so the order is canonical."""
    problems: list[str] = []
    if not isinstance(ratio, Mapping) or len(ratio) < 2:
        raise InvalidInput.field(
            "ratio",
            ratio,
            'a mapping of at least two arms to positive integers, e.g. {"A": 1, "B": 1}',
        )
    for arm, weight in ratio.items():
        if not isinstance(arm, str) or not arm.strip():
            problems.append(f"ratio arm={arm!r}: expected a non-empty string arm name")
        if isinstance(weight, bool) or not isinstance(weight, int) or weight <= 0:
            problems.append(f"ratio[{arm!r}]={weight!r}: expected a positive integer")
    check_problems(problems)
    return {arm: int(ratio[arm]) for arm in sorted(ratio)}


def validate_secret(secret: object) -> bytes:
    """The secret must be bytes of at least 128 bits (e.g. ``secrets.token_bytes(32)``)."""
    if not isinstance(secret, bytes | bytearray) or len(secret) < MIN_SECRET_BYTES:
        shown = f"<{len(secret)} bytes>" if isinstance(secret, bytes | bytearray) else secret
        raise InvalidInput(
            f"secret={shown!r}: expected at least {MIN_SECRET_BYTES} random bytes, "
            "e.g. secrets.token_bytes(32)"
        )
    return bytes(secret)


def imbalance(counts: Mapping[str, int], ratio: Mapping[str, int]) -> float:
    """Allocation imbalance: max minus min over arms of n_arm / ratio_arm.

    For 1:1 this is |n_A - n_B|. Complete permuted blocks contribute 0, so under permuted
    blocks it never exceeds (largest block) / sum(ratio): half the largest block for 1:1.
    """
    normalised = [counts.get(arm, 0) / weight for arm, weight in ratio.items()]
    return max(normalised) - min(normalised)
