"""Concealed, reproducible treatment allocation (pure: no storage, no clock, no I/O).

- ``stratum_key(levels)``: canonical stratum name.
- ``PermutedBlockScheme``: stratified permuted blocks with random block sizes.
- ``MinimisationScheme``: Pocock-Simon minimisation with a random element
  (Pocock & Simon, Biometrics 1975;31:103-115).
- ``imbalance(counts, ratio)``: the imbalance measure bounded by
  ``PermutedBlockScheme.max_imbalance_bound``.

Every random draw is HMAC-SHA256 of a secret, so allocation lists regenerate exactly from
the secret and cannot be predicted without it.
"""

from talentop.randomization._stream import fingerprint as secret_fingerprint
from talentop.randomization._validate import MIN_SECRET_BYTES, imbalance
from talentop.randomization.blocks import PermutedBlockScheme
from talentop.randomization.minimisation import (
    IMBALANCE_MEASURES,
    MinimisationExplanation,
    MinimisationScheme,
)
from talentop.randomization.strata import UNSTRATIFIED, stratum_key

__all__ = [
    "IMBALANCE_MEASURES",
    "MIN_SECRET_BYTES",
    "MinimisationExplanation",
    "MinimisationScheme",
    "PermutedBlockScheme",
    "UNSTRATIFIED",
    "imbalance",
    "secret_fingerprint",
    "stratum_key",
]
