"""The checkpoint folder: signed tree heads and leaf hashes, written outside the database.

Layout (every file is only ever created or appended to, never rewritten)::

    log.pub                      the log's verifier key (name+hash+base64), written once
    000001.checkpoint ...        one signed checkpoint per file, numbered in order
    leaf-hashes.bin              32 bytes per log entry, in log order, up to the newest
                                 checkpoint (lets ``verify`` name the first entry that
                                 differs, not just the first checkpoint that fails)

A lock file serialises checkpointers of several processes. Put the folder where the
database's administrators cannot write (another host, a WORM bucket, a mail archive): the
guarantees of ``docs/security.md`` hold against whoever cannot change it.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from talentop.errors import IntegrityError
from talentop.store.note import Checkpoint, NoteSigner, NoteVerifier, open_note

PUBLIC_KEY_FILE = "log.pub"
LEAF_FILE = "leaf-hashes.bin"
SUFFIX = ".checkpoint"
HASH_BYTES = 32


@dataclass(frozen=True)
class StoredCheckpoint:
    """One checkpoint file: its number, the note as written and what it says (``head`` is
    None when the note does not verify: ``problem`` says why)."""

    number: int
    path: Path
    note: str
    head: Checkpoint | None
    problem: str | None = None


class CheckpointFolder:
    """Read and append checkpoints in one folder."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @property
    def public_key_path(self) -> Path:
        return self.path / PUBLIC_KEY_FILE

    def verifier(self) -> NoteVerifier | None:
        """The log's public key as pinned in this folder (None before the first)."""
        if not self.public_key_path.exists():
            return None
        return NoteVerifier.parse(self.public_key_path.read_text())

    def pin(self, verifier: NoteVerifier) -> None:
        """Write the public key once; a different key later is refused."""
        pinned = self.verifier()
        if pinned is None:
            self.path.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.public_key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            with os.fdopen(fd, "w") as handle:
                handle.write(verifier.encode() + "\n")
        elif pinned != verifier:
            raise IntegrityError(
                f"the signing key {verifier.name} ({verifier.key_id}) is not the log's key "
                f"pinned in {self.public_key_path} ({pinned.name}, {pinned.key_id}): the key "
                "file was replaced, or this folder belongs to another database"
            )

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the folder's lock (one checkpointer at a time, across processes)."""
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / ".lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def files(self) -> list[tuple[int, Path]]:
        if not self.path.is_dir():
            return []
        numbered = []
        for path in self.path.glob(f"*{SUFFIX}"):
            stem = path.name[: -len(SUFFIX)]
            if stem.isdigit():
                numbered.append((int(stem), path))
        return sorted(numbered)

    def read(self, verifier: NoteVerifier | None = None) -> list[StoredCheckpoint]:
        """Every checkpoint in number order, each opened with ``verifier`` (default: the
        pinned key)."""
        verifier = verifier or self.verifier()
        out = []
        for number, path in self.files():
            note = path.read_text()
            if verifier is None:
                out.append(StoredCheckpoint(number, path, note, None, "no public key to check it"))
                continue
            try:
                head = Checkpoint.parse(open_note(note, verifier))
            except IntegrityError as error:
                out.append(StoredCheckpoint(number, path, note, None, str(error)))
                continue
            if head.origin != verifier.name:
                out.append(
                    StoredCheckpoint(
                        number, path, note, None, f"origin {head.origin!r} is another log's"
                    )
                )
                continue
            out.append(StoredCheckpoint(number, path, note, head))
        return out

    def append(self, signer: NoteSigner, head: Checkpoint, new_leaves: list[bytes]) -> Path:
        """Append the leaf hashes beyond the archive's end, then write the signed note as
        the next numbered file. Call under ``locked()``."""
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / LEAF_FILE, "ab") as handle:
            handle.write(b"".join(new_leaves))
            handle.flush()
            os.fsync(handle.fileno())
        files = self.files()
        number = files[-1][0] + 1 if files else 1
        path = self.path / f"{number:06d}{SUFFIX}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "w") as handle:
            handle.write(signer.sign(head.body()))
            handle.flush()
            os.fsync(handle.fileno())
        return path

    def archived_count(self) -> int:
        """How many leaf hashes the archive holds (without reading it)."""
        path = self.path / LEAF_FILE
        return path.stat().st_size // HASH_BYTES if path.exists() else 0

    def archived_leaves(self) -> list[bytes]:
        """The leaf hashes recorded at checkpoint time (may be absent: then only the
        checkpoint range of a difference can be named)."""
        path = self.path / LEAF_FILE
        if not path.exists():
            return []
        data = path.read_bytes()
        usable = len(data) - len(data) % HASH_BYTES
        return [data[i : i + HASH_BYTES] for i in range(0, usable, HASH_BYTES)]


__all__ = ["CheckpointFolder", "StoredCheckpoint"]
