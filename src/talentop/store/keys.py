"""Key material kept outside the database, and the files that must stay private.

``KeyRing(key_dir, checkpoint_dir)`` says where a trial's keys and checkpoints live:

- ``key_dir`` (``TALENTOP_KEY_DIR``, default ``./talentop-keys``; folder 0700, files 0600):
  ``randomisation-<key id>.key`` (the 32-byte allocation secret, hex) and
  ``log-signing.key`` (the Ed25519 key that signs checkpoints). ``TALENTOP_RANDOMISATION_KEY``
  (64 hex digits) may hold the allocation secret instead of a file.
- ``checkpoint_dir`` (``TALENTOP_CHECKPOINT_DIR``, default ``./talentop-checkpoints``): the
  signed checkpoints and the log's public key (``talentop.store.checkpoints``).

The database holds only a randomisation key's identifier and a keyed fingerprint
(HMAC-SHA256 under the key itself): enough to notice a replaced or missing key, useless for
predicting an allocation.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from talentop.errors import AllocationError, IntegrityError, InvalidInput
from talentop.store.note import NoteSigner

KEY_DIR_ENV = "TALENTOP_KEY_DIR"
CHECKPOINT_DIR_ENV = "TALENTOP_CHECKPOINT_DIR"
RANDOMISATION_KEY_ENV = "TALENTOP_RANDOMISATION_KEY"
DEFAULT_KEY_DIR = "talentop-keys"
DEFAULT_CHECKPOINT_DIR = "talentop-checkpoints"
#: Bytes of a randomisation secret.
SECRET_BYTES = 32
SIGNING_KEY_FILE = "log-signing.key"
#: Owner-only permissions for private files and folders.
PRIVATE_FILE, PRIVATE_DIR = 0o600, 0o700


def key_id_of(secret: bytes) -> str:
    """The public name of a randomisation secret (48 bits of HMAC under the secret)."""
    return "rk-" + hmac.new(secret, b"talentop-key-id/v1", hashlib.sha256).hexdigest()[:12]


def fingerprint_of(secret: bytes) -> str:
    """The keyed fingerprint stored in the database: HMAC-SHA256(secret, label), 256 bits.
    Without the secret it can be neither computed nor used to predict an arm."""
    return hmac.new(secret, b"talentop-key-fingerprint/v1", hashlib.sha256).hexdigest()


def write_private(path: Path, text: str) -> None:
    """Create ``path`` readable by its owner only (0600), never overwriting a file."""
    path.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


#: Key files read, by path: (the file's identity and change time, its text). A key is read
#: at every allocation; the file is read again only when its inode, size, modification or
#: change time differ (the change time is the kernel's: a rewrite cannot restore it).
_READ: dict[str, tuple[tuple[int, ...], str]] = {}
_SETTLED_NS = 2_000_000_000


def read_private(path: Path) -> str:
    """Read a key file, refusing one that its group or others can read (as ssh does).

    Every call checks the file (one ``stat``); its text is read again only when the file
    changed (``_READ``): the write path reads the randomisation key at every allocation,
    and opening and reading it was 4 % of one (docs/benchmarks.md, round 6)."""
    status = path.stat()
    mode = stat.S_IMODE(status.st_mode)
    if mode & 0o077:
        raise IntegrityError(
            f"key file {path} is readable by others (mode {mode:o}): run chmod 600 {path}"
        )
    version = (
        status.st_dev,
        status.st_ino,
        status.st_size,
        status.st_mtime_ns,
        status.st_ctime_ns,
    )
    found = _READ.get(str(path))
    if found is not None and found[0] == version:
        return found[1]
    text = path.read_text()
    # File times are coarse (a clock tick): two writes in one tick can leave the same
    # times, so a file changed in the last seconds is never kept (as git treats "racily
    # clean" files).
    if time.time_ns() - max(status.st_mtime_ns, status.st_ctime_ns) > _SETTLED_NS:
        _READ[str(path)] = (version, text)
    return text


def parse_secret(text: str, where: str) -> bytes:
    try:
        secret = bytes.fromhex(text.strip())
    except ValueError:
        secret = b""
    if len(secret) != SECRET_BYTES:
        raise InvalidInput.field(where, "<hidden>", f"{2 * SECRET_BYTES} hexadecimal digits")
    return secret


@dataclass(frozen=True)
class KeyRing:
    """Where a trial's keys and checkpoints live (outside the database)."""

    key_dir: Path
    checkpoint_dir: Path

    @classmethod
    def from_environment(
        cls, key_dir: str | Path | None = None, checkpoint_dir: str | Path | None = None
    ) -> KeyRing:
        """Explicit folders, else ``TALENTOP_KEY_DIR`` / ``TALENTOP_CHECKPOINT_DIR``, else
        ``./talentop-keys`` and ``./talentop-checkpoints``."""
        return cls(
            Path(key_dir or os.environ.get(KEY_DIR_ENV) or DEFAULT_KEY_DIR),
            Path(checkpoint_dir or os.environ.get(CHECKPOINT_DIR_ENV) or DEFAULT_CHECKPOINT_DIR),
        )

    # -- the randomisation secret ------------------------------------------------------

    def randomisation_key_path(self, key_id: str) -> Path:
        return self.key_dir / f"randomisation-{key_id}.key"

    def _secret_from_environment(self) -> bytes | None:
        text = os.environ.get(RANDOMISATION_KEY_ENV)
        return None if not text else parse_secret(text, RANDOMISATION_KEY_ENV)

    def load_randomisation_key(self, key_id: str) -> bytes | None:
        """The secret named ``key_id`` (environment variable first, then its file), or None.

        The caller compares its fingerprint with the database's before using it."""
        from_env = self._secret_from_environment()
        if from_env is not None and key_id_of(from_env) == key_id:
            return from_env
        path = self.randomisation_key_path(key_id)
        try:
            text = read_private(path)
        except FileNotFoundError:
            return None
        return parse_secret(text, str(path))

    def checked_randomisation_key(self, key_id: str, fingerprint: str) -> bytes:
        """The secret named ``key_id``, checked against the database's ``fingerprint``:
        ``AllocationError`` if it is missing, ``IntegrityError`` if it was replaced."""
        secret = self.load_randomisation_key(key_id)
        if secret is None:
            raise AllocationError(
                f"randomisation key {key_id} is missing (neither "
                f"{self.randomisation_key_path(key_id)} nor {RANDOMISATION_KEY_ENV} holds "
                "it): restore it from its backup; no allocation was made"
            )
        if not hmac.compare_digest(fingerprint_of(secret), fingerprint):
            raise IntegrityError(
                f"randomisation key {key_id} does not match the fingerprint the database "
                "holds: the key or the database was replaced; no allocation was made"
            )
        return secret

    def new_randomisation_key(self, secret: bytes | None = None) -> tuple[str, bytes]:
        """A new secret (``secrets.token_bytes``, or the environment variable's, or the one
        given, e.g. the demo's seed-derived key), written to its 0600 file unless it comes
        from the environment. Returns (key id, secret)."""
        from_env = self._secret_from_environment() if secret is None else None
        secret = secret or from_env or secrets.token_bytes(SECRET_BYTES)
        key_id = key_id_of(secret)
        path = self.randomisation_key_path(key_id)
        if from_env is None and not path.exists():
            write_private(path, secret.hex() + "\n")
        return key_id, secret

    # -- the checkpoint signing key ----------------------------------------------------

    @property
    def signing_key_path(self) -> Path:
        return self.key_dir / SIGNING_KEY_FILE

    def signing_key(self) -> NoteSigner | None:
        path = self.signing_key_path
        return NoteSigner.parse(read_private(path)) if path.exists() else None

    def new_signing_key(self) -> NoteSigner:
        """The log's signing key, created (name ``talentop.audit/<random>``) if missing."""
        existing = self.signing_key()
        if existing is not None:
            return existing
        signer = NoteSigner(f"talentop.audit/{secrets.token_hex(8)}", secrets.token_bytes(32))
        write_private(self.signing_key_path, signer.encode() + "\n")
        return signer


def restrict_to_owner(path: Path) -> bool:
    """Make an existing database file owner-only (0600); True if its mode was wider."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        path.chmod(mode & 0o700)
        return True
    return False


def create_private_file(path: Path) -> None:
    """Create an empty file readable by its owner only, if it does not exist yet (SQLite
    then opens it as an empty database and gives its -wal/-shm files the same mode)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    except FileExistsError:
        pass


__all__ = [
    "CHECKPOINT_DIR_ENV",
    "KEY_DIR_ENV",
    "RANDOMISATION_KEY_ENV",
    "KeyRing",
    "create_private_file",
    "fingerprint_of",
    "key_id_of",
    "read_private",
    "restrict_to_owner",
    "write_private",
]
