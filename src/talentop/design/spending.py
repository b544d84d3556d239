"""Lan-DeMets alpha/beta spending functions.

Source: Lan & DeMets, Biometrika 1983;70:659-663; Hwang, Shih & DeCani, Stat Med
1990;9:1439-1445; the same definitions as gsDesign's ``sfLDOF``, ``sfLDPocock`` and ``sfHSD``.
"""

from __future__ import annotations

import math

import numpy as np

from talentop.errors import InvalidInput
from talentop.stats.distributions import norm

SPENDING_NAMES = ("obf", "pocock", "hsd")


def spend(name: str, total: float, fraction: np.ndarray | float, gamma: float = -4.0) -> np.ndarray:
    """Cumulative error spent by information fraction ``fraction`` (0..1) out of ``total``.

    - ``"obf"``: 2 - 2 Phi(Phi^-1(1 - total/2) / sqrt(t))  (O'Brien-Fleming-type, gsDesign sfLDOF)
    - ``"pocock"``: total * ln(1 + (e - 1) t)            (Pocock-type, gsDesign sfLDPocock)
    - ``"hsd"``: total * (1 - e^(-gamma t)) / (1 - e^(-gamma)), total * t when gamma = 0
    """
    t = np.clip(np.asarray(fraction, dtype=float), 0.0, 1.0)
    if name == "obf":
        with np.errstate(divide="ignore"):
            # t = 0 gives z / 0 = inf and so 0 spent, which is the limit we want
            spent = 2.0 - 2.0 * norm.cdf(norm.ppf(1.0 - total / 2.0) / np.sqrt(t))
    elif name == "pocock":
        spent = total * np.log1p((math.e - 1.0) * t)
    elif name == "hsd":
        if abs(gamma) < 1e-12:
            spent = total * t
        else:
            spent = total * (1.0 - np.exp(-gamma * t)) / (1.0 - math.exp(-gamma))
    else:
        raise InvalidInput.field("spending", name, f"one of {', '.join(SPENDING_NAMES)}")
    # at t = 1 every function spends exactly the total (guards against rounding at the end)
    return np.where(t >= 1.0, total, spent)
