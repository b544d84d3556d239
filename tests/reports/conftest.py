"""Small synthetic survival data for the report tests (seeded, exponential times)."""

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def two_arms() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 60
    arm = np.repeat(["A", "B"], n // 2)
    rate = np.where(arm == "A", np.log(2) / 20.0, np.log(2) / 12.0)
    event_time = rng.exponential(1 / rate)
    censor_time = rng.uniform(3, 30, n)
    return pd.DataFrame(
        {
            "arm": arm,
            "time": np.minimum(event_time, censor_time),
            "event": (event_time <= censor_time).astype(int),
        }
    )
