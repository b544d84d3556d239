"""Text covariates as 0/1 dummy columns against a named reference level (R's treatment
contrasts: ``contr.treatment``, levels sorted, the first one the reference by default).

A column is categorical when its values are text (object, string or category dtype);
numbers and booleans stay as they are, as in R where only a factor or character column is
expanded. The dummy of level L of column C is named ``C=L``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from talentop.errors import InvalidInput


@dataclass(frozen=True)
class Coding:
    """How one text column became dummies: its levels (sorted) and the reference level."""

    column: str
    levels: tuple[Any, ...]
    reference: Any

    @property
    def names(self) -> list[str]:
        return [dummy_name(self.column, level) for level in self.levels if level != self.reference]

    def expand(self, values: pd.Series) -> pd.DataFrame:
        """The dummy columns of ``values`` (an unknown level is InvalidInput naming rows)."""
        known = set(self.levels)
        bad = [i for i, v in zip(values.index, values, strict=True) if v not in known]
        if bad:
            shown = ", ".join(f"row {i!r}={values[i]!r}" for i in bad[:5])
            raise InvalidInput(
                f"{self.column}: level(s) not seen in the fit at {shown}; expected one of "
                f"{list(self.levels)}"
            )
        return pd.DataFrame(
            {
                dummy_name(self.column, level): (values == level).astype(np.float64)
                for level in self.levels
                if level != self.reference
            },
            index=values.index,
        )


def dummy_name(column: str, level: Any) -> str:
    return f"{column}={level}"


def is_text(column: pd.Series) -> bool:
    """True for a column to expand into dummies (text), False for numbers and booleans."""
    return not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column))


def code(
    frame: pd.DataFrame, covariates: list[str], reference: Mapping[str, Any] | None
) -> tuple[pd.DataFrame, list[str], dict[str, Coding]]:
    """Replace each text covariate by its dummies; returns (frame, covariate names, codings).

    ``reference`` maps a column to its reference level (default: the first level in sorted
    order, as R). Rows with a missing value must already be dropped.
    """
    reference = dict(reference or {})
    unknown = [c for c in reference if c not in covariates]
    problems = [
        f"reference: {c!r} is not a covariate; expected one of {covariates}" for c in unknown
    ]
    names: list[str] = []
    codings: dict[str, Coding] = {}
    columns: dict[str, pd.Series] = {}
    for column in covariates:
        values = frame[column]
        if not is_text(values):
            if column in reference:
                problems.append(
                    f"reference: {column!r} holds numbers, not text levels; a reference level "
                    "applies to a text covariate only"
                )
            names.append(column)
            continue
        values = values.astype(str).str.strip()
        levels = tuple(sorted(values.unique(), key=str))
        chosen = reference.get(column, levels[0] if levels else None)
        if chosen is not None and str(chosen) not in levels:
            problems.append(
                f"reference: {column}={chosen!r} is not a level; expected one of {list(levels)}"
            )
            continue
        if len(levels) < 2:
            problems.append(
                f"covariates: {column!r} has one level ({levels[0]!r}) in the rows used; a "
                "text covariate needs at least two"
            )
            continue
        coding = Coding(column, levels, str(chosen))
        codings[column] = coding
        dummies = coding.expand(values)
        names += list(dummies.columns)
        columns.update({name: dummies[name] for name in dummies.columns})
    if problems:
        raise InvalidInput(problems)
    if not codings:
        return frame, covariates, {}
    clashes = [name for name in names if name in frame.columns and name not in covariates]
    if clashes:
        raise InvalidInput(f"covariates: dummy column(s) {clashes} clash with existing columns")
    rest = frame.drop(columns=[c for c in covariates if c in codings])
    return pd.concat([rest, pd.DataFrame(columns, index=frame.index)], axis=1), names, codings
