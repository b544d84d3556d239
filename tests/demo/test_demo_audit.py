"""The demo's audit logs: when ``run_demo`` returns, the final checkpoints signed while the
analysis and the report ran (``pipeline.finish_checkpoints``) cover every entry of both
databases (standard and dynamic reassessment), and verify."""

from __future__ import annotations

from pathlib import Path

from talentop.demo.pipeline import demo_keyring
from talentop.services import verify
from talentop.store import Store


def test_every_entry_is_covered_by_a_verified_checkpoint_when_the_demo_returns(small_demo):
    out = Path(small_demo.report).parent
    for url, name in (
        (small_demo.database_url, "talentop-demo"),
        (small_demo.dynamic_database_url, "talentop-demo-dynamic"),
    ):
        store = Store(url, keys=demo_keyring(out, name))
        try:
            report = verify(store)
        finally:
            store.dispose()
        assert report.ok, report
        assert report.uncovered == 0 and report.checkpoints >= 1, report
        assert report.rows > 1000  # the whole run's entries, not an empty log
