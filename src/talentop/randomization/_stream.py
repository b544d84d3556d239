"""Deterministic, concealed random numbers: HMAC-SHA256 in counter mode.

Why not ``numpy.random.Generator``: NumPy does not promise that ``Generator`` methods
(``permutation``, ``integers``) give the same stream across releases, and an allocation
list must be reproducible from its secret for the life of a trial (audit, re-verification
years later). HMAC-SHA256 (RFC 2104, FIPS 198-1) with a counter is a fixed, documented
construction (the HMAC_DRBG idea of NIST SP 800-90A, simplified: no reseeding, because the
stream is a pure function of (secret, label) by design). Without the secret the output
cannot be predicted, which is what allocation concealment needs.
"""

from __future__ import annotations

import hashlib
import hmac

_U64 = 1 << 64


def encode_label(*parts: str) -> bytes:
    """Length-prefix each part so that ("a|b", "c") and ("a", "b|c") never collide."""
    encoded = bytearray()
    for part in parts:
        raw = part.encode("utf-8")
        encoded += len(raw).to_bytes(4, "big") + raw
    return bytes(encoded)


class HmacStream:
    """A reproducible stream of random integers/uniforms for one (secret, label)."""

    __slots__ = ("_key", "_label", "_counter", "_buffer")

    def __init__(self, secret: bytes, *label_parts: str):
        self._key = secret
        self._label = encode_label(*label_parts)
        self._counter = 0
        self._buffer = b""

    def _next_u64(self) -> int:
        if len(self._buffer) < 8:
            block = hmac.new(
                self._key, self._label + self._counter.to_bytes(8, "big"), hashlib.sha256
            ).digest()
            self._counter += 1
            self._buffer += block
        value = int.from_bytes(self._buffer[:8], "big")
        self._buffer = self._buffer[8:]
        return value

    def below(self, n: int) -> int:
        """Uniform integer in [0, n); rejection sampling so that no value is favoured."""
        if n <= 0:
            raise ValueError(f"n={n}: expected a positive integer")
        limit = (_U64 // n) * n
        while True:
            value = self._next_u64()
            if value < limit:
                return value % n

    def uniform(self) -> float:
        """Uniform float in [0, 1) with 53 random bits (a double's full precision)."""
        return (self._next_u64() >> 11) * (1.0 / (1 << 53))

    def weighted_choice(self, options: list[str], weights: list[int]) -> str:
        """One option, with probability proportional to its integer weight."""
        ticket = self.below(sum(weights))
        for option, weight in zip(options, weights, strict=True):
            if ticket < weight:
                return option
            ticket -= weight
        raise AssertionError("unreachable: ticket exceeds the total weight")


def fingerprint(secret: bytes) -> str:
    """A public identifier of a secret (for the audit trail) that does not reveal it."""
    return hmac.new(secret, b"talentop-secret-fingerprint", hashlib.sha256).hexdigest()[:16]
