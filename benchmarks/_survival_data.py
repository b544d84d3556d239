"""Synthetic survival data shared by the survival benchmarks (seeded, heavy ties)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def heavy_ties(rows: int, covariates: int = 5, seed: int = 20251127) -> pd.DataFrame:
    """Exponential times in months rounded up to a quarter-month grid; ~30% censored."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, covariates))
    x[:, 0] = rng.integers(0, 2, rows)  # a treatment arm
    beta = np.linspace(-0.5, 0.4, covariates)
    months = rng.exponential(12.0 * np.exp(-x @ beta))
    censor = rng.uniform(0, 48, rows)
    frame = pd.DataFrame(x, columns=[f"x{j}" for j in range(covariates)])
    frame["time"] = np.ceil(np.minimum(months, censor) * 4) / 4
    frame["event"] = (months <= censor).astype(int)
    frame["arm"] = x[:, 0].astype(int)
    return frame
