"""Fixtures of the API tests: the trial of ``trial_builder`` on a fresh database."""

from __future__ import annotations

import pytest

from trial_builder import ApiTrial, trial_on


@pytest.fixture
def api_trial(trial_store) -> ApiTrial:
    return trial_on(trial_store)
