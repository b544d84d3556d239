"""The tamper suite: an attacker with full write access to the database (direct SQL, and
the project's own hashing functions, as an insider would) against `verify` and the signed
checkpoints kept outside the database. SQLite and PostgreSQL.

Each case states whether it must be detected (docs/security.md lists the same cases).
The trial: two randomised patients, a follow-up contact, a checkpoint, then one more
follow-up contact that no checkpoint covers yet.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from flow_helpers import VOTES_YES, context, day, mdt, to_assessed, to_randomised
from talentop import services as sv
from talentop.errors import IntegrityError
from talentop.store import models as m
from talentop.store.hashing import canonical_json
from talentop.store.keys import fingerprint_of, write_private
from talentop.store.log import entry_leaf_hash
from talentop.store.note import Checkpoint, NoteSigner

pytestmark = pytest.mark.db


@dataclass
class Trial:
    store: object
    ctx: object
    allocation: int  # position of patient 1's allocation entry
    covered: int  # entries covered by the checkpoint
    arm: str


def sql(store, statement: str, **params) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.text(statement), params)


def entry_at(store, seq: int):
    with store.engine.connect() as conn:
        return conn.execute(sa.text("SELECT * FROM audit_trail WHERE seq = :s"), {"s": seq}).one()


def rehash_everything(store) -> None:
    """What an insider does after a change: recompute every leaf hash with the project's
    own function, so every entry matches its hash again."""
    with store.engine.begin() as conn:
        rows = conn.execute(sa.select(m.AuditEntry.__table__)).all()
        for row in rows:
            conn.execute(
                sa.text("UPDATE audit_trail SET leaf_hash = :h WHERE id = :i"),
                {"h": entry_leaf_hash(row).hex(), "i": row.id},
            )


def move_entries(store, from_seq: int, shift: int) -> None:
    """Shift the positions of every entry at or after ``from_seq`` (in two steps, so the
    unique constraint on positions never trips)."""
    sql(store, "UPDATE audit_trail SET seq = seq + 1000000 WHERE seq >= :s", s=from_seq)
    sql(store, "UPDATE audit_trail SET seq = seq - 1000000 + :d WHERE seq >= 1000000", d=shift)


@pytest.fixture
def trial(store):
    ctx = context(store)
    pid, arm = to_randomised(ctx, "P001")
    to_randomised(ctx, "P002")
    sv.record_follow_up(ctx, pid, day(120), status="alive")
    sv.checkpoint(store)
    sv.record_follow_up(ctx, pid, day(150), status="alive")  # not covered yet
    report = sv.verify(store)
    assert report.ok and report.uncovered == 1, report.problems
    allocation = next(
        e["seq"] for e in sv.audit_entries(store, entity="randomisations") if e["entity_id"] == "1"
    )
    return Trial(store, ctx, allocation, report.covered, arm)


def kinds(report) -> set[str]:
    return {p.kind for p in report.problems}


def first(report, kind: str):
    return next(p for p in report.problems if p.kind == kind)


# -- must be detected, even without a checkpoint (careless edits) ----------------------


def test_edited_entry_is_detected(trial):
    sql(trial.store, "UPDATE audit_trail SET actor = 'mallory' WHERE seq = :s", s=trial.allocation)
    report = sv.verify(trial.store)
    assert first(report, "edited").seq == trial.allocation
    assert first(report, "rewritten").seq == trial.allocation


def test_edited_table_row_is_detected(trial):
    other = "B" if trial.arm == "A" else "A"
    sql(trial.store, "UPDATE randomisations SET arm = :a WHERE id = 1", a=other)
    report = sv.verify(trial.store)
    assert kinds(report) == {"row_differs"}
    assert (
        f'arm is "{other}" in the table but "{trial.arm}" in the trail' in report.problems[0].detail
    )


def test_inserted_table_row_is_detected(trial):
    sql(
        trial.store,
        "INSERT INTO follow_up_contacts (patient_id, contact_date, status) VALUES (1, :d, 'alive')",
        d=day(160),
    )
    assert kinds(sv.verify(trial.store)) == {"unaudited_row"}


def test_deleted_entry_is_detected(trial):
    sql(trial.store, "DELETE FROM audit_trail WHERE seq = :s", s=trial.allocation)
    report = sv.verify(trial.store)
    assert {"gap", "rewritten"} <= kinds(report)
    assert first(report, "rewritten").seq == trial.allocation


# -- must be detected once a checkpoint covers them (careful insiders) ----------------


def test_rewrite_in_the_middle_with_recomputed_hashes_is_detected(trial):
    """The allocation's arm flipped in the table and in its audit entry, every leaf hash
    recomputed: the database alone is consistent again, the checkpoint is not."""
    store, other = trial.store, "B" if trial.arm == "A" else "A"
    sql(store, "UPDATE randomisations SET arm = :a WHERE id = 1", a=other)
    entry = entry_at(store, trial.allocation)
    forged = entry.after_json.replace(f'"arm":"{trial.arm}"', f'"arm":"{other}"')
    assert forged != entry.after_json
    sql(
        store, "UPDATE audit_trail SET after_json = :j WHERE seq = :s", j=forged, s=trial.allocation
    )
    rehash_everything(store)
    report = sv.verify(store)
    assert kinds(report) == {"rewritten"}, report.problems
    assert first(report, "rewritten").seq == trial.allocation
    assert "randomisations 1 create" in first(report, "rewritten").detail
    with pytest.raises(IntegrityError, match="no longer match the checkpoint"):
        sv.checkpoint(store)  # a rewritten history is never signed over


def test_deletion_in_the_middle_renumbered_and_rehashed_is_detected(trial):
    store, k = trial.store, trial.allocation
    sql(store, "DELETE FROM audit_trail WHERE seq = :s", s=k)
    move_entries(store, k + 1, -1)
    rehash_everything(store)
    report = sv.verify(store)
    assert first(report, "rewritten").seq == k
    assert "gap" not in kinds(report) and "edited" not in kinds(report)


def test_insertion_in_the_middle_rehashed_is_detected(trial):
    store, k = trial.store, trial.allocation
    move_entries(store, k, +1)
    sql(
        store,
        "INSERT INTO audit_trail (seq, at, actor, entity, entity_id, action, after_json) "
        "VALUES (:s, :t, 'mallory', 'sites', '1', 'update', :j)",
        s=k,
        t=entry_at(store, k + 1).at,
        j=canonical_json({"name": "forged"}),
    )
    rehash_everything(store)
    report = sv.verify(store)
    assert first(report, "rewritten").seq == k
    assert "sites 1 update" in first(report, "rewritten").detail  # the forged entry is named


def test_reordering_rehashed_is_detected(trial):
    store, k = trial.store, trial.allocation
    sql(store, "UPDATE audit_trail SET seq = -1 WHERE seq = :s", s=k)
    sql(store, "UPDATE audit_trail SET seq = :s WHERE seq = :n", s=k, n=k + 1)
    sql(store, "UPDATE audit_trail SET seq = :n WHERE seq = -1", n=k + 1)
    rehash_everything(store)
    report = sv.verify(store)
    assert first(report, "rewritten").seq == k and "edited" not in kinds(report)


def test_truncated_tail_is_detected(trial):
    """The newest covered entries deleted with the table rows they created."""
    store, cut = trial.store, trial.covered - 1
    sql(store, "DELETE FROM follow_up_contacts")
    sql(store, "DELETE FROM audit_trail WHERE seq >= :s", s=cut)
    report = sv.verify(store)
    truncated = first(report, "truncated")
    assert (
        truncated.seq == cut
        and f"entries #{cut}..#{trial.covered} were deleted" in truncated.detail
    )


def test_emptied_database_is_detected(trial):
    store = trial.store
    with store.engine.begin() as conn:
        for table in reversed(m.Base.metadata.sorted_tables):
            conn.execute(table.delete())
    report = sv.verify(store)
    assert report.rows == 0 and kinds(report) == {"truncated"}
    assert "emptied or replaced" in report.problems[0].detail


def test_swapped_randomisation_key_is_refused_before_any_allocation(trial):
    """The key file replaced (the attacker's key would steer every later arm)."""
    store, ctx = trial.store, trial.ctx
    with store.unit_of_work() as session:
        (key,) = session.query(m.RandomisationKey).all()
    path = store.keys.randomisation_key_path(key.key_id)
    path.unlink()
    write_private(path, (b"\x42" * 32).hex() + "\n")
    pid = to_assessed(ctx, "P003")
    sv.record_mdt_review(mdt(ctx), pid, day(72), VOTES_YES)
    with pytest.raises(IntegrityError, match="does not match the fingerprint"):
        sv.randomise(ctx, pid, day(73))
    assert sv.patient_summary(ctx, pid)["arm"] is None
    assert kinds(sv.verify(store)) == {"key_mismatch"}


def test_swapped_key_with_its_fingerprint_and_rehashed_log_is_detected(trial):
    """Key file, fingerprint row and its audit entry all replaced, hashes recomputed: the
    allocation service is fooled, the checkpoint is not (the registration is entry 1)."""
    store = trial.store
    forged = b"\x42" * 32
    with store.unit_of_work() as session:
        (key,) = session.query(m.RandomisationKey).all()
    store.keys.randomisation_key_path(key.key_id).unlink()
    write_private(store.keys.randomisation_key_path(key.key_id), forged.hex() + "\n")
    sql(store, "UPDATE randomisation_keys SET fingerprint = :f", f=fingerprint_of(forged))
    entry = entry_at(store, 1)
    sql(
        store,
        "UPDATE audit_trail SET after_json = :j WHERE seq = 1",
        j=entry.after_json.replace(key.fingerprint, fingerprint_of(forged)),
    )
    rehash_everything(store)
    report = sv.verify(store)
    assert kinds(report) == {"rewritten"} and first(report, "rewritten").seq == 1


def test_swapped_signing_key_is_detected(trial):
    """The log's signing key file replaced: the next checkpoint is refused, and a
    checkpoint the attacker signs with it does not verify with the pinned public key."""
    store = trial.store
    attacker = NoteSigner(store.keys.new_signing_key().name, b"\x13" * 32)
    store.keys.signing_key_path.unlink()
    write_private(store.keys.signing_key_path, attacker.encode() + "\n")
    with pytest.raises(IntegrityError, match="not the log's key"):
        sv.checkpoint(store)
    report = sv.verify(store)
    size = report.rows
    head = Checkpoint(attacker.name, size, bytes.fromhex(report.head_hash), report_time(report))
    (store.keys.checkpoint_dir / "000099.checkpoint").write_text(attacker.sign(head.body()))
    assert kinds(sv.verify(store)) == {"bad_checkpoint"}


def report_time(report):
    import datetime as dt

    return dt.datetime.fromisoformat(report.latest_checkpoint["time"]) + dt.timedelta(seconds=1)


def test_replayed_old_checkpoint_is_detected(trial):
    """An old checkpoint presented as the newest (copied under a new number)."""
    folder = trial.store.keys.checkpoint_dir
    shutil.copy(folder / "000001.checkpoint", folder / "000009.checkpoint")
    report = sv.verify(trial.store)
    assert kinds(report) == {"rollback"}
    assert "checkpoint 9" in report.problems[0].detail


def test_forged_checkpoint_is_detected(trial):
    path = trial.store.keys.checkpoint_dir / "000002.checkpoint"
    lines = path.read_text().split("\n")
    lines[1] = str(int(lines[1]) - 1)
    path.write_text("\n".join(lines))
    assert "bad_checkpoint" in kinds(sv.verify(trial.store))


# -- not detected (stated limits, docs/security.md) ----------------------------------


def test_entry_edited_after_sequencing_is_refused_by_the_next_checkpoint(trial):
    """An entry that an earlier transaction sequenced (``verify`` did, in the fixture) and
    no checkpoint covers yet, edited without recomputing its leaf hash: the checkpointer
    recomputes it from its content and refuses to sign; nothing is written. (Entries the
    checkpoint sequences itself are hashed once, in its own transaction.)"""
    store = trial.store
    tail = trial.covered + 1
    sql(store, "UPDATE audit_trail SET actor = 'mallory' WHERE seq = :s", s=tail)
    before = sorted(p.name for p in store.keys.checkpoint_dir.iterdir())
    with pytest.raises(IntegrityError, match=f"audit entry #{tail} does not match its leaf hash"):
        sv.checkpoint(store)
    assert sorted(p.name for p in store.keys.checkpoint_dir.iterdir()) == before


def test_not_detected_rewrite_of_entries_no_checkpoint_covers(trial):
    """Entries after the newest checkpoint are only as safe as the database: a rehashed
    rewrite of them passes, and verify says how many such entries there are."""
    store = trial.store
    tail = trial.covered + 1
    entry = entry_at(store, tail)
    sql(store, "UPDATE follow_up_contacts SET status = 'lost' WHERE contact_date = :d", d=day(150))
    sql(
        store,
        "UPDATE audit_trail SET after_json = :j WHERE seq = :s",
        j=entry.after_json.replace('"status":"alive"', '"status":"lost"'),
        s=tail,
    )
    rehash_everything(store)
    report = sv.verify(store)
    assert report.ok and report.uncovered == 1 and report.covered == tail - 1


def test_not_detected_when_the_checkpoint_folder_is_rewritten_too(trial):
    """An attacker who can also delete the newest checkpoint (and cut the leaf-hash
    archive) rewrites what only that checkpoint covered, unseen by this folder: keep a
    copy of the checkpoints where the database's administrators cannot write."""
    store, other = trial.store, "B" if trial.arm == "A" else "A"
    sql(store, "UPDATE randomisations SET arm = :a WHERE id = 1", a=other)
    entry = entry_at(store, trial.allocation)
    sql(
        store,
        "UPDATE audit_trail SET after_json = :j WHERE seq = :s",
        j=entry.after_json.replace(f'"arm":"{trial.arm}"', f'"arm":"{other}"'),
        s=trial.allocation,
    )
    rehash_everything(store)
    folder = store.keys.checkpoint_dir
    (folder / "000002.checkpoint").unlink()
    archive = folder / "leaf-hashes.bin"
    archive.write_bytes(archive.read_bytes()[:32])
    report = sv.verify(store)
    assert report.ok and report.covered == 1 and report.uncovered == report.rows - 1
