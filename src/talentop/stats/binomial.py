"""Confidence intervals for a binomial proportion (response rates, complication rates).

Sources: Clopper & Pearson (Biometrika 1934), exact via beta quantiles; Wilson (JASA
1927) score interval; Jeffreys (Brown, Cai & DasGupta, Stat Sci 2001), whose limit is
set to 0 when successes = 0 and to 1 when successes = n, as they recommend.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from talentop.stats import _validate
from talentop.stats import distributions as dist
from talentop.stats.results import Result

METHODS = ("clopper-pearson", "wilson", "jeffreys")


@dataclass(frozen=True, eq=False)
class BinomialCI(Result):
    """A proportion with its confidence interval."""

    successes: int
    n: int
    estimate: float
    lower: float
    upper: float
    method: str
    conf_level: float
    title: str = "Binomial proportion"

    @property
    def summary(self) -> pd.DataFrame:
        return pd.DataFrame(
            [[self.successes, self.n, self.estimate, self.lower, self.upper]],
            columns=["successes", "n", "estimate", "lower", "upper"],
        )

    def _footer(self) -> list[str]:
        return [f"{self.method} interval, level {self.conf_level:g}"]


def binomial_ci(
    successes: int, n: int, *, method: str = "clopper-pearson", conf_level: float = 0.95
) -> BinomialCI:
    """Proportion successes/n with a Clopper-Pearson (exact), Wilson or Jeffreys interval."""
    problems = []
    if method not in METHODS:
        problems.append(f"method={method!r}: expected one of {', '.join(METHODS)}")
    for name, value in (("successes", successes), ("n", n)):
        if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 0:
            problems.append(f"{name}={value!r}: expected a whole number >= 0")
    if not problems and n == 0:
        problems.append("n=0: expected at least one trial")
    if not problems and successes > n:
        problems.append(f"successes={successes!r}: expected at most n={n}")
    _validate.check(problems)
    level = _validate.conf_level(conf_level)
    alpha = 1 - level
    x, n = int(successes), int(n)
    if method == "clopper-pearson":
        lower = 0.0 if x == 0 else float(dist.beta.ppf(alpha / 2, x, n - x + 1))
        upper = 1.0 if x == n else float(dist.beta.ppf(1 - alpha / 2, x + 1, n - x))
    elif method == "jeffreys":
        lower = 0.0 if x == 0 else float(dist.beta.ppf(alpha / 2, x + 0.5, n - x + 0.5))
        upper = 1.0 if x == n else float(dist.beta.ppf(1 - alpha / 2, x + 0.5, n - x + 0.5))
    else:
        z = dist.norm.ppf(1 - alpha / 2)
        phat = x / n
        centre = (phat + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z * np.sqrt(phat * (1 - phat) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
        lower, upper = max(0.0, float(centre - half)), min(1.0, float(centre + half))
    return BinomialCI(
        successes=x,
        n=n,
        estimate=x / n,
        lower=lower,
        upper=upper,
        method=method,
        conf_level=level,
    )
