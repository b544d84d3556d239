"""The server key: encrypts TOTP seeds so the database holds no usable secret.

Kept outside the database: the environment variable ``TALENTOP_SERVER_KEY`` (a Fernet key,
urlsafe base64 of 32 bytes) or the key file named by ``TALENTOP_SERVER_KEY_FILE``, else the
file ``<database file>.server-key`` beside a SQLite database (``talentop-server.key`` in the
working folder for PostgreSQL). The file is created on first need, readable by its owner
only (mode 0600). Losing it makes the TOTP seeds unreadable: users then set TOTP up again.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from talentop.errors import IntegrityError
from talentop.store import Store

ENV_KEY = "TALENTOP_SERVER_KEY"
ENV_KEY_FILE = "TALENTOP_SERVER_KEY_FILE"


def key_path(store: Store) -> Path:
    """Where the server key file is (see the module docstring)."""
    named = os.environ.get(ENV_KEY_FILE)
    if named:
        return Path(named)
    if store.sqlite_file is not None:
        return store.sqlite_file.with_name(store.sqlite_file.name + ".server-key")
    return Path("talentop-server.key")


def _load(store: Store) -> bytes:
    if os.environ.get(ENV_KEY):
        return os.environ[ENV_KEY].encode()
    path = key_path(store)
    if not path.exists():
        key = Fernet.generate_key()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
        return key
    return path.read_bytes().strip()


def encrypt(store: Store, plaintext: str) -> str:
    """``plaintext`` encrypted and authenticated with the server key."""
    return Fernet(_load(store)).encrypt(plaintext.encode()).decode()


def decrypt(store: Store, token: str) -> str:
    """The plaintext, or ``IntegrityError`` if the key is not the one that encrypted it."""
    try:
        return Fernet(_load(store)).decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        raise IntegrityError(
            "a TOTP seed cannot be decrypted with the server key: the key file was replaced "
            "or lost; reset the user's TOTP (talentop user totp-reset)"
        ) from None
