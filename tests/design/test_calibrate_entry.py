"""Two-piece calibration to published medians, a later KM rate and a Cox HR (TALENTACE).

Targets: TALENTACE TACE-PFS (ESMO GI 2025 LBA2, reported by MIMS): medians 11.30 vs 7.03
months, HR 0.71, 18-month rate arm B 29.85%. Independent checks: the fitted hazards' medians
and rate by closed form (exponential pieces), the HR by ``limiting_cox``
(Struthers & Kalbfleisch 1986).
"""

import math

import pytest

from talentop.design.asymptotic import limiting_cox, true_median
from talentop.design.calibrate_entry import fit_two_piece
from talentop.errors import InvalidInput

FIT = fit_two_piece(
    control_median=7.03, experimental_median=11.30, hazard_ratio=0.71, n_patients=342,
    accrual_months=30, data_cut_months=42, change_month=12, control_rate=(18, 0.2985),
)  # fmt: skip


def test_medians_rate_and_hr_are_reproduced():
    (_, c1), (_, c2) = FIT.control
    (_, h1), _ = FIT.experimental
    assert c1 == pytest.approx(math.log(2) / 7.03)
    assert h1 == pytest.approx(math.log(2) / 11.30)  # the median falls before month 12
    assert math.exp(-12 * c1 - 6 * c2) == pytest.approx(0.2985, abs=1e-9)
    assert true_median(FIT.design, 0) == pytest.approx(11.30, abs=1e-6)
    assert true_median(FIT.design, 1) == pytest.approx(7.03, abs=1e-6)
    assert limiting_cox(FIT.design, 42).log_hr == pytest.approx(math.log(0.71), abs=1e-8)


def test_with_proportional_hazards_the_medians_would_fix_another_hr():
    """7.03 / 11.30 = 0.622: the published 0.71 needs the hazards to converge after month 12."""
    (_, h1), (_, h2) = FIT.experimental
    assert h2 / FIT.control[1][1] > h1 / FIT.control[0][1]


def test_bad_settings_are_named():
    with pytest.raises(InvalidInput) as caught:
        fit_two_piece(control_median=14, experimental_median=11.3, hazard_ratio=0.71,
                      n_patients=342, accrual_months=30, data_cut_months=20, change_month=12,
                      control_rate=(10, 0.3))  # fmt: skip
    text = " | ".join(caught.value.problems)
    assert "data_cut_months=20" in text and "control_median=14" in text and "control_rate" in text
