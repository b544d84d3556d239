"""Pocock-Simon minimisation (Pocock & Simon, Biometrics 1975;31:103-115) with a random element."""

import math

import numpy as np
import pytest

from talentop.errors import InvalidInput
from talentop.randomization import MinimisationScheme

SECRET = b"minimisation-test-secret-0123456789"
FACTORS = ["ecog", "depth", "site"]
ONE_TO_ONE = {"A": 1, "B": 1}


def _patient_stream(n, seed):
    """Simulated patients: ECOG 0/1 (60/40), depth deep/shallow (50/50), 4 sites."""
    rng = np.random.default_rng(seed)
    return [
        {
            "ecog": str(rng.choice(["0", "1"], p=[0.6, 0.4])),
            "depth": str(rng.choice(["deep", "shallow"])),
            "site": str(rng.choice(["S01", "S02", "S03", "S04"], p=[0.4, 0.3, 0.2, 0.1])),
        }
        for _ in range(n)
    ]


def _max_marginal_imbalance(patients):
    """Largest |n_A - n_B| over every factor level (the marginal totals minimisation balances)."""
    worst = 0
    for factor in FACTORS:
        for level in {p[factor] for p in patients}:
            group = [p["arm"] for p in patients if p[factor] == level]
            worst = max(worst, abs(group.count("A") - group.count("B")))
    return worst


def _run(scheme, patients):
    allocated, explanations = [], []
    for sequence, patient in enumerate(patients):
        explanation = scheme.explain(allocated, patient, sequence)
        explanations.append(explanation)
        allocated.append(patient | {"arm": explanation.arm})
    return allocated, explanations


def test_hand_worked_scores_range_measure():
    """Three earlier patients; new patient ecog=0, depth=deep.

    ecog=0 among earlier: A has 2, B has 0.  depth=deep: A has 0, B has 1.
    Give A: ecog (3, 0) range 3, depth (1, 1) range 0 -> G_A = 3.
    Give B: ecog (2, 1) range 1, depth (0, 2) range 2 -> G_B = 3 ... with ecog weight 2:
    G_A = 2*3 + 0 = 6, G_B = 2*1 + 2 = 4 -> B preferred.
    """
    existing = [
        {"ecog": "0", "depth": "shallow", "arm": "A"},
        {"ecog": "0", "depth": "shallow", "arm": "A"},
        {"ecog": "1", "depth": "deep", "arm": "B"},
    ]
    scheme = MinimisationScheme(ONE_TO_ONE, ["ecog", "depth"], secret=SECRET, weights={"ecog": 2})
    explanation = scheme.explain(existing, {"ecog": "0", "depth": "deep"}, sequence=3)
    assert explanation.level_counts == {"ecog": {"A": 2, "B": 0}, "depth": {"A": 0, "B": 1}}
    assert explanation.scores == {"A": 6.0, "B": 4.0}
    assert explanation.best_arms == ("B",)
    assert explanation.preferred_arm == "B"
    assert explanation.arm == ("B" if explanation.coin < 0.8 else "A")


def test_variance_measure_for_two_arms_is_half_the_squared_range():
    """For two values the sample variance equals (a - b)^2 / 2: a checkable identity."""
    patients = _patient_stream(40, seed=3)
    ranged = MinimisationScheme(ONE_TO_ONE, FACTORS, secret=SECRET)
    varied = MinimisationScheme(ONE_TO_ONE, FACTORS, secret=SECRET, measure="variance")
    allocated, _ = _run(ranged, patients[:-1])
    by_range = ranged.explain(allocated, patients[-1], 39)
    by_variance = varied.explain(allocated, patients[-1], 39)
    for arm in ONE_TO_ONE:
        for factor in FACTORS:
            spread = by_range.factor_scores[arm][factor]
            assert by_variance.factor_scores[arm][factor] == pytest.approx(spread**2 / 2)


def test_minimisation_balances_marginal_totals_far_better_than_simple_randomisation():
    """20 simulated streams of 120 patients: mean worst marginal imbalance at most half."""
    minimised, simple = [], []
    for seed in range(20):
        patients = _patient_stream(120, seed)
        scheme = MinimisationScheme(ONE_TO_ONE, FACTORS, secret=SECRET + bytes([seed]))
        allocated, _ = _run(scheme, patients)
        minimised.append(_max_marginal_imbalance(allocated))
        coins = np.random.default_rng(1000 + seed).integers(0, 2, size=len(patients))
        simple.append(
            _max_marginal_imbalance(
                [p | {"arm": "AB"[c]} for p, c in zip(patients, coins, strict=True)]
            )
        )
    assert np.mean(minimised) <= 0.5 * np.mean(simple)


def test_preferred_arm_is_followed_with_probability_p():
    """Among decisions with a unique preferred arm, the fraction followed is p within 4 SE
    of a binomial proportion; and some allocations do go to the non-preferred arm."""
    followed, decisions = 0, 0
    for seed in range(10):
        scheme = MinimisationScheme(ONE_TO_ONE, FACTORS, p=0.8, secret=SECRET + bytes([seed]))
        _, explanations = _run(scheme, _patient_stream(150, seed))
        for explanation in explanations:
            if explanation.coin is not None:
                decisions += 1
                followed += explanation.followed_preference
                assert (explanation.arm == explanation.preferred_arm) == (explanation.coin < 0.8)
    fraction = followed / decisions
    assert decisions > 500
    assert abs(fraction - 0.8) <= 4 * math.sqrt(0.8 * 0.2 / decisions)
    assert followed < decisions


def test_ties_are_broken_at_random():
    """The first patient ties on every arm: across sequences both arms occur, about 50/50."""
    scheme = MinimisationScheme(ONE_TO_ONE, FACTORS, secret=SECRET)
    patient = {"ecog": "0", "depth": "deep", "site": "S01"}
    arms = [scheme.explain([], patient, sequence) for sequence in range(400)]
    assert all(e.coin is None and e.best_arms == ("A", "B") for e in arms)
    share_a = sum(e.arm == "A" for e in arms) / len(arms)
    assert abs(share_a - 0.5) <= 4 * math.sqrt(0.25 / len(arms))


def test_p_one_is_deterministic_minimisation():
    scheme = MinimisationScheme(ONE_TO_ONE, FACTORS, p=1.0, secret=SECRET)
    _, explanations = _run(scheme, _patient_stream(80, 7))
    assert all(e.arm == e.preferred_arm for e in explanations)


def test_same_secret_reproduces_and_another_secret_differs():
    patients = _patient_stream(60, 11)
    first, _ = _run(MinimisationScheme(ONE_TO_ONE, FACTORS, secret=SECRET), patients)
    again, _ = _run(MinimisationScheme(ONE_TO_ONE, FACTORS, secret=SECRET), patients)
    other, _ = _run(MinimisationScheme(ONE_TO_ONE, FACTORS, secret=SECRET[::-1]), patients)
    assert first == again
    assert [p["arm"] for p in other] != [p["arm"] for p in first]


def test_unequal_ratio_gives_about_two_thirds_to_the_heavier_arm():
    scheme = MinimisationScheme({"surgery": 2, "systemic": 1}, FACTORS, secret=SECRET)
    allocated, _ = _run(scheme, _patient_stream(300, 5))
    share = sum(p["arm"] == "surgery" for p in allocated) / len(allocated)
    assert abs(share - 2 / 3) <= 0.05


def test_explanation_is_json_safe():
    import json

    scheme = MinimisationScheme(ONE_TO_ONE, FACTORS, secret=SECRET)
    record = scheme.explain([], {"ecog": "0", "depth": "deep", "site": "S01"}, 0).to_dict()
    assert json.loads(json.dumps(record))["arm"] in ONE_TO_ONE


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"p": 0.3}, r"p=0.3: expected a probability between 1/2 and 1"),
        ({"p": 1.2}, r"p=1.2: expected a probability"),
        ({"factors": []}, r"factors=\[\]: expected a non-empty list"),
        ({"factors": ["ecog", "ecog"]}, r"factors=\['ecog', 'ecog'\]: expected distinct"),
        ({"measure": "entropy"}, r"measure='entropy': expected one of \['range', 'variance'\]"),
        ({"weights": {"bmi": 1}}, r"weights\['bmi'\]: expected a factor among"),
        ({"secret": None}, r"secret=None: expected at least 16 random bytes"),
    ],
)
def test_invalid_configurations_are_refused(kwargs, message):
    config = {"ratio": ONE_TO_ONE, "factors": FACTORS, "secret": SECRET} | kwargs
    with pytest.raises(InvalidInput, match=message):
        MinimisationScheme(**config)


@pytest.mark.parametrize(
    ("existing", "patient", "sequence", "message"),
    [
        ([], {"ecog": "0", "depth": "deep"}, 0, r"patient: missing factor\(s\) \['site'\]"),
        (
            [{"ecog": "0", "depth": "deep", "site": "S01", "arm": "C"}],
            {"ecog": "0", "depth": "deep", "site": "S01"},
            1,
            r"existing\[0\].arm='C': expected one of \['A', 'B'\]",
        ),
        ([], {"ecog": "0", "depth": "deep", "site": "S01"}, -2, r"sequence=-2: expected"),
    ],
)
def test_invalid_allocation_requests_are_refused(existing, patient, sequence, message):
    scheme = MinimisationScheme(ONE_TO_ONE, FACTORS, secret=SECRET)
    with pytest.raises(InvalidInput, match=message):
        scheme.assign(existing, patient, sequence)
