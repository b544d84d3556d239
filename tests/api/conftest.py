"""Fixtures of the API tests: the trial of ``trial_builder`` on a fresh database."""

from __future__ import annotations

import pytest

from trial_builder import ApiTrial, build_trial


@pytest.fixture
def api_trial(store) -> ApiTrial:
    return build_trial(store)
