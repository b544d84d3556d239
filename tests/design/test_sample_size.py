"""Required events: clinical-rules.md 8.2 (Schoenfeld) and Freedman's formula by hand."""

import math

import pytest
from scipy.stats import norm

from talentop.design import freedman_events, schoenfeld_events
from talentop.design.sample_size import schoenfeld_events_exact, schoenfeld_power
from talentop.errors import InvalidInput


@pytest.mark.parametrize(
    ("hr", "power", "ratio", "exact", "events"),
    [
        (0.70, 0.80, 1, 246.79, 247),
        (0.70, 0.90, 1, 330.38, 331),
        (0.70, 0.80, 2, 277.64, 278),
        (0.70, 0.90, 2, 371.68, 372),
        (0.75, 0.90, 1, 507.84, 508),
        (0.60, 0.90, 1, 161.07, 162),
    ],
)
def test_schoenfeld_table_8_2(hr, power, ratio, exact, events):
    """clinical-rules.md 8.2 (gsDesign SurvivalOverview vignette formula), one-sided 0.025;
    r:1 randomisation is allocation r / (1 + r)."""
    allocation = ratio / (1 + ratio)
    kwargs = dict(hazard_ratio=hr, alpha=0.025, power=power, allocation=allocation, sided=1)
    assert schoenfeld_events_exact(**kwargs) == pytest.approx(exact, abs=0.006)
    assert schoenfeld_events(**kwargs) == events


def test_schoenfeld_defaults_are_two_sided_005():
    """alpha=0.05 two-sided (the signature's default) is one-sided 0.025: HR 0.7, 80 % -> 247."""
    assert schoenfeld_events(hazard_ratio=0.7) == 247
    assert schoenfeld_events(hazard_ratio=1 / 0.7) == 247  # symmetric in ln HR


def test_schoenfeld_matches_published_nevents_call():
    """A public R session (gsDesign): ``nEvents(hr=.5, beta=.2, tbl = TRUE, alpha = .05,
    sided = 2)`` next to its hand check ``(qnorm(.975) + qnorm(.80))^2 / (.5 * .5 * log(.5)^2)
    # 66`` (65.3 rounded up)."""
    assert schoenfeld_events_exact(hazard_ratio=0.5, alpha=0.05, power=0.8) == pytest.approx(
        65.34, abs=0.01
    )
    assert schoenfeld_events(hazard_ratio=0.5, alpha=0.05, power=0.8, sided=2) == 66


def test_freedman_by_hand():
    """Freedman (1982), 1:1: d = (z_.975 + z_.90)^2 (1 + 0.7)^2 / (1 - 0.7)^2
    = 10.507424 x 2.89 / 0.09 = 337.41 -> 338 (hand computation, z values from
    clinical-rules.md 8.2)."""
    assert 10.507424 * 2.89 / 0.09 == pytest.approx(337.405, abs=0.01)
    assert freedman_events(hazard_ratio=0.7, alpha=0.025, power=0.9, sided=1) == 338
    # 2:1 experimental:control, phi = 2: (1 + 2 x 0.7)^2 / (2 x 0.09) = 32.0 -> 10.507424 x 32
    expected = math.ceil(10.507424 * 5.76 / 0.18)
    assert (
        freedman_events(hazard_ratio=0.7, alpha=0.025, power=0.9, allocation=2 / 3, sided=1)
        == expected
    )


def test_schoenfeld_power_inverts_events():
    events = schoenfeld_events_exact(hazard_ratio=0.6, alpha=0.025, power=0.85, sided=1)
    assert schoenfeld_power(hazard_ratio=0.6, events=events) == pytest.approx(0.85, abs=1e-12)
    assert norm.cdf(0) == 0.5


def test_invalid_inputs_name_field_value_and_expectation():
    with pytest.raises(
        InvalidInput, match=r"hazard_ratio=1: expected a finite positive ratio other than 1"
    ):
        schoenfeld_events(hazard_ratio=1)
    with pytest.raises(InvalidInput, match="2 problems") as info:
        freedman_events(hazard_ratio=0.7, power=1.2, sided=3)
    assert any("sided=3" in p for p in info.value.problems)
