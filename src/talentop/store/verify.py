"""Verify the audit log: entries, positions, checkpoints, keys, tables (one pass each)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from talentop.errors import IntegrityError, TalentopError
from talentop.store.audit import AuditProblem, AuditReport
from talentop.store.checkpoints import CheckpointFolder, StoredCheckpoint
from talentop.store.keys import KeyRing, fingerprint_of
from talentop.store.log import CONTENT, entry_leaf_hash, sequence
from talentop.store.merkle import MerkleTree, verify_consistency
from talentop.store.models import AuditEntry, RandomisationKey


def _describe(row: Any) -> str:
    return f"{row.entity} {row.entity_id} {row.action}"


def _check_entries(session: Session, report: AuditReport, latest: dict) -> tuple[list, list]:
    """Leaf hashes recomputed from content, in log order, and the rows (for naming)."""
    from talentop.store.reconcile import LatestEntry

    leaves: list[bytes] = []
    rows: list[Any] = []
    expected = 1
    stmt = select(AuditEntry.leaf_hash, *CONTENT).order_by(
        AuditEntry.seq.is_(None), AuditEntry.seq, AuditEntry.id
    )
    for row in session.execute(stmt):
        latest[(row.entity, row.entity_id)] = LatestEntry(row.seq or 0, row.action, row.after_json)
        if row.seq is None:
            report.pending += 1
            continue
        if row.seq != expected:
            if row.seq > expected:
                missing = f"{expected}" if row.seq == expected + 1 else f"{expected}..{row.seq - 1}"
                report.problems.append(
                    AuditProblem(
                        row.seq, "gap", f"entry/entries #{missing} missing before #{row.seq}"
                    )
                )
            else:
                report.problems.append(
                    AuditProblem(row.seq, "bad_start", f"positions restart at #{row.seq}")
                )
        recomputed = entry_leaf_hash(row)
        if row.leaf_hash != recomputed.hex():
            report.problems.append(
                AuditProblem(
                    row.seq,
                    "edited",
                    f"entry #{row.seq} ({_describe(row)}) does not match its leaf hash: its "
                    "content or position was changed after it was sequenced",
                )
            )
        leaves.append(recomputed)
        rows.append(row)
        expected = row.seq + 1
        report.head_seq = row.seq
    report.rows = len(leaves)
    return leaves, rows


def _trusted_archive(archive: MerkleTree | None, size: int, root: bytes) -> list[bytes] | None:
    """The archived leaf hashes if they still hash to the checkpoint's root (else None)."""
    if archive is not None and archive.size >= size and archive.root(size) == root:
        return archive.levels[0]
    return None


def _first_difference(leaves: list[bytes], archived: list[bytes], upto: int) -> int | None:
    """The first position (0-based) below ``upto`` where the log differs from the archive."""
    for index in range(min(upto, len(leaves))):
        if leaves[index] != archived[index]:
            return index
    return None


def _check_checkpoints(
    report: AuditReport, leaves: list[bytes], rows: list[Any], keys: KeyRing
) -> None:
    """Every checkpoint: signature, order (no replay), consistency with the one before,
    and the tree of the entries against its root. Stops at the first that fails."""
    folder = CheckpointFolder(keys.checkpoint_dir)
    try:
        verifier = folder.verifier()
    except TalentopError as error:  # a damaged public key file is itself a finding
        report.problems.append(
            AuditProblem(0, "bad_checkpoint", f"{folder.public_key_path}: {error}")
        )
        return
    stored = folder.read(verifier)
    tree = MerkleTree(leaves)
    archived_leaves = folder.archived_leaves()
    archive = MerkleTree(archived_leaves) if archived_leaves else None
    previous: StoredCheckpoint | None = None
    good_size = 0
    for checkpoint in stored:
        head = checkpoint.head
        if head is None:
            report.problems.append(
                AuditProblem(
                    0,
                    "bad_checkpoint",
                    f"checkpoint {checkpoint.number} ({checkpoint.path.name}) does not verify: "
                    f"{checkpoint.problem}",
                )
            )
            continue
        report.checkpoints += 1
        when = f"{head.time:%Y-%m-%d %H:%M:%S} UTC"
        if previous is not None and previous.head is not None:
            before = previous.head
            if head.size < before.size or head.time < before.time:
                report.problems.append(
                    AuditProblem(
                        0,
                        "rollback",
                        f"checkpoint {checkpoint.number} (size {head.size}, {when}) goes back "
                        f"behind checkpoint {previous.number} (size {before.size}, "
                        f"{before.time:%Y-%m-%d %H:%M:%S} UTC): an old checkpoint was replayed",
                    )
                )
                continue
            # The proof comes from whichever copy of the leaves still matches the newer
            # head (the database's, else the archive's): it fails only if the two signed
            # heads are not one append-only log (a fork, e.g. with a stolen key).
            source = tree if tree.size >= head.size and tree.root(head.size) == head.root else None
            if source is None and _trusted_archive(archive, head.size, head.root) is not None:
                source = archive
            if source is not None and not verify_consistency(
                before.size,
                head.size,
                before.root,
                head.root,
                source.consistency_proof(before.size, head.size),
            ):
                report.problems.append(
                    AuditProblem(
                        0,
                        "inconsistent",
                        f"checkpoints {previous.number} and {checkpoint.number} are not one "
                        "append-only log: no consistency proof joins them (a fork)",
                    )
                )
        previous = checkpoint
        if tree.size >= head.size and tree.root(head.size) == head.root:
            good_size = max(good_size, head.size)
            report.latest_checkpoint = {
                "number": checkpoint.number,
                "size": head.size,
                "root_hash": head.root.hex(),
                "time": head.time.isoformat(),
            }
            continue
        later = sum(1 for c in stored if c.number > checkpoint.number)
        tail = f" ({later} later checkpoint(s) not checked)" if later else ""
        archived = _trusted_archive(archive, head.size, head.root)
        index = None if archived is None else _first_difference(leaves, archived, head.size)
        if tree.size < head.size:
            report.problems.append(
                AuditProblem(
                    tree.size + 1,
                    "truncated",
                    f"the log has {tree.size} entries but checkpoint {checkpoint.number} signed "
                    f"{head.size} at {when}: entries #{tree.size + 1}..#{head.size} were deleted "
                    f"(or the database was emptied or replaced){tail}",
                )
            )
        if index is not None:
            report.problems.append(
                AuditProblem(
                    index + 1,
                    "rewritten",
                    f"entry #{index + 1} ({_describe(rows[index])}) is not the entry checkpoint "
                    f"{checkpoint.number} ({when}) signed at that position: it was changed, "
                    f"inserted or moved{tail}",
                )
            )
        elif tree.size >= head.size:
            report.problems.append(
                AuditProblem(
                    good_size + 1,
                    "rewritten",
                    f"the log's first {head.size} entries do not match checkpoint "
                    f"{checkpoint.number} ({when}): the first difference is between entries "
                    f"#{good_size + 1} and #{head.size} (no leaf-hash archive to narrow it "
                    f"down){tail}",
                )
            )
        break
    report.covered = good_size


def _check_keys(session: Session, report: AuditReport, keys: KeyRing) -> None:
    """Each registered randomisation key that is reachable here must match its fingerprint."""
    for row in session.execute(select(RandomisationKey).order_by(RandomisationKey.id)).scalars():
        try:
            secret = keys.load_randomisation_key(row.key_id)
        except (IntegrityError, ValueError):
            continue  # unreadable here: the allocation service refuses it; not a log finding
        if secret is not None and fingerprint_of(secret) != row.fingerprint:
            report.problems.append(
                AuditProblem(
                    0,
                    "key_mismatch",
                    f"randomisation key {row.key_id}: the key file (or environment variable) "
                    "does not match the fingerprint the database holds: one of them was replaced",
                    "randomisation_keys",
                    str(row.id),
                )
            )


def verify_log(
    session: Session,
    *,
    reconcile_tables: bool = True,
    keys: KeyRing | None = None,
    sequence_first: bool = True,
) -> AuditReport:
    """See ``talentop.store.audit.verify_audit``."""
    from talentop.store.reconcile import reconcile

    if sequence_first:
        sequence(session)
    report = AuditReport()
    latest: dict = {}
    leaves, rows = _check_entries(session, report, latest)
    report.head_hash = MerkleTree(leaves).root().hex()
    if keys is not None:
        _check_checkpoints(report, leaves, rows, keys)
        _check_keys(session, report, keys)
    if reconcile_tables:
        session.expunge_all()
        report.table_rows, found = reconcile(session, latest)
        report.problems.extend(found)
    return report


__all__ = ["verify_log"]
