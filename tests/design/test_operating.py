"""operating_characteristics on a hand-made table (every number checkable by eye)."""

import math

import pandas as pd
import pytest

from talentop.design.operating import operating_characteristics
from talentop.errors import InvalidInput


def test_rates_means_and_bias_by_hand():
    df = pd.DataFrame(
        {
            "rejected": [True, True, False, False],
            "stop_look": [1, 2, 2, 1],
            "decision": ["efficacy", "efficacy", "final", "futility"],
            "events": [50, 100, 100, 50],
            "duration": [10.0, 20.0, 22.0, 12.0],
            "hr": [0.5, 0.8, 1.0, 1.25],
        }
    )
    oc = operating_characteristics(df, true_hr=0.8)
    assert oc.power == 0.5 and oc.rejection_se == pytest.approx(math.sqrt(0.25 / 4))
    assert oc.expected_events == 75 and oc.expected_duration_months == 16
    assert oc.stop_efficacy == [0.25, 0.25] and oc.stop_futility == [0.25, 0.0]
    mean_log = (math.log(0.5) + math.log(0.8) + 0 + math.log(1.25)) / 4
    assert oc.log_hr_bias == pytest.approx(mean_log - math.log(0.8))
    assert oc.mean_hr == pytest.approx(math.exp(mean_log))
    assert oc.hr_estimable == 4
    assert list(oc.summary["look"]) == [1, 2]
    # a trial without an estimable HR (NaN) is left out of the mean and counted out
    missing = operating_characteristics(df.assign(hr=[0.5, float("nan"), 1.0, 1.25]), true_hr=0.8)
    assert missing.hr_estimable == 3
    assert missing.mean_hr == pytest.approx(math.exp((math.log(0.5) + math.log(1.25)) / 3))


def test_missing_columns_are_named():
    with pytest.raises(InvalidInput, match=r"columns missing \['duration', 'hr'"):
        operating_characteristics(
            pd.DataFrame(
                {"rejected": [True], "stop_look": [1], "decision": ["final"], "events": [3]}
            )
        )
