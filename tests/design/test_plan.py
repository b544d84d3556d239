"""The SAP's planned analysis: events from the planned HR (never the observed one) and the
interim judged against the plan.

References: Schoenfeld d = (z_{a/2} + z_b)^2 / (p (1 - p) ln(HR)^2) (clinical-rules.md 8.2);
Lan-DeMets O'Brien-Fleming-type bounds K = 2 at t = 0.5, one-sided 0.025 per side: 2.9626,
1.9686 (clinical-rules.md 8.1; gsDesign sfLDOF). Power oracle: the Z statistics of a
group-sequential trial are multivariate normal with corr(Z_j, Z_k) = sqrt(t_j / t_k) and mean
drift sqrt(t_k) |ln HR| sqrt(p (1 - p) D) (Jennison & Turnbull 2000, ch. 3).
"""

import math

import numpy as np
import pytest
from scipy.stats import multivariate_normal, norm

from talentop.design.plan import look_event_counts, plan_from_sap, planned_analysis
from talentop.protocol import load_protocol

SAP = load_protocol("talentop").sap


def test_talentop_plan_uses_the_planned_medians():
    plan = plan_from_sap(SAP)
    hr = 10.0 / 18.0
    fixed = 4 * (norm.isf(0.025) + norm.isf(0.2)) ** 2 / math.log(hr) ** 2
    assert plan.hazard_ratio == pytest.approx(hr)
    assert plan.fixed_events == pytest.approx(fixed, rel=1e-12)  # 90.87
    assert plan.efficacy_z == pytest.approx([2.9626, 1.9686], abs=1e-3)
    assert plan.look_events == [46, 92]
    # the published HR 0.60 would have planned 4 (1.96 + 0.84)^2 / ln(0.6)^2 = 120 events
    circular = planned_analysis(hazard_ratio=0.6, alpha=0.05, sided=2, power=0.8,
                                looks=[0.5, 1.0], spending="obf")  # fmt: skip
    assert circular.max_events != plan.max_events


def test_the_planned_events_deliver_the_planned_power():
    plan = plan_from_sap(SAP)
    t = np.array(plan.looks)
    drift = abs(math.log(plan.hazard_ratio)) * math.sqrt(0.25 * plan.max_events)
    cov = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
    # P(no efficacy crossing at any look) under the alternative
    miss = multivariate_normal(mean=drift * np.sqrt(t), cov=cov).cdf(np.array(plan.efficacy_z))
    assert 1 - miss == pytest.approx(0.8, abs=0.01)  # rounding up to whole events adds a little
    assert 1 - miss >= 0.8 - 1e-4


def test_interim_bound_is_recomputed_at_the_observed_fraction():
    plan = plan_from_sap(SAP)
    interim = plan.at_interim(46, 3.1)
    assert interim["information_fraction"] == pytest.approx(0.5)
    assert interim["efficacy_z"] == pytest.approx(2.9626, abs=1e-3)
    assert interim["crossed"] is True
    later = plan.at_interim(69, 2.5)  # 75% of the events: a lower bound than at 50%
    assert later["efficacy_z"] < interim["efficacy_z"]
    assert plan.at_interim(92, None)["crossed"] is None
    assert plan.at_interim(120, 2.0)["information_fraction"] == 1.0


def test_an_interim_with_no_events_spends_nothing_and_has_no_bound():
    """At information fraction 0 the Lan-DeMets O'Brien-Fleming-type spending function
    alpha(t) = 2 - 2 Phi(z_{a/2} / sqrt(t)) is 0 (its limit as t -> 0): no alpha is spent,
    so there is no bound to compare with (an early cut of a small trial)."""
    plan = plan_from_sap(SAP)
    spent = [2 - 2 * norm.cdf(norm.isf(0.025 / 2) / math.sqrt(t)) for t in (1e-2, 1e-3)]
    assert spent[0] < 1e-20 and spent[1] == 0.0  # the spending function tends to 0
    interim = plan.at_interim(0, None)
    assert interim["information_fraction"] == 0.0 and interim["observed_events"] == 0
    assert interim["cumulative_alpha"] == 0.0
    assert interim["efficacy_z"] is None and interim["nominal_p"] is None
    assert interim["crossed"] is None and "no events observed" in interim["note"]
    assert interim["planned_events"] == plan.max_events


def test_look_event_counts_round_up():
    assert look_event_counts(90.87, 1.0037, [0.5, 1.0]) == [46, 92]
    assert look_event_counts(100.0, 1.0, [1 / 3, 2 / 3, 1]) == [34, 67, 100]
