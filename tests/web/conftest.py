"""Fixtures of the page tests: a trial with one login per role (``web_helpers``)."""

from __future__ import annotations

import pytest
from browser_helpers import chromium  # noqa: F401 - the Chromium fixture of the browser tests
from web_helpers import Browser

from trial_builder import ApiTrial, trial_on


@pytest.fixture
def web_trial(trial_store) -> ApiTrial:
    return trial_on(trial_store)


@pytest.fixture
def browser(web_trial):
    def make(role_or_user: str) -> Browser:
        b = Browser(web_trial)
        name = web_trial.users.get(role_or_user, role_or_user)
        response = b.login(name)
        assert response.status_code == 303, response.text
        return b

    return make
