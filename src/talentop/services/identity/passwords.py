"""Password rules and argon2id hashing (argon2-cffi, RFC 9106 parameters of the library).

Rules: at least ``MIN_LENGTH`` characters, not the username (in any case), at most
``MAX_LENGTH`` (argon2 would hash a megabyte, but a login form has no use for it).
"""

from __future__ import annotations

import functools
import os

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from talentop.errors import InvalidInput

MIN_LENGTH = 12
MAX_LENGTH = 256

#: ``TALENTOP_PASSWORD_PROFILE=cheapest`` selects argon2-cffi's cheapest argon2id profile:
#: for test suites only (a hash in microseconds is a hash an attacker breaks quickly). Hashes
#: made with it are rehashed with the default profile at the next login of a real server.
PROFILE = os.environ.get("TALENTOP_PASSWORD_PROFILE", "rfc9106_low_memory")
_HASHER = (
    PasswordHasher.from_parameters(profiles.CHEAPEST)
    if PROFILE == "cheapest"
    else PasswordHasher()  # argon2id, the library's RFC 9106 low-memory profile
)


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so both paths cost one argon2 hash
    and the response time does not tell which usernames exist. Made at the first login,
    not at import (an argon2 hash, about 90 ms, for every process that imports the
    services: the demo, each CLI command)."""
    return _HASHER.hash("talentop-no-such-user-password")


def prepare_logins() -> None:
    """Make the unknown-user hash now (a server calls this as it starts), so that not even
    the first login for a name that does not exist costs a second hash."""
    _dummy_hash()


def check_rules(username: str, password: str) -> None:
    """``InvalidInput`` naming what a new password breaks (the password is never echoed)."""
    problems = []
    if not isinstance(password, str):
        raise InvalidInput("password: expected a text of at least 12 characters")
    if len(password) < MIN_LENGTH:
        problems.append(f"password: expected at least {MIN_LENGTH} characters, got {len(password)}")
    if len(password) > MAX_LENGTH:
        problems.append(f"password: expected at most {MAX_LENGTH} characters")
    if password.strip().lower() == username.strip().lower():
        problems.append("password: expected something other than the username")
    if problems:
        raise InvalidInput(problems)


def hash_password(password: str) -> str:
    """The argon2id hash to store (salted; the PHC string carries its parameters)."""
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash`` (None: always False, same cost)."""
    try:
        return _HASHER.verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's (rehash on login)."""
    try:
        return _HASHER.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True
