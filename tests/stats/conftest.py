"""Shared fixtures for the survival statistics tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="session")
def lung() -> pd.DataFrame:
    """NCCTG lung data, status already 0/1 (see tests/data/lung.md)."""
    return pd.read_csv(DATA / "lung.csv")


def simulated(n: int, seed: int, *, grid: float | None = None, p: int = 2) -> pd.DataFrame:
    """Exponential survival with covariates and uniform censoring; `grid` rounds times up."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p))
    beta = np.linspace(0.5, -0.3, p)
    t = rng.exponential(np.exp(-x @ beta))
    c = rng.uniform(0, 2.5, n)
    time = np.minimum(t, c)
    if grid is not None:
        time = np.ceil(time / grid) * grid
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(p)])
    frame["time"] = time
    frame["event"] = (t <= c).astype(int)
    frame["arm"] = rng.integers(0, 2, n)
    frame["site"] = rng.integers(0, 3, n)
    return frame
