"""The ``store`` fixture's copies of one initialised database (``conftest.StoreTemplates``):
each copy is a whole trial of its own, as ``init_database`` leaves it."""

from __future__ import annotations

import os

import pytest

from flow_helpers import PROTOCOL, context, to_induction
from talentop import services as sv
from talentop.store import head_revision
from talentop.store.migrate import current_revision

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TALENTOP_TEST_POSTGRES_URL") else [])


@pytest.mark.parametrize("backend", BACKENDS)
def test_copies_are_initialised_verified_and_apart(backend, store_templates, tmp_path):
    """Two copies: both at the head revision, with the randomisation key and checkpoint the
    log verifies against; patients written to one are not in the other, which still
    verifies; each copy is its own SQLite file or PostgreSQL database."""
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
    first, done_first = store_templates.store(backend, tmp_path / "one")
    try:
        second, done_second = store_templates.store(backend, tmp_path / "two")
        try:
            assert first.url != second.url
            for store in (first, second):
                assert current_revision(store) == head_revision(store)
            ctx = context(first)
            to_induction(ctx, "P001")  # registers, screens, consents, allocates a key
            assert sv.verify(first).ok
            assert [p["pseudo_id"] for p in sv.list_patients(ctx).items] == ["P001"]
            assert sv.list_patients(context(second)).total == 0
            report = sv.verify(second)
            assert report.ok, report.problems
        finally:
            done_second()
    finally:
        done_first()


def test_a_copy_gets_the_keys_in_this_test_s_own_folders(store, key_folders):
    """The template's key and checkpoint files are copied into the folders the test's
    environment names (0600 key files), so the copy's log verifies with them."""
    key_dir = key_folders / "keys"
    assert os.environ["TALENTOP_KEY_DIR"] == str(key_dir)
    files = sorted(p.name for p in key_dir.iterdir())
    assert any(name.startswith("randomisation-") for name in files), files
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in key_dir.iterdir())
    assert sv.verify(store).ok


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_seeded_template_is_copied_with_what_its_seed_wrote(backend, store_templates, tmp_path):
    """``seed``'s writes are in every copy (the accounts of ``trial_builder``), the copy's
    log verifies with the copied keys and checkpoints, and a patient written to one copy
    is not in the next."""
    from trial_builder import seed_trial, trial_on, username

    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
    first, done_first = store_templates.store(backend, tmp_path / "one", seed=seed_trial)
    try:
        trial = trial_on(first)
        assert trial.login(trial.users["admin"])  # the seeded account and its password
        to_induction(sv.Context(first, PROTOCOL, "inv1"), "S001")
        report = sv.verify(first)
        assert report.ok, report.problems
    finally:
        done_first()
    second, done_second = store_templates.store(backend, tmp_path / "two", seed=seed_trial)
    try:
        ctx = sv.Context(second, PROTOCOL, username("admin"))
        assert sv.list_patients(ctx).total == 0
        assert sv.verify(second).ok
    finally:
        done_second()
