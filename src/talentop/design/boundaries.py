"""Group-sequential boundaries by Lan-DeMets spending and recursive numerical integration.

Source: Armitage, McPherson & Rowe, JRSS A 1969;132:235-244 (the recursion); Jennison &
Turnbull, "Group Sequential Methods", 2000, ch. 19 (grid and Simpson weights, as gsDesign's
``gridpts``); Lan & DeMets, Biometrika 1983 (spending). Non-binding futility by beta
spending follows gsDesign ``test.type = 4``: efficacy bounds ignore the futility bounds; the
drift is chosen so the final bounds meet. Classical (non-spending) Wang-Tsiatis boundaries
z_k = C t_k^(Delta - 1/2) (``"classical_obf"``: Delta = 0, ``"classical_pocock"``: Delta = 1/2)
solve one constant C so the whole design spends alpha (Wang & Tsiatis, Biometrics
1987;43:193-199; Jennison & Turnbull 2000, tables 2.1 and 2.3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from talentop.design.spending import SPENDING_NAMES, spend
from talentop.errors import InvalidInput, check_problems
from talentop.stats.distributions import norm

#: grid density of Jennison & Turnbull (gsDesign uses r = 18); 6r - 1 base points per look
GRID_R = 18
#: Numerical limits of the bounds (the recursive integration is checked to be right inside
#: them: inflation >= 1 and alpha spent to 1e-9 up to 200 looks, alpha down to 1e-50 and
#: power up to 0.99999; at 300 looks the inflation came out 0.84, at power 0.999999 0.996,
#: at alpha 1e-300 the root finding failed). Stated in docs/limits.md.
MAX_LOOKS = 100
MIN_ALPHA = 1e-12
MIN_BETA = 1e-4  # power at most 0.9999
_Z_HIGH = 40.0  # a bound beyond this has no probability worth spending


def _grid(
    mean: float, lower: float, upper: float, r: int = GRID_R
) -> tuple[np.ndarray, np.ndarray]:
    """Grid points and Simpson weights on (lower, upper) around ``mean`` (J&T 19.3)."""
    i = np.arange(1, 6 * r, dtype=float)
    x = np.where(
        i < r,
        -3.0 - 4.0 * np.log(r / i),
        np.where(i <= 5 * r, -3.0 + 3.0 * (i - r) / (2.0 * r), 3.0 + 4.0 * np.log(r / (6 * r - i))),
    )
    x = x + mean
    if lower > x[0]:
        x = np.concatenate([[lower], x[x > lower]])
    if upper < x[-1]:
        x = np.concatenate([x[x < upper], [upper]])
    if len(x) < 2:
        # bounds met: no continuation region, nothing carries over to the next look
        return np.array([x[0]]), np.array([0.0])
    # Simpson's rule on the points plus their midpoints (odd count 2m - 1)
    m = len(x)
    z = np.empty(2 * m - 1)
    z[0::2] = x
    z[1::2] = 0.5 * (x[:-1] + x[1:])
    dx = np.diff(x)
    w = np.empty(2 * m - 1)
    w[1::2] = 4.0 * dx / 6.0
    w[2:-1:2] = (dx[:-1] + dx[1:]) / 6.0
    w[0] = dx[0] / 6.0
    w[-1] = dx[-1] / 6.0
    return z, w


@dataclass
class _State:
    """Sub-density of Z at the previous look over its continuation region."""

    t: float
    z: np.ndarray
    h: np.ndarray


def _exit(state: _State | None, t: float, drift: float, bound: float, upper: bool) -> float:
    """P(continue until now, then Z_k beyond ``bound``) with Z_k ~ drift * sqrt(t) mean."""
    if not np.isfinite(bound):
        return 0.0 if (bound > 0) == upper else float(state.h.sum() if state else 1.0)
    if state is None:
        s = bound - drift * math.sqrt(t)
        return float(norm.sf(s) if upper else norm.cdf(s))
    delta = t - state.t
    # score-scale increment S_k - S_{k-1} ~ N(drift * delta, delta), with S = Z sqrt(t)
    s = (bound * math.sqrt(t) - state.z * math.sqrt(state.t) - drift * delta) / math.sqrt(delta)
    return float(np.dot(state.h, norm.sf(s) if upper else norm.cdf(s)))


def _advance(state: _State | None, t: float, drift: float, lower: float, upper: float) -> _State:
    """Sub-density at this look over (lower, upper): the AMPR recursion step."""
    mean = drift * math.sqrt(t)
    z, w = _grid(mean, lower, upper)
    if state is None:
        return _State(t, z, w * norm.pdf(z - mean))
    delta = t - state.t
    x = (z[:, None] * math.sqrt(t) - state.z[None, :] * math.sqrt(state.t) - drift * delta) / (
        math.sqrt(delta)
    )
    h = w * math.sqrt(t / delta) * (norm.pdf(x) @ state.h)
    return _State(t, z, h)


def _solve(f, lo: float, hi: float) -> float:
    """brentq with a bracket check that says what went wrong."""
    flo, fhi = f(lo), f(hi)
    if flo * fhi > 0:
        return hi if abs(fhi) < abs(flo) else lo
    return float(brentq(f, lo, hi, xtol=1e-10, rtol=1e-12))


def _efficacy(t: np.ndarray, increments: np.ndarray, sided: int) -> list[float]:
    """Efficacy bounds under H0 spending ``increments``; symmetric lower bounds if two-sided."""
    bounds: list[float] = []
    state: _State | None = None
    for k, tk in enumerate(t):
        target = increments[k]
        if target <= 0:
            b = math.inf
        else:

            def excess(
                b: float, tk: float = tk, target: float = target, state: _State | None = state
            ) -> float:
                p = _exit(state, tk, 0.0, b, upper=True)
                if sided == 2:
                    p += _exit(state, tk, 0.0, -b, upper=False)
                return p - target

            b = _solve(excess, 0.0 if sided == 2 else -10.0, _Z_HIGH)
        bounds.append(b)
        state = _advance(state, tk, 0.0, -b if sided == 2 else -math.inf, b)
    return bounds


def _power(
    t: np.ndarray,
    efficacy: list[float],
    drift: float,
    sided: int,
    futility: list[float] | None = None,
) -> np.ndarray:
    """Probability of crossing each efficacy bound (upper side) under ``drift``.

    With ``futility`` the trial also stops below those bounds (as gsDesign reports power).
    """
    probs = []
    state: _State | None = None
    for k, (tk, b) in enumerate(zip(t, efficacy, strict=True)):
        probs.append(_exit(state, tk, drift, b, upper=True))
        lower = -b if sided == 2 else -math.inf
        if futility is not None:
            lower = futility[k]
        state = _advance(state, tk, drift, lower, b)
    return np.array(probs)


def _futility(
    t: np.ndarray, efficacy: list[float], increments: np.ndarray, drift: float
) -> tuple[list[float], np.ndarray]:
    """Futility bounds spending beta ``increments`` under ``drift``; final bound = efficacy.

    Returns the bounds and the lower-crossing probability at each look (the last one with the
    final futility bound set equal to the efficacy bound).
    """
    bounds: list[float] = []
    lower_probs = []
    state: _State | None = None
    last = len(t) - 1
    for k, (tk, b) in enumerate(zip(t, efficacy, strict=True)):
        if k == last:
            a = b
        elif increments[k] <= 0:
            a = -math.inf
        else:

            def excess(
                a: float,
                tk: float = tk,
                target: float = increments[k],
                state: _State | None = state,
            ) -> float:
                return _exit(state, tk, drift, a, upper=False) - target

            hi = min(b, _Z_HIGH)
            a = hi if excess(hi) <= 0 else _solve(excess, -_Z_HIGH, hi)
        bounds.append(a)
        lower_probs.append(_exit(state, tk, drift, a, upper=False))
        state = _advance(state, tk, drift, a, b)
    return bounds, np.array(lower_probs)


#: classical Wang-Tsiatis shapes: name -> Delta in z_k = C t_k^(Delta - 1/2)
CLASSICAL = {"classical_obf": 0.0, "classical_pocock": 0.5}


def _classical(t: np.ndarray, delta: float, alpha: float, sided: int) -> list[float]:
    """Wang-Tsiatis bounds C t^(delta - 1/2), C solved so the total crossing is ``alpha``.

    Source: Wang & Tsiatis 1987; with t = k / K this is O'Brien & Fleming (Biometrics
    1979;35:549-556) for delta = 0 and Pocock (Biometrika 1977;64:191-199) for delta = 1/2.
    """
    shape = t ** (delta - 0.5)

    def excess(c: float) -> float:
        return sided * float(_power(t, list(c * shape), 0.0, sided).sum()) - alpha

    return [float(b) for b in _solve(excess, 0.5, 10.0) * shape]


@dataclass
class GSDesign:
    """A group-sequential design: bounds on the z scale per look (Z > 0 favours experiment)."""

    information: list[float]
    efficacy_z: list[float]
    cumulative_alpha: list[float]
    #: nominal p per look on the design's own scale: 2 (1 - Phi(z)) when ``sided=2``
    #: (gsDesign test.type = 2), 1 - Phi(z) when one-sided, like ``cumulative_alpha``
    nominal_p: list[float]
    #: 1 - Phi(z) per look whatever ``sided`` is (the one-sided nominal level)
    nominal_p_one_sided: list[float]
    alpha: float
    sided: int
    spending: str
    gamma: float
    futility_z: list[float] | None = None
    futility_spending: str | None = None
    beta: float | None = None
    drift: float | None = None
    cumulative_power: list[float] | None = None
    cumulative_beta: list[float] | None = None
    fixed_drift: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # e.g. fractions rescaled by the last look

    @property
    def inflation(self) -> float | None:
        """Maximum information relative to the fixed design with the same alpha and power."""
        if self.drift is None or self.fixed_drift is None:
            return None
        return (self.drift / self.fixed_drift) ** 2

    def _events(self, events: float | list[float]) -> np.ndarray:
        if np.ndim(events) == 0:
            return float(events) * np.asarray(self.information)
        counts = np.asarray(events, dtype=float)
        if counts.shape != (len(self.information),):
            raise InvalidInput.field(
                "events", events, f"one count per look ({len(self.information)})"
            )
        return counts

    def hr_scale(
        self,
        events: float | list[float],
        allocation: float = 0.5,
        bound: str = "efficacy",
        hazard_ratio: float | None = None,
    ) -> list[float]:
        """Hazard ratio at each bound, exp(-/+ z / sqrt(p (1 - p) d)) (Schoenfeld's variance).

        Z > 0 favours the alternative; for a design against ``hazard_ratio`` > 1 the bounds
        sit above 1, so the sign flips (default: a benefit, HR < 1).
        """
        z = np.asarray(self.efficacy_z if bound == "efficacy" else self.futility_z, dtype=float)
        d = self._events(events)
        sign = 1.0 if hazard_ratio is not None and hazard_ratio > 1 else -1.0
        return list(np.exp(sign * z / np.sqrt(allocation * (1 - allocation) * d)))

    @property
    def summary(self) -> pd.DataFrame:
        """One row per look: fraction, bounds, nominal p (both scales), cumulative alpha."""
        table = pd.DataFrame(
            {
                "look": np.arange(1, len(self.information) + 1),
                "information_fraction": self.information,
                "efficacy_z": self.efficacy_z,
                "nominal_p": self.nominal_p,
                "nominal_p_one_sided": self.nominal_p_one_sided,
                "cumulative_alpha": self.cumulative_alpha,
            }
        )
        if self.futility_z is not None:
            table["futility_z"] = self.futility_z
        if self.cumulative_power is not None:
            table["cumulative_power"] = self.cumulative_power
        return table

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (infinite bounds become None)."""

        def clean(values: list[float] | None) -> list[float | None] | None:
            if values is None:
                return None
            return [float(v) if np.isfinite(v) else None for v in values]

        return {
            "information": clean(self.information),
            "efficacy_z": clean(self.efficacy_z),
            "futility_z": clean(self.futility_z),
            "nominal_p": clean(self.nominal_p),
            "nominal_p_one_sided": clean(self.nominal_p_one_sided),
            "cumulative_alpha": clean(self.cumulative_alpha),
            "cumulative_power": clean(self.cumulative_power),
            "cumulative_beta": clean(self.cumulative_beta),
            "alpha": self.alpha,
            "sided": self.sided,
            "spending": self.spending,
            "gamma": self.gamma,
            "futility_spending": self.futility_spending,
            "beta": self.beta,
            "drift": self.drift,
            "inflation": self.inflation,
            "notes": list(self.notes),
        }


def _fractions(information: list[float]) -> tuple[np.ndarray, list[str], list[str]]:
    """Looks as fractions of the last one; (fractions, problems, notes).

    Values all in (0, 1] are information fractions; values from 1 up are event counts or
    information units ([1, 2, 3, 4]). Values below 1 together with values above 1
    (0.5, 1.2) mean an information fraction beyond 1: refused rather than rescaled
    silently (the bounds would be those of a different design). Fractions whose last value
    is below 1 are rescaled so the last look is the final analysis, and a note says so.
    """
    problems: list[str] = []
    notes: list[str] = []
    t = np.asarray(information, dtype=float)
    if t.ndim != 1 or len(t) == 0 or not np.all(np.isfinite(t)) or np.any(t <= 0):
        return t, [f"information={information!r}: expected positive fractions or event counts"], []
    if np.any(np.diff(t) <= 0):
        problems.append(f"information={information!r}: expected strictly increasing looks")
    if np.any(t < 1) and np.any(t > 1):
        beyond = [float(v) for v in t[t > 1]]
        problems.append(
            f"information={[float(v) for v in t]!r}: information fraction(s) {beyond} beyond 1; "
            "expected fractions in (0, 1] or event counts all >= 1 (for an analysis past the "
            "planned maximum, give the event counts, e.g. [observed_interim, observed_final])"
        )
    elif t[-1] < 1:
        notes.append(
            f"information fractions {[float(v) for v in t]} rescaled by the last look "
            f"({t[-1]:g}) so that it is the final analysis"
        )
    return t / t[-1], problems, notes


def gs_boundaries(
    *,
    information: list[float],
    alpha: float = 0.025,
    spending: str = "obf",
    beta: float | None = None,
    futility: str | None = None,
    gamma: float = -4.0,
    futility_gamma: float = -2.0,
    sided: int = 1,
    drift: float | None = None,
) -> GSDesign:
    """Group-sequential boundaries (Lan-DeMets spending or classical) at given fractions.

    ``spending``: "obf", "pocock", "hsd" (Lan-DeMets spending functions) or
    "classical_obf" / "classical_pocock" (Wang-Tsiatis shapes with one constant).

    ``information``: fractions (or event counts) per look, normalised by the last one, so
    ``[observed / planned, 1]`` recomputes the bounds at an actual interim. ``alpha`` is
    one-sided when ``sided=1``, the two-sided total when ``sided=2`` (symmetric bounds).
    ``nominal_p`` and ``cumulative_alpha`` are on the same scale: two-sided when ``sided=2``
    (nominal p = 2 (1 - Phi(z_k)), gsDesign test.type = 2), so an observed two-sided p is
    compared with ``nominal_p``; ``nominal_p_one_sided`` = 1 - Phi(z_k) in both cases.
    ``beta`` with ``futility`` (a spending name) adds non-binding futility bounds by beta
    spending; the drift (expected final Z under the alternative) is solved so the final
    bounds meet, unless ``drift`` is given (e.g. from the design's events and hazard ratio,
    drift = |ln HR| sqrt(p (1 - p) D)). ``gamma`` / ``futility_gamma`` parameterise "hsd".
    Source: gsDesign (Anderson), ``gsDesign(test.type = 1 / 2 / 4)``.
    """
    t, problems, notes = _fractions(information)
    if len(t) > MAX_LOOKS:
        problems.append(f"information: {len(t)} looks; expected at most {MAX_LOOKS}")
    if not MIN_ALPHA <= alpha < 0.5:
        problems.append(f"alpha={alpha!r}: expected {MIN_ALPHA:g} <= alpha < 0.5")
    if spending not in SPENDING_NAMES and spending not in CLASSICAL:
        names = ", ".join((*SPENDING_NAMES, *CLASSICAL))
        problems.append(f"spending={spending!r}: expected one of {names}")
    if sided not in (1, 2):
        problems.append(f"sided={sided!r}: expected 1 or 2")
    if futility is not None:
        if futility not in SPENDING_NAMES:
            problems.append(f"futility={futility!r}: expected one of {', '.join(SPENDING_NAMES)}")
        if beta is None:
            problems.append("beta=None: expected the type II error (e.g. 0.1) when futility is set")
        if sided == 2:
            problems.append("futility with sided=2: expected sided=1 (futility is one-sided)")
    # (1 - 0.9999 is 9.99999999999889e-05 in floating point: a relative tolerance)
    if beta is not None and not MIN_BETA * (1 - 1e-9) <= beta < 1 - alpha:
        problems.append(f"beta={beta!r}: expected {MIN_BETA:g} <= beta < 1 - alpha")
    if drift is not None and drift <= 0:
        problems.append(f"drift={drift!r}: expected a positive expected final Z")
    check_problems(problems)

    # gsDesign convention: a two-sided symmetric design spends alpha / 2 on each side, with
    # the spending function taken at the one-sided total
    if spending in CLASSICAL:
        efficacy = _classical(t, CLASSICAL[spending], alpha, sided)
    else:
        cumulative = sided * spend(spending, alpha / sided, t, gamma)
        increments = np.diff(np.concatenate([[0.0], cumulative]))
        efficacy = _efficacy(t, increments, sided)
    # re-integrate the bounds to report the alpha actually spent (checks the root finding)
    alpha_side = alpha / sided
    crossed = np.cumsum(_power(t, efficacy, 0.0, sided)) * sided
    # nominal p on the same scale as the cumulative alpha: a two-sided design compares a
    # two-sided observed p with 2 (1 - Phi(z_k)), as gsDesign reports for test.type = 2
    one_sided = [float(norm.sf(b)) for b in efficacy]
    design = GSDesign(
        information=[float(x) for x in t],
        efficacy_z=[float(b) for b in efficacy],
        cumulative_alpha=[float(x) for x in crossed],
        nominal_p=[min(1.0, sided * p) for p in one_sided],
        nominal_p_one_sided=one_sided,
        alpha=alpha,
        sided=sided,
        spending=spending,
        gamma=gamma,
        beta=beta,
        drift=drift,
        notes=notes,
    )
    if beta is not None:
        design.fixed_drift = float(norm.isf(alpha_side) + norm.isf(beta))
    if futility is not None and beta is not None:
        beta_spent = spend(futility, beta, t, futility_gamma)
        beta_inc = np.diff(np.concatenate([[0.0], beta_spent]))

        def type2_excess(theta: float) -> float:
            return float(_futility(t, efficacy, beta_inc, theta)[1].sum() - beta)

        if drift is None:
            drift = _solve(type2_excess, 1e-3, 20.0)
        lower, lower_probs = _futility(t, efficacy, beta_inc, drift)
        design.futility_z = [float(a) for a in lower]
        design.futility_spending = futility
        design.cumulative_beta = [float(x) for x in np.cumsum(lower_probs)]
    elif beta is not None and drift is None:
        drift = _solve(
            lambda theta: float(_power(t, efficacy, theta, sided).sum() - (1 - beta)), 1e-3, 20.0
        )
    design.drift = drift
    if drift is not None:
        power = _power(t, efficacy, drift, sided, design.futility_z)
        design.cumulative_power = [float(x) for x in np.cumsum(power)]
    return design
