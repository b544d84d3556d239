"""What every statistical result shares: a summary table, JSON, HTML and a readable print."""

from __future__ import annotations

import dataclasses
import html
import math
from typing import Any

import numpy as np
import pandas as pd


def json_safe(value: Any) -> Any:
    """Turn numpy/pandas values into plain JSON types; NaN and infinities become None."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, pd.DataFrame):
        return [json_safe(row) for row in _records(value)]
    if isinstance(value, pd.Series):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [json_safe(v) for v in value.tolist()]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        number = float(value)
        return None if not math.isfinite(number) else number
    if value is None or isinstance(value, str | int):
        return value
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts; a meaningful index (group, covariate) becomes each row's first key.

    A default 0..n-1 index carries no information and is left out; a named or labelled
    index is kept under its name ("index" if unnamed), since a script reading the rows
    must know which group or covariate each one is about.
    """
    index = frame.index
    default = isinstance(index, pd.RangeIndex) and index.name is None and index.start == 0
    if default or index.nlevels > 1:
        return frame.to_dict(orient="records")  # type: ignore[return-value]
    key = str(index.name) if index.name is not None else "index"
    rows = frame.to_dict(orient="records")
    return [{key: label, **{k: v for k, v in row.items() if k != key}}
            for label, row in zip(index, rows, strict=True)]  # fmt: skip


class Result:
    """Mixin for frozen result dataclasses: `.summary`, `.to_dict()`, HTML and text."""

    #: one line shown above the summary table
    title: str = "result"

    @property
    def summary(self) -> pd.DataFrame:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def _footer(self) -> list[str]:
        """Lines printed under the table (tests, notes); subclasses add theirs."""
        return []

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict of every field (no numpy scalars; NaN -> None)."""
        out: dict[str, Any] = {}
        for field in dataclasses.fields(self):  # type: ignore[arg-type]
            if field.name.startswith("_"):
                continue
            out[field.name] = json_safe(getattr(self, field.name))
        out["summary"] = json_safe(self.summary)
        return out

    def to_html(self) -> str:
        """An HTML fragment (title, table, footer) for reports."""
        footer = "".join(f"<p>{html.escape(line)}</p>" for line in self._footer())
        table = self.summary.to_html(float_format=lambda x: f"{x:.4g}", na_rep="NA", border=0)
        return (
            f'<div class="talentop-stats"><h4>{html.escape(self.title)}</h4>{table}{footer}</div>'
        )

    def _repr_html_(self) -> str:
        return self.to_html()

    def __str__(self) -> str:
        with pd.option_context("display.width", 120, "display.max_columns", 20):
            table = self.summary.to_string(float_format=lambda x: f"{x:.4g}", na_rep="NA")
        return "\n".join([self.title, table, *self._footer()])

    def print_summary(self) -> None:
        """Print the readable summary to stdout."""
        print(str(self))
