"""Operating characteristics of a simulated design: power, stopping, events, HR bias.

Monte-Carlo standard errors are binomial sqrt(p (1 - p) / R) for rates and SD / sqrt(R)
for means (Morris, White & Crowther, Stat Med 2019;38:2074-2102, table 6).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from talentop.errors import InvalidInput


@dataclass(frozen=True)
class OperatingCharacteristics:
    """Summary of ``simulate_trials`` output."""

    replicates: int
    rejection_rate: float  # power under an alternative, type I error under HR = 1
    rejection_se: float
    expected_events: float
    expected_duration_months: float
    stop_efficacy: list[float]  # probability of stopping for efficacy at each look
    stop_futility: list[float]
    mean_hr: float  # geometric mean of the HR at the stopping look
    log_hr_bias: float | None  # mean log HR at stop - log(true HR), if the truth is given
    log_hr_bias_se: float
    hr_estimable: int  # trials whose HR could be estimated: the two figures above are over them

    @property
    def power(self) -> float:
        """Alias of the rejection rate (read as type I error when the true HR is 1)."""
        return self.rejection_rate

    @property
    def summary(self) -> pd.DataFrame:
        """One row per look: stopping probabilities."""
        return pd.DataFrame(
            {
                "look": np.arange(1, len(self.stop_efficacy) + 1),
                "stop_efficacy": self.stop_efficacy,
                "stop_futility": self.stop_futility,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary."""
        return {
            k: (None if isinstance(v, float) and math.isnan(v) else v)
            for k, v in self.__dict__.items()
        }


def operating_characteristics(
    df: pd.DataFrame, *, true_hr: float | None = None
) -> OperatingCharacteristics:
    """Power / type I error, expected events and duration, stopping per look, HR bias."""
    needed = {"rejected", "stop_look", "decision", "events", "duration", "hr"}
    missing = sorted(needed - set(df.columns))
    if missing or len(df) == 0:
        raise InvalidInput.field(
            "df", f"columns missing {missing}" if missing else "empty", "simulate_trials output"
        )
    r = len(df)
    rate = float(df["rejected"].mean())
    looks = int(df["stop_look"].max())
    stop_eff = [
        float(((df["stop_look"] == k) & (df["decision"] == "efficacy")).mean())
        for k in range(1, looks + 1)
    ]
    stop_fut = [
        float(((df["stop_look"] == k) & (df["decision"] == "futility")).mean())
        for k in range(1, looks + 1)
    ]
    log_hr = np.log(df["hr"].dropna())
    bias = float(log_hr.mean() - math.log(true_hr)) if true_hr is not None else None
    return OperatingCharacteristics(
        replicates=r,
        rejection_rate=rate,
        rejection_se=math.sqrt(rate * (1 - rate) / r),
        expected_events=float(df["events"].mean()),
        expected_duration_months=float(df["duration"].mean()),
        stop_efficacy=stop_eff,
        stop_futility=stop_fut,
        mean_hr=float(math.exp(log_hr.mean())),
        log_hr_bias=bias,
        # fewer than 2 estimable HRs (every trial degenerate): no spread to report
        log_hr_bias_se=float(log_hr.std(ddof=1) / math.sqrt(len(log_hr)))
        if len(log_hr) > 1
        else float("nan"),
        hr_estimable=len(log_hr),
    )
