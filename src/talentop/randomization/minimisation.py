"""Pocock-Simon minimisation with a random element.

Source: Pocock SJ, Simon R. Sequential treatment assignment with balancing for prognostic
factors in the controlled clinical trial. Biometrics 1975;31:103-115. Unequal ratios by
dividing counts by the arm's ratio weight (as in Han, Enas & McEntegart, Stat Med
2009;28:3329-3346, "minimisation with unequal allocation", simplified). ICH E9 and the EMA
guideline on baseline covariates (2015) ask for a random element so that allocations are
not predictable: here the preferred arm is given with probability ``p`` (0.8 by default).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from talentop.errors import check_problems
from talentop.randomization._stream import HmacStream, fingerprint
from talentop.randomization._validate import validate_ratio, validate_secret

_PURPOSE = "talentop/minimisation/v1"
IMBALANCE_MEASURES = ("range", "variance")


@dataclass(frozen=True)
class MinimisationExplanation:
    """Why a patient got an arm: the audit record of one minimisation step."""

    sequence: int
    arm: str
    # Counts of earlier patients sharing the new patient's level, per factor and arm.
    level_counts: dict[str, dict[str, int]]
    # Total weighted imbalance G if the patient were given each arm (Pocock & Simon's G_k).
    scores: dict[str, float]
    # Arms with the smallest score (more than one = a tie, broken at random by ratio).
    best_arms: tuple[str, ...]
    preferred_arm: str
    # The uniform draw compared with p; None when every arm tied (pure randomisation).
    coin: float | None
    p: float
    followed_preference: bool
    measure: str = "range"
    factor_scores: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-safe form for the audit trail."""
        return {
            "sequence": self.sequence,
            "arm": self.arm,
            "level_counts": self.level_counts,
            "scores": self.scores,
            "factor_scores": self.factor_scores,
            "best_arms": list(self.best_arms),
            "preferred_arm": self.preferred_arm,
            "coin": self.coin,
            "p": self.p,
            "followed_preference": self.followed_preference,
            "measure": self.measure,
        }


def _spread(values: list[float], measure: str) -> float:
    if measure == "range":
        return max(values) - min(values)
    mean = sum(values) / len(values)
    # Sample variance (n - 1), as in Pocock & Simon's variance option.
    return sum((v - mean) ** 2 for v in values) / (len(values) - 1)


class MinimisationScheme:
    """Allocate each new patient to the arm that minimises marginal imbalance, usually.

    For each candidate arm k: add the patient to k, and for each factor f take the counts
    of earlier patients with the patient's level of f per arm, divided by the arm's ratio
    weight; the factor's imbalance is their range (max - min) or sample variance; G_k is
    the weighted sum over factors. The arm with the smallest G_k is preferred (ties broken
    at random, with probability proportional to the ratio). The preferred arm is given with
    probability ``p``; otherwise one of the other arms, chosen with probability proportional
    to the ratio. When every arm ties the patient is simply randomised by the ratio.

    All random draws come from HMAC-SHA256(secret, sequence): reproducible for audit,
    unpredictable without the secret. ``sequence`` is the trial-wide allocation number and
    must never be reused.
    """

    def __init__(
        self,
        ratio: dict[str, int],
        factors: list[str],
        p: float = 0.8,
        secret: bytes | None = None,
        *,
        measure: str = "range",
        weights: Mapping[str, float] | None = None,
    ):
        self.ratio = validate_ratio(ratio)
        self.arms: tuple[str, ...] = tuple(self.ratio)
        problems: list[str] = []
        if not isinstance(factors, list | tuple) or not factors:
            problems.append(f"factors={factors!r}: expected a non-empty list of factor names")
            factors = []
        elif len(set(factors)) != len(factors) or not all(
            isinstance(f, str) and f.strip() for f in factors
        ):
            problems.append(f"factors={factors!r}: expected distinct non-empty names")
        lowest_p = 1 / len(self.arms)
        if isinstance(p, bool) or not isinstance(p, int | float) or not lowest_p <= p <= 1:
            problems.append(
                f"p={p!r}: expected a probability between 1/{len(self.arms)} and 1 "
                "(0.8 is usual; 1 is deterministic minimisation, not recommended)"
            )
        if measure not in IMBALANCE_MEASURES:
            problems.append(f"measure={measure!r}: expected one of {list(IMBALANCE_MEASURES)}")
        weights = dict(weights or {})
        for name, weight in weights.items():
            if name not in factors:
                problems.append(f"weights[{name!r}]: expected a factor among {list(factors)}")
            elif isinstance(weight, bool) or not isinstance(weight, int | float) or weight <= 0:
                problems.append(f"weights[{name!r}]={weight!r}: expected a positive number")
        check_problems(problems)
        self.factors: tuple[str, ...] = tuple(factors)
        self.p = float(p)
        self.measure = measure
        self.weights = {f: float(weights.get(f, 1.0)) for f in self.factors}
        self._secret = validate_secret(secret)

    def __repr__(self) -> str:
        return (
            f"MinimisationScheme(ratio={self.ratio}, factors={list(self.factors)}, p={self.p}, "
            f"measure={self.measure!r}, secret_fingerprint={fingerprint(self._secret)!r})"
        )

    @property
    def secret_fingerprint(self) -> str:
        return fingerprint(self._secret)

    def _check(self, existing: Sequence[Mapping], patient: Mapping, sequence: int) -> None:
        problems: list[str] = []
        if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 0:
            problems.append(f"sequence={sequence!r}: expected an integer >= 0")
        missing = [f for f in self.factors if f not in patient]
        if missing:
            problems.append(f"patient: missing factor(s) {missing}; expected {list(self.factors)}")
        for index, earlier in enumerate(existing):
            if earlier.get("arm") not in self.ratio:
                problems.append(
                    f"existing[{index}].arm={earlier.get('arm')!r}: expected one of {list(self.arms)}"
                )
            gaps = [f for f in self.factors if f not in earlier]
            if gaps:
                problems.append(f"existing[{index}]: missing factor(s) {gaps}")
        check_problems(problems)

    def explain(
        self, existing: Sequence[Mapping], patient: Mapping, sequence: int
    ) -> MinimisationExplanation:
        """The full minimisation step (counts, scores, draws, arm) for one new patient."""
        self._check(existing, patient, sequence)
        level_counts = {f: dict.fromkeys(self.arms, 0) for f in self.factors}
        for earlier in existing:
            for f in self.factors:
                if str(earlier[f]) == str(patient[f]):
                    level_counts[f][earlier["arm"]] += 1

        scores: dict[str, float] = {}
        factor_scores: dict[str, dict[str, float]] = {}
        for candidate in self.arms:
            total = 0.0
            per_factor: dict[str, float] = {}
            for f in self.factors:
                normalised = [
                    (level_counts[f][arm] + (arm == candidate)) / self.ratio[arm]
                    for arm in self.arms
                ]
                per_factor[f] = _spread(normalised, self.measure)
                total += self.weights[f] * per_factor[f]
            scores[candidate] = total
            factor_scores[candidate] = per_factor

        # Compare with a tolerance: scores are sums of ratios and could differ by rounding.
        lowest = min(scores.values())
        best = tuple(arm for arm in self.arms if scores[arm] - lowest <= 1e-9)
        stream = HmacStream(self._secret, _PURPOSE, str(sequence))
        # Fixed draw order (tie-break, coin, other arm) so the record can be replayed.
        preferred = stream.weighted_choice(list(best), [self.ratio[a] for a in best])
        if len(best) == len(self.arms):
            arm, coin, followed = preferred, None, True
        else:
            coin = stream.uniform()
            followed = coin < self.p
            if followed:
                arm = preferred
            else:
                others = [a for a in self.arms if a != preferred]
                arm = stream.weighted_choice(others, [self.ratio[a] for a in others])
        return MinimisationExplanation(
            sequence=sequence,
            arm=arm,
            level_counts=level_counts,
            scores=scores,
            best_arms=best,
            preferred_arm=preferred,
            coin=coin,
            p=self.p,
            followed_preference=followed,
            measure=self.measure,
            factor_scores=factor_scores,
        )

    def assign(self, existing: Sequence[Mapping], patient: Mapping, sequence: int) -> str:
        """The arm for a new patient given earlier patients' factor levels and arms."""
        return self.explain(existing, patient, sequence).arm
