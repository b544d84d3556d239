"""The server key: encrypts TOTP seeds so the database holds no usable secret.

Kept outside the database, beside the trial's other keys: the environment variable
``TALENTOP_SERVER_KEY`` (a Fernet key, urlsafe base64 of 32 bytes), else the file named by
``TALENTOP_SERVER_KEY_FILE``, else ``server.key`` in the store's key folder
(``TALENTOP_KEY_DIR``, default ``./talentop-keys``; ``talentop.store.keys``). The file is
created on first need, readable by its owner only (0600; a file others can read is refused).
Losing it makes the TOTP seeds unreadable: users then set TOTP up again.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from talentop.errors import IntegrityError
from talentop.store import Store
from talentop.store.keys import read_private, write_private

ENV_KEY = "TALENTOP_SERVER_KEY"
ENV_KEY_FILE = "TALENTOP_SERVER_KEY_FILE"
FILE_NAME = "server.key"


def key_path(store: Store) -> Path:
    """Where the server key file is (see the module docstring)."""
    named = os.environ.get(ENV_KEY_FILE)
    return Path(named) if named else store.keys.key_dir / FILE_NAME


def _load(store: Store) -> bytes:
    if os.environ.get(ENV_KEY):
        return os.environ[ENV_KEY].encode()
    path = key_path(store)
    if not path.exists():
        key = Fernet.generate_key()
        write_private(path, key.decode())
        return key
    return read_private(path).strip().encode()


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
