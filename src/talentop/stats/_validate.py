"""Input checks shared by the survival functions: every problem named (field, index, value)."""

from __future__ import annotations

import numbers
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from talentop.errors import ConvergenceError, InvalidInput

_MAX_LISTED = 5


def _as_1d(values: Any, field: str) -> np.ndarray:
    try:
        array = np.asarray(values)
    except Exception as exc:  # pragma: no cover - numpy accepts nearly anything
        raise InvalidInput.field(field, type(values).__name__, "a 1-D array") from exc
    if array.ndim != 1:
        raise InvalidInput.field(field, f"array of shape {array.shape}", "a 1-D array")
    return array


def _plain(value: Any) -> Any:
    """numpy scalars print as np.float64(...) since numpy 2; show the plain value."""
    return value.item() if isinstance(value, np.generic) else value


def _listed(indices: np.ndarray, values: np.ndarray) -> str:
    shown = ", ".join(f"[{i}]={_plain(values[i])!r}" for i in indices[:_MAX_LISTED])
    more = f" (+{len(indices) - _MAX_LISTED} more)" if len(indices) > _MAX_LISTED else ""
    return shown + more


def _not_numeric(array: np.ndarray, field: str) -> str:
    """Name the entries that are not numbers (a text cell in a CSV column, say)."""
    parsed = pd.to_numeric(pd.Series(array, dtype=object), errors="coerce").to_numpy()
    bad = np.flatnonzero(pd.isna(parsed) & ~pd.isna(array))
    if not bad.size:  # pragma: no cover - numpy refused a column pandas could parse
        return f"{field}: expected numbers, got dtype {array.dtype}"
    return f"{field}: {bad.size} non-numeric value(s) at {_listed(bad, array)}; expected numbers"


def times(values: Any, field: str = "time") -> tuple[np.ndarray, list[str]]:
    """Follow-up times as float64; problems for non-numeric, NaN/inf or negative entries."""
    array = _as_1d(values, field)
    problems: list[str] = []
    try:
        numeric = array.astype(np.float64)
    except (TypeError, ValueError):
        return np.empty(0), [_not_numeric(array, field)]
    bad = np.flatnonzero(~np.isfinite(numeric))
    if bad.size:
        problems.append(
            f"{field}: {bad.size} missing or infinite value(s) at {_listed(bad, numeric)}; "
            "expected finite numbers (drop or impute these rows first)"
        )
    negative = np.flatnonzero(numeric < 0)
    if negative.size:
        problems.append(
            f"{field}: {negative.size} negative value(s) at {_listed(negative, numeric)}; "
            "expected times >= 0"
        )
    return numeric, problems


def events(values: Any, field: str = "event") -> tuple[np.ndarray, list[str]]:
    """Event indicators as bool; accepts bools and the numbers 0/1 only."""
    array = _as_1d(values, field)
    if array.dtype == bool:
        return array, []
    try:
        numeric = array.astype(np.float64)
    except (TypeError, ValueError):
        problem = _not_numeric(array, field).replace("expected numbers", "expected 0/1 or booleans")
        return np.zeros(len(array), bool), [problem]
    bad = np.flatnonzero(~np.isin(numeric, (0.0, 1.0)))
    if bad.size:
        return numeric == 1, [
            f"{field}: {bad.size} value(s) not 0/1 at {_listed(bad, array)}; expected 1 = event, "
            "0 = censored (R's survival::lung codes status 1/2: subtract 1)"
        ]
    return numeric == 1, []


def labels(values: Any, field: str) -> tuple[np.ndarray, list[str]]:
    """Group/stratum labels: any hashable values, no missing ones."""
    array = _as_1d(values, field)
    missing = np.flatnonzero(pd.isna(array))
    if missing.size:
        return array, [f"{field}: {missing.size} missing label(s) at {_listed(missing, array)}"]
    return array, []


def survival_data(
    time: Any, event: Any, **extra: Any
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Check time, event and label columns together; raise one InvalidInput with every problem."""
    problems: list[str] = []
    t, p = times(time)
    problems += p
    e, p = events(event)
    problems += p
    checked: dict[str, np.ndarray] = {}
    for name, values in extra.items():
        if values is None:
            continue
        array, p = labels(values, name)
        problems += p
        checked[name] = array
    lengths = {"time": len(_as_1d(time, "time")), "event": len(_as_1d(event, "event"))}
    lengths.update({k: len(v) for k, v in checked.items()})
    if len(set(lengths.values())) > 1:
        problems.append(
            "mismatched lengths: "
            + ", ".join(f"{k}={v}" for k, v in lengths.items())
            + "; expected one value per subject in every column"
        )
    if lengths["time"] == 0:
        problems.append("time: empty (0 rows); expected at least one subject")
    if problems:
        raise InvalidInput(problems)
    return t, e, checked


def codes(labels: np.ndarray) -> tuple[np.ndarray, list[Any]]:
    """Integer codes 0..k-1 for labels, levels in sorted order (by their text)."""
    raw_codes, uniques = pd.factorize(labels)
    levels = list(uniques)
    order = sorted(range(len(levels)), key=lambda i: str(levels[i]))
    remap = np.empty(len(levels), np.int64)
    remap[order] = np.arange(len(levels))
    return remap[raw_codes], [levels[i] for i in order]


def real(value: Any) -> float | None:
    """``value`` as a float if it is a real number of any type (int, float, numpy int64 or
    float32, Fraction, Decimal...), else None. Booleans are not numbers here."""
    if isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, numbers.Real | Decimal):  # Decimal is not a numbers.Real
        return float(value)
    return None


def conf_level(value: Any) -> float:
    """A confidence level strictly between 0 and 1 (any real number type)."""
    number = real(value)
    if number is None or not 0 < number < 1:
        raise InvalidInput.field("conf_level", _plain(value), "a number strictly between 0 and 1")
    return number


class NoEvents(InvalidInput, ConvergenceError):
    """No events where a model needs them: bad input, and a model that cannot be fitted."""


def check(problems: list[str]) -> None:
    """Raise one InvalidInput listing every problem, if any."""
    if problems:
        raise InvalidInput(problems)
