"""The sequencer's split and the periodic checkpointer's tree cache (``talentop.store.log``):
pending entries hashed ahead of the lock (``prepare``) are used only when nothing moved, and
a tick that extends the tree it signed last signs exactly what a full tick would, never a
rewritten history. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import talentop.store.log as log
from talentop.errors import IntegrityError
from talentop.store import models as m
from talentop.store import verify_audit, writes
from talentop.store.log import TreeCache, checkpoint, prepare, sequence, stored_leaves
from talentop.store.merkle import MerkleTree

pytestmark = pytest.mark.db


def write_sites(store, *codes: str) -> None:
    with store.unit_of_work() as session:
        for code in codes:
            writes.insert(session, "alice", m.Site(code=code, name=f"site {code}"))


def leaves_match_content(store) -> bool:
    with store.unit_of_work() as session:
        report = verify_audit(session, reconcile_tables=False, sequence_first=False)
    return report.ok and report.pending == 0


def stored_root(store) -> bytes:
    with store.read_only() as session:
        return MerkleTree(stored_leaves(session)).root()


def test_prepared_hashes_are_used_when_nothing_moved(store, monkeypatch):
    write_sites(store, "A", "B", "C")
    with store.read_only() as session:
        prepared = prepare(session)
    assert len(prepared.ids) == len(prepared.leaves) == 3

    def no_hashing(*_args):
        raise AssertionError("hashed again under the lock")

    monkeypatch.setattr(log, "entry_leaf_hash", no_hashing)
    with store.unit_of_work() as session:
        assert sequence(session, prepared) == len(prepared.ids)
    monkeypatch.undo()
    assert leaves_match_content(store)


def test_entries_written_after_prepare_are_hashed_under_the_lock(store):
    write_sites(store, "A")
    with store.read_only() as session:
        prepared = prepare(session)
    write_sites(store, "B", "C")
    with store.unit_of_work() as session:
        assert sequence(session, prepared) == len(prepared.ids) + 2
    assert leaves_match_content(store)


def test_a_prepared_batch_after_another_head_is_not_used(store):
    """Another sequencer ran between ``prepare`` and ``sequence``: the positions the batch
    was hashed at are taken, so every pending entry is hashed again at its new position."""
    write_sites(store, "A")
    with store.read_only() as session:
        stale = prepare(session)
    with store.unit_of_work() as session:
        sequence(session)
    write_sites(store, "B")
    with store.unit_of_work() as session:
        assert sequence(session, stale) == 1
    assert leaves_match_content(store)


def test_an_extending_tick_signs_the_tree_a_full_tick_signs(store):
    cache = TreeCache()
    write_sites(store, "A")
    first = checkpoint(store, cache=cache, full=True)
    write_sites(store, "B", "C")
    second = checkpoint(store, cache=cache, full=False)
    assert second.head.size > first.head.size
    assert second.head.root == stored_root(store)
    assert cache.tree is not None and cache.tree.size == second.head.size
    with store.unit_of_work() as session:
        report = verify_audit(session, keys=store.keys)
    assert report.ok and report.uncovered == 0


def test_a_rewritten_signed_leaf_is_never_signed_and_the_full_tick_refuses(store):
    """An insider rewrites a signed entry's stored leaf hash. A tick on the cache signs the
    history it signed before plus the new entries (not the rewrite: its root differs from
    the stored leaves'); the next full tick refuses, and nothing is written by it."""
    cache = TreeCache()
    write_sites(store, "A")
    checkpoint(store, cache=cache, full=True)
    with store.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE audit_trail SET leaf_hash = :h WHERE seq = 1"), {"h": "00" * 32}
        )
    write_sites(store, "B")
    extended = checkpoint(store, cache=cache, full=False)
    assert extended.head.root != stored_root(store)
    files = sorted(p.name for p in store.keys.checkpoint_dir.iterdir())
    write_sites(store, "C")
    with pytest.raises(IntegrityError, match="no longer match the checkpoint"):
        checkpoint(store, cache=cache, full=True)
    assert sorted(p.name for p in store.keys.checkpoint_dir.iterdir()) == files
    assert cache.tree is None  # dropped after a refusal: the next tick reads everything


def test_an_entry_missing_beyond_the_cached_tree_is_refused(store):
    cache = TreeCache()
    write_sites(store, "A")
    signed = checkpoint(store, cache=cache, full=True).head.size
    write_sites(store, "B", "C")
    with store.unit_of_work() as session:
        sequence(session)
    with store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_trail WHERE seq = :s"), {"s": signed + 1})
    with pytest.raises(IntegrityError, match=f"audit entry #{signed + 1} is missing"):
        checkpoint(store, cache=cache, full=False)
