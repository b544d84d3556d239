"""Cox proportional hazards regression: Newton-Raphson with step halving, Efron/Breslow ties.

Sources: Cox (JRSS-B 1972); Efron (JASA 1977); Lin & Wei (JASA 1989) for the robust
sandwich variance; R `survival::coxph` (Therneau) for the defaults reproduced here
(Efron ties, likelihood-ratio / Wald / score tests, rows with missing values dropped).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg

from talentop.errors import ConvergenceError, InvalidInput
from talentop.stats import _categorical, _cox_math, _validate
from talentop.stats import distributions as dist
from talentop.stats.results import Result

TIES = ("efron", "breslow")


@dataclass(frozen=True, eq=False)
class CoxFit(Result):
    """A fitted Cox model. Series are indexed by covariate; `tests` has LR, Wald, score."""

    coef: pd.Series
    se: pd.Series
    hr: pd.Series
    ci_lower: pd.Series  # of the hazard ratio
    ci_upper: pd.Series
    z: pd.Series
    p: pd.Series
    loglik: float
    loglik_null: float
    tests: pd.DataFrame
    variance: pd.DataFrame
    n: int
    n_events: int
    n_missing: int
    ties: str
    robust: bool
    iterations: int
    conf_level: float
    _design: Any = field(default=None, repr=False)
    weights: str | None = None  # the case-weight column, if any
    references: dict[str, Any] = field(default_factory=dict)  # text covariate -> reference
    title: str = "Cox proportional hazards model"

    @property
    def summary(self) -> pd.DataFrame:
        """R `summary(coxph)`-like: coef, HR, se, z, p, CI of the HR."""
        return pd.DataFrame(
            {
                "coef": self.coef,
                "hr": self.hr,
                "se": self.se,
                "z": self.z,
                "p": self.p,
                "ci_lower": self.ci_lower,
                "ci_upper": self.ci_upper,
            }
        )

    def _footer(self) -> list[str]:
        lines = [
            f"n={self.n}, events={self.n_events}"
            + (f" ({self.n_missing} dropped for missing values)" if self.n_missing else "")
            + f"; ties={self.ties}"
            + ("; robust SE" if self.robust else "")
            + (f"; case weights {self.weights!r}" if self.weights else "")
        ]
        for column, level in self.references.items():
            lines.append(f"{column}: reference level {level!r} (HRs of the other levels vs it)")
        for name, row in self.tests.iterrows():
            lines.append(
                f"{name}: {row['statistic']:.4g} on {int(row['df'])} df, p={row['p_value']:.4g}"
            )
        return lines

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out.pop("variance", None)
        out["tests"] = {
            str(k): {"statistic": v["statistic"], "df": int(v["df"]), "p_value": v["p_value"]}
            for k, v in self.tests.iterrows()
        }
        from talentop.stats.results import json_safe

        return json_safe(out)

    def baseline_hazard(self, *, method: str = "breslow", centered: bool = True) -> pd.DataFrame:
        """Baseline hazard per stratum and time: n_risk, n_event, hazard, cumulative_hazard,
        survival (Breslow, or Efron as R ``survfit.coxph``); see cox_baseline.py."""
        from talentop.stats.cox_baseline import baseline_hazard

        return baseline_hazard(self, method=method, centered=centered)

    def baseline_survival(self, *, method: str = "breslow", centered: bool = True) -> pd.DataFrame:
        """Baseline survival exp(-H0(t)) per stratum and time (columns of `baseline_hazard`)."""
        table = self.baseline_hazard(method=method, centered=centered)
        return table.drop(columns=["hazard", "cumulative_hazard"])

    def predict_survival(self, X: pd.DataFrame, times: Any = None) -> pd.DataFrame:
        """Survival curves S(t | x), one column per row of ``X`` (covariates, and strata
        columns for a stratified fit), indexed by time; NaN beyond the stratum's follow-up."""
        from talentop.stats.cox_baseline import predict_survival

        return predict_survival(self, X, times)

    def predict_cumulative_hazard(self, X: pd.DataFrame, times: Any = None) -> pd.DataFrame:
        """Cumulative hazard H(t | x), shaped as `predict_survival`."""
        from talentop.stats.cox_baseline import predict_cumulative_hazard

        return predict_cumulative_hazard(self, X, times)

    def ph_test(self, transform: str = "km", *, method: str = "score") -> Any:
        """Test proportional hazards from Schoenfeld residuals (R `cox.zph`); see zph.py."""
        from talentop.stats.zph import ph_test

        return ph_test(self, transform=transform, method=method)


@dataclass
class _Design:
    """What ph_test and residuals need after the fit (sorted data, beta, variance)."""

    data: _cox_math.CoxData
    beta: np.ndarray  # on the centred scale (same as the reported coefficients)
    variance: np.ndarray  # model-based (inverse information)
    names: list[str]
    weighted: bool = False  # case weights other than 1
    strata_columns: list[str] = field(default_factory=list)
    strata_codes: np.ndarray | None = None  # (n,) code of each fitted row (frame order)
    strata_keys: list[str] = field(default_factory=lambda: [""])  # joined values per code
    strata_names: list[Any] = field(default_factory=lambda: ["all"])  # display label per code
    codings: dict[str, Any] = field(default_factory=dict)  # text column -> _categorical.Coding
    inputs: list[str] = field(default_factory=list)  # covariate columns as given (before coding)


def _columns(data: Any, names: list[str], role: str) -> list[str]:
    if not isinstance(data, pd.DataFrame):
        raise InvalidInput.field("data", type(data).__name__, "a pandas DataFrame")
    missing = [name for name in names if name not in data.columns]
    if missing:
        raise InvalidInput(
            [
                f"{role}={name!r}: no such column; columns are {list(data.columns)}"
                for name in missing
            ]
        )
    return names


def _complete_rows(data: pd.DataFrame, used: list[str]) -> np.ndarray:
    """Rows with no missing value in the used columns (R's na.omit).

    Column by column (data[used] would copy them all); a float column whose sum is
    finite has no NaN, so the common complete case allocates no mask per column.
    """
    complete = np.ones(len(data), bool)
    for name in used:
        column = data[name]
        kind = column.dtype.kind if isinstance(column.dtype, np.dtype) else None
        if kind in ("i", "u", "b"):  # numpy integers and booleans cannot be missing
            continue
        if kind == "f" and np.isfinite(np.add.reduce(column.to_numpy())):
            continue
        complete &= column.notna().to_numpy()
    return complete


def _rows(labels: np.ndarray, values: np.ndarray, bad: np.ndarray) -> str:
    """'row 3=inf, row 7=-inf (+2 more)': rows named by the frame's index labels."""
    shown = ", ".join(
        f"row {_validate._plain(labels[i])!r}={_validate._plain(values[i])!r}" for i in bad[:5]
    )
    return shown + (f" (+{bad.size - 5} more)" if bad.size > 5 else "")


def _infinite(data: pd.DataFrame, names: list[str]) -> list[str]:
    """One problem per numeric column holding +-inf. Missing values (NaN) are dropped as R's
    na.omit does; an infinite value is not missing but a broken number, so it is named."""
    problems = []
    for name in names:
        column = data[name]
        if not pd.api.types.is_float_dtype(column):
            continue
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = np.flatnonzero(np.isinf(values))
        if bad.size:
            problems.append(
                f"{name}: {bad.size} infinite value(s) at {_rows(data.index.to_numpy(), values, bad)}"
                "; expected finite numbers (rows with a missing value are dropped, an infinite "
                "one is not missing: correct or remove it)"
            )
    return problems


def _case_weights(data: pd.DataFrame, name: str) -> np.ndarray:
    """The weight column as float64: finite and >= 0, else InvalidInput naming the rows."""
    column = data[name]
    if not (pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)):
        raise InvalidInput.field("weights", f"column {name!r} of dtype {column.dtype}", "numbers")
    values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    labels = data.index.to_numpy()
    problems = []
    for mask, what in (
        (~np.isfinite(values), "missing or infinite"),
        (np.isfinite(values) & (values < 0), "negative"),
    ):
        bad = np.flatnonzero(mask)
        if bad.size:
            problems.append(
                f"weights={name!r}: {bad.size} {what} value(s) at {_rows(labels, values, bad)}; "
                "expected finite case weights >= 0"
            )
    _validate.check(problems)
    return values


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _check_collinear(centred: np.ndarray, means: np.ndarray, names: list[str]) -> np.ndarray:
    """Name a covariate that is constant or a linear combination of earlier ones.

    `centred` is the (p, n) centred design (rows = covariates). Returns the standard
    deviation of each covariate. A column is constant when all its values are equal (so
    its centred values are too, whatever the mean: 1e12 + N(0, 1) is not constant).
    """
    n = centred.shape[1]
    for j, name in enumerate(names):
        row = centred[j]
        if row.max() == row.min():
            raise ConvergenceError(
                f"covariate {name!r} is constant ({means[j]:.6g} for every row): it has no "
                "effect to estimate; remove it"
            )
    gram = centred @ centred.T
    scale = np.sqrt(np.maximum(np.diag(gram), 0.0))
    corr = gram / np.outer(scale, scale)
    for j in range(1, len(names)):
        # residual variance of column j given the earlier ones (a Cholesky pivot)
        earlier = corr[:j, :j]
        coupling = corr[:j, j]
        residual = 1 - coupling @ np.linalg.lstsq(earlier, coupling, rcond=None)[0]
        if residual < 1e-10:
            raise ConvergenceError(
                f"covariate {names[j]!r} is collinear with {names[:j]} (a linear combination "
                "of them): its coefficient is not identifiable; remove it or combine covariates"
            )
    return scale / np.sqrt(n)


#: Convergence: the Newton step, in standard deviations of each covariate (so in units of
#: the linear predictor), below this relative to max(1, |beta_j sd_j|); or the log partial
#: likelihood changing by less than LOGLIK_TOLERANCE relative. Both are free of the
#: covariates' units: a count per litre (about 1e9) converges as the same count per
#: nanolitre does (R coxph: relative change of the log-likelihood, eps = 1e-9).
STEP_TOLERANCE = 1e-9
LOGLIK_TOLERANCE = 1e-12


def _solve(matrix: np.ndarray, vector: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """matrix^-1 vector for a positive definite matrix whose (j, k) entry scales like
    scale_j scale_k: solved as D^-1 (D^-1 M D^-1)^-1 D^-1 v, so covariates in units a
    billion times apart do not make the system ill-conditioned."""
    scaled = matrix / np.outer(scale, scale)
    return linalg.solve(scaled, vector / scale, assume_a="pos") / scale


def _inverse(matrix: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """matrix^-1, computed on the scaled matrix as `_solve` does."""
    outer = np.outer(scale, scale)
    return linalg.inv(matrix / outer) / outer


def _newton_step(ev: _cox_math.Evaluation, x_scale: np.ndarray) -> np.ndarray | None:
    """The Newton step I^-1 U, or None when the information cannot be solved (non-finite
    after an overflow, or numerically singular and the least-squares fallback fails)."""
    if not (np.all(np.isfinite(ev.information)) and np.all(np.isfinite(ev.score))):
        return None
    try:
        step = _solve(ev.information, ev.score, x_scale)
    except (linalg.LinAlgError, ValueError):
        outer = np.outer(x_scale, x_scale)
        try:
            step = np.linalg.lstsq(ev.information / outer, ev.score / x_scale, rcond=None)[0]
        except np.linalg.LinAlgError:
            return None
        step = step / x_scale
    return step if np.all(np.isfinite(step)) else None


def _newton(data: _cox_math.CoxData, p: int, x_scale: np.ndarray, *, max_iter: int = 50):
    """Newton-Raphson from beta = 0 with step halving when the log-likelihood drops.

    Stops when the next Newton step, scaled by each covariate's SD, is below
    STEP_TOLERANCE (relative to |beta_j sd_j|): the current evaluation is then already the
    one at the solution, which saves one pass. Stops too when the log-likelihood no longer
    moves (monotone likelihood; the caller then checks for diverging coefficients), and
    when the information can no longer be solved (returned as not converged).
    """
    beta = np.zeros(p)
    current = _cox_math.evaluate(data, beta)
    null = current
    for iteration in range(1, max_iter + 1):
        step = _newton_step(current, x_scale)
        if step is None:
            return beta, current, null, iteration, False
        scaled = np.abs(step) * x_scale
        if np.all(scaled <= STEP_TOLERANCE * np.maximum(1.0, np.abs(beta) * x_scale)):
            return beta, current, null, iteration, True
        trial = _cox_math.evaluate(data, beta + step)
        halvings = 0
        while not trial.loglik >= current.loglik - 1e-12 * abs(current.loglik) and halvings < 30:
            step = step / 2
            trial = _cox_math.evaluate(data, beta + step)
            halvings += 1
        if not np.isfinite(trial.loglik):
            return beta, current, null, iteration, False
        beta = beta + step
        change = abs(trial.loglik - current.loglik)
        current = trial
        if change <= LOGLIK_TOLERANCE * max(1.0, abs(current.loglik)):
            return beta, current, null, iteration, True
    return beta, current, null, max_iter, False


def _diverging(beta: np.ndarray, ev: _cox_math.Evaluation, x_scale: np.ndarray) -> np.ndarray:
    """Covariates whose coefficient runs to infinity (monotone likelihood).

    R coxph's check: the next Newton step is still large relative to the coefficient
    after the log-likelihood has converged; plus an implausible hazard ratio per SD.
    Steps are measured in SDs of the covariate, so the check does not depend on units.
    """
    step = _newton_step(ev, x_scale)
    if step is None:
        return _involved(ev, x_scale)
    next_step = np.abs(step)
    eps = 1e-9
    r_rule = (next_step * x_scale > eps) & (next_step > np.sqrt(eps) * np.abs(beta))
    return r_rule | (np.abs(beta) * x_scale > 15)


def _involved(ev: _cox_math.Evaluation, x_scale: np.ndarray) -> np.ndarray:
    """The covariates of the least-informed direction: where the information matrix (in SD
    units) is singular, which combination of covariates separates the events."""
    info = ev.information * np.outer(x_scale, x_scale)
    if not np.all(np.isfinite(info)):
        return np.ones(len(x_scale), bool)
    _, vectors = np.linalg.eigh((info + info.T) / 2)
    weakest = np.abs(vectors[:, 0])
    return weakest >= 0.2 * weakest.max()


def _check_identifiable(information: np.ndarray, x_scale: np.ndarray, covariates: list[str]):
    """Raise when the information matrix is singular (R coxph: "X matrix deemed to be
    singular", the coefficient NA): e.g. a covariate that has one value within the risk set
    of every event, so the partial likelihood does not depend on its coefficient."""
    singular = _cox_math.singular_pivots(information / np.outer(x_scale, x_scale))
    if not singular.any():
        return
    found = [repr(covariates[j]) for j in np.flatnonzero(singular)]
    one = len(found) == 1
    raise ConvergenceError(
        f"covariate{'' if one else 's'} {', '.join(found)} carr{'ies' if one else 'y'} no "
        "information at the event times (singular information matrix: no variation within "
        "the risk sets of the events, or only as a combination of the other covariates): "
        f"{'its coefficient is' if one else 'their coefficients are'} not identifiable (R "
        f"coxph reports NA); remove {'it' if one else 'them'} or wait for events in each group"
    )


def _not_fitted(
    covariates: list[str], diverging: np.ndarray, iterations: int, converged: bool
) -> ConvergenceError:
    """The ConvergenceError of a fit that failed, naming the covariates involved."""
    names = [covariates[j] for j in np.flatnonzero(diverging)] or covariates
    joined = ", ".join(repr(name) for name in names)
    if len(names) > 1 and diverging.any():
        return ConvergenceError(
            f"covariates {joined} together separate the events (monotone likelihood, or a "
            "singular information matrix): their coefficients diverge or are not "
            "identifiable; remove one, merge sparse categories or use a penalised (Firth) fit"
        )
    if diverging.any():
        return ConvergenceError(
            f"covariate {joined} perfectly separates events (monotone likelihood): its "
            "coefficient diverges towards infinity; remove it, merge sparse categories or "
            "use a penalised (Firth) fit"
        )
    return ConvergenceError(
        f"Newton-Raphson did not converge in {iterations} iterations"
        + ("" if converged else " (the information matrix could not be solved)")
        + f"; check {joined} for extreme values or rescale them"
    )


def cox(
    data: Any,
    *,
    duration: str,
    event: str,
    covariates: list[str],
    strata: str | list[str] | None = None,
    ties: str = "efron",
    robust: bool | None = None,
    cluster: str | None = None,
    conf_level: float = 0.95,
    weights: str | None = None,
    reference: dict[str, Any] | None = None,
) -> CoxFit:
    """Fit a Cox PH model like R `coxph(Surv(duration, event) ~ covariates + strata(s))`.

    Rows with a missing value in any used column are dropped (R's na.omit) and counted in
    `n_missing`; an infinite value is InvalidInput naming its rows. A text covariate is
    expanded into 0/1 dummies named ``column=level`` against a reference level (R's
    treatment contrasts: levels sorted, the first the reference unless `reference` maps
    the column to another level); `references` on the fit says which.
    `robust=True` (or a `cluster` column) gives the Lin-Wei sandwich variance, used for
    `se`, `p`, the CI and the Wald test, as R does.

    `weights` names a column of case weights (finite, >= 0), as R `coxph(weights=)`:
    weight w_i multiplies subject i's terms in the partial likelihood; Efron's tied deaths
    share their mean weight (R's coxfit6.c), so integer weights equal replicating rows
    exactly for Breslow, and for Efron only when every event row has weight 1 (replicated
    deaths become ties; R's documentation calls the weighted fit the correct one). Rows of
    weight 0 are dropped before the fit (a row of weight 0 is a row not in the data) and
    are not counted in `n`. `robust=None` (default) follows R (survival 3.x): robust when
    there is a cluster or a weight that is not a whole number; the robust variance sums
    the weighted dfbetas, (w_i U_i V)' (w_i U_i V). `ph_test()` refuses weighted fits.
    """
    if ties not in TIES:
        raise InvalidInput.field("ties", ties, f"one of {', '.join(TIES)}")
    level = _validate.conf_level(conf_level)
    covariates = _as_list(covariates)
    if not covariates:
        raise InvalidInput.field("covariates", covariates, "at least one covariate column")
    strata_cols = _as_list(strata)
    cluster_cols = _as_list(cluster)
    weight_cols = _as_list(weights)
    used = _columns(
        data, [duration, event, *covariates, *strata_cols, *cluster_cols, *weight_cols], "column"
    )
    problems = []
    for name in covariates:
        column = data[name]
        if pd.api.types.is_datetime64_any_dtype(column) or pd.api.types.is_timedelta64_dtype(
            column
        ):
            problems.append(
                f"covariates: column {name!r} has dtype {column.dtype}; expected numbers or "
                "text levels (convert dates to a duration first)"
            )
    problems += _infinite(data, list(dict.fromkeys([duration, *covariates])))
    _validate.check(problems)
    complete = _complete_rows(data, list(dict.fromkeys(used[: len(used) - len(weight_cols)])))
    n_missing = int((~complete).sum())
    w = None
    if weights is not None:
        w = _case_weights(data, weights)
        complete &= w > 0  # weight 0: not in the data (not counted as missing)
        w = w[complete]
    frame = data if complete.all() else data.loc[complete]
    inputs = covariates
    frame, covariates, codings = _categorical.code(frame, covariates, reference)
    if robust is None:  # R survival 3.x: robust when a case weight is not a whole number
        robust = w is not None and bool(np.any(w != np.floor(w)))
    time, status, _ = _validate.survival_data(frame[duration].to_numpy(), frame[event].to_numpy())
    if not status.any():
        raise _validate.NoEvents(
            f"event={event!r}: no events among {len(frame)} complete rows; a Cox model needs "
            "at least one event"
        )
    columns = [frame[c].to_numpy(dtype=np.float64) for c in covariates]
    strata_keys, strata_names = [""], ["all"]
    if strata_cols:
        joined = frame[strata_cols].astype(str).agg("\x1f".join, axis=1)
        strata_codes, uniques = pd.factorize(joined)
        strata_keys = [str(key) for key in uniques]
        first = [int(np.argmax(strata_codes == code)) for code in range(len(uniques))]
        values = frame[strata_cols].to_numpy()
        strata_names = [
            _validate._plain(values[i, 0]) if len(strata_cols) == 1
            else tuple(_validate._plain(v) for v in values[i])
            for i in first
        ]  # fmt: skip
    else:
        strata_codes = np.zeros(len(frame), np.int64)
    weighted = w is not None and bool(np.any(w != 1.0))
    design = _cox_math.prepare(
        columns, time, status, strata_codes, ties, weights=w if weighted else None
    )
    x_scale = _check_collinear(design.z[1:], design.means, covariates)
    p = len(covariates)
    with warnings.catch_warnings(), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        # near-singular information is what a diverging fit looks like; reported below
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        beta, final, null, iterations, converged = _newton(design, p, x_scale)
        # At beta = 0 first: a covariate constant within every event's risk set has no
        # information at any beta, whereas separated events (diverging below) have some
        # at 0. At the solution after that: no NaN standard error from a singular matrix.
        _check_identifiable(null.information, x_scale, covariates)
        diverging = _diverging(beta, final, x_scale)
        if diverging.any() or not converged or not np.all(np.isfinite(beta)):
            raise _not_fitted(covariates, diverging, iterations, converged)
        _check_identifiable(final.information, x_scale, covariates)
        try:
            variance = _inverse(final.information, x_scale)
        except (linalg.LinAlgError, ValueError):
            raise _not_fitted(covariates, _involved(final, x_scale), iterations, True) from None
    variance = (variance + variance.T) / 2
    model_variance = variance
    if robust or cluster_cols:
        resid = _cox_math.score_residuals(design, final)
        if cluster_cols:
            labels = frame[cluster_cols].astype(str).agg("\x1f".join, axis=1).to_numpy()
            codes = pd.factorize(labels[design.order])[0]
            summed = np.zeros((codes.max() + 1, p))
            np.add.at(summed, codes, resid if not weighted else resid * design.weights[:, None])
            resid = summed
        elif weighted:
            resid = resid * design.weights[:, None]
        dfbeta = resid @ variance
        variance = dfbeta.T @ dfbeta
    se = np.sqrt(np.diag(variance))
    z_crit = dist.norm.ppf(0.5 + level / 2)
    index = pd.Index(covariates, name="covariate")
    z = beta / se
    lr = 2 * (final.loglik - null.loglik)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)  # reported through the SEs
        wald = float(beta @ _solve(variance, beta, 1 / x_scale))
        score = float(null.score @ _solve(null.information, null.score, x_scale))
    tests = pd.DataFrame(
        {
            "statistic": [lr, wald, score],
            "df": [p, p, p],
            "p_value": [float(dist.chi2.sf(v, p)) for v in (lr, wald, score)],
        },
        index=pd.Index(["likelihood_ratio", "wald", "score"], name="test"),
    )
    with np.errstate(over="ignore"):  # a coefficient per nano-unit: HR per unit is inf
        hr, lower, upper = np.exp(beta), np.exp(beta - z_crit * se), np.exp(beta + z_crit * se)
    return CoxFit(
        coef=pd.Series(beta, index=index, name="coef"),
        se=pd.Series(se, index=index, name="se"),
        hr=pd.Series(hr, index=index, name="hr"),
        ci_lower=pd.Series(lower, index=index, name="ci_lower"),
        ci_upper=pd.Series(upper, index=index, name="ci_upper"),
        z=pd.Series(z, index=index, name="z"),
        p=pd.Series(2 * dist.norm.sf(np.abs(z)), index=index, name="p"),
        loglik=float(final.loglik),
        loglik_null=float(null.loglik),
        tests=tests,
        variance=pd.DataFrame(variance, index=index, columns=index),
        n=len(frame),
        n_events=int(status.sum()),
        n_missing=n_missing,
        ties=ties,
        robust=bool(robust or cluster_cols),
        iterations=iterations,
        conf_level=level,
        _design=_Design(
            design,
            beta,
            model_variance,
            covariates,
            weighted,
            strata_cols,
            np.asarray(strata_codes),
            strata_keys,
            strata_names,
            codings,
            inputs,
        ),
        references={c: coding.reference for c, coding in codings.items()},
        weights=weights,
    )
