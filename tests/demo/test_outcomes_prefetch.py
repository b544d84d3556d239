"""``demo.outcomes.prefetch_outcome_model``: the model computed in a forked child is the
model computed in-process, and a failing child costs nothing but the time."""

from __future__ import annotations

import logging
import os

import pytest

from talentop.demo import outcomes

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


@pytest.fixture(autouse=True)
def _no_child_left():
    outcomes._RECEIVED.clear()
    yield
    outcomes._prefetched()  # reap a child a failing test may have left
    outcomes._RECEIVED.clear()


def test_the_prefetched_model_is_the_computed_one():
    outcomes.prefetch_outcome_model()
    assert len(outcomes._PREFETCHED) == 1
    outcomes.prefetch_outcome_model()  # one child at a time
    assert len(outcomes._PREFETCHED) == 1
    prefetched = outcomes.outcome_model()
    assert outcomes._PREFETCHED == []
    computed = outcomes._computed_model()  # in-process
    assert prefetched == computed
    assert prefetched.ttf_operated.rates == computed.ttf_operated.rates  # exact floats
    again = outcomes.outcome_model()  # the dynamic run's call: the child's model, a copy
    assert again == prefetched and again is not prefetched
    again.expected["ttf_hr"] = 0.0  # a caller's change does not reach the next call
    assert outcomes.outcome_model() == prefetched
    outcomes.prefetch_outcome_model()  # the model is here: no second child
    assert outcomes._PREFETCHED == []


def test_a_failing_child_falls_back_to_the_computed_model(monkeypatch, caplog):
    parent = os.getpid()
    real = outcomes._computed_model

    def fails_in_the_child():
        if os.getpid() != parent:
            raise RuntimeError("calibration failed in the child")
        return real()

    monkeypatch.setattr(outcomes, "_computed_model", fails_in_the_child)
    outcomes.prefetch_outcome_model()
    with caplog.at_level(logging.WARNING, logger="talentop.demo"):
        model = outcomes.outcome_model()
    assert model == real()
    assert "failed" in caplog.text and "computed here" in caplog.text
