"""One small demo run shared by the demo tests (120 screened patients, seed 11)."""

import pytest


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory):
    from talentop.demo.pipeline import run_demo

    out = tmp_path_factory.mktemp("demo") / "report"
    return run_demo(out, n_patients=120, seed=11, dynamic_reassessment=True)
