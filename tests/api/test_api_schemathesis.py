"""Schemathesis against the OpenAPI document: every operation, generated requests, as an
admin and as a site coordinator (API tokens, so a generated logout cannot end the run).
Checks: no 5xx, documented status codes and content types, responses that match their
schema. Runs on one SQLite trial built once for the module (the authorisation matrix
covers PostgreSQL)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from flow_helpers import PROTOCOL, to_assessed
from talentop import services as sv
from talentop.services import identity
from talentop.store import KeyRing, Store, init_database
from trial_builder import build_trial

pytestmark = [pytest.mark.slow]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def fuzz_trial(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    # Module-scoped: its own key and checkpoint folders (the per-test ones are not set yet).
    keys = KeyRing.from_environment(folder / "keys", folder / "checkpoints")
    store = Store(f"sqlite:///{folder / 'talentop.db'}", keys=keys)
    init_database(store)
    trial = build_trial(store)
    inv = sv.Context(store, PROTOCOL, "investigator_a")
    for i in range(3):
        to_assessed(inv, f"F{i:03d}")
    tokens = {}
    for role in ("admin", "coordinator"):
        ctx = sv.Context(store, PROTOCOL, trial.users[role])
        tokens[role] = identity.create_token(ctx, "schemathesis")["token"]
    trial.tokens = tokens
    yield trial
    store.dispose()


SETTINGS = settings(
    max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)


def fuzz(app, token: str) -> list[str]:
    """Run every operation's generated cases; return the failures (operation: error).

    Driven through schemathesis' Python API (its pytest plugin does not support this
    pytest's item API): one hypothesis run per operation."""
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @SETTINGS
        @given(case=operation.as_strategy())
        def run(case):
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

        try:
            run()
        except Exception as error:  # a check failed: keep going, report all
            failures.append(f"{operation.method.upper()} {operation.path}: {str(error)[:400]}")
    assert operations > 50
    return failures


def test_generated_requests_as_admin(fuzz_trial):
    failures = fuzz(fuzz_trial.app, fuzz_trial.tokens["admin"])
    assert not failures, "\n".join(failures)


def test_generated_requests_as_coordinator(fuzz_trial):
    failures = fuzz(fuzz_trial.app, fuzz_trial.tokens["coordinator"])
    assert not failures, "\n".join(failures)
