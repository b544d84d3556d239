"""Signed tree heads as text: the C2SP ``signed-note`` and ``tlog-checkpoint`` formats that
Go's checksum database, Trillian and Sigstore use, with Ed25519 from ``cryptography``.

A checkpoint is printable (e-mail it, paste it in the monitoring report)::

    talentop.audit/3f9a1c2e0b7d4a65      <- origin: the log's name
    1234                                 <- tree size
    kYsl0P6XzV7...=                      <- root hash, base64
    time 2026-11-27T16:16:00.123456Z     <- extension line: when it was signed

    — talentop.audit/3f9a1c2e0b7d4a65 x08go/ZJk...=

The signature line carries a 4-byte key hash and the Ed25519 signature over the text above
the blank line. Keys are written as the Go ``note`` package writes them
(``PRIVATE+KEY+name+hash+base64`` and ``name+hash+base64``), so its tools can check ours.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from talentop.errors import IntegrityError, InvalidInput

#: Algorithm byte of Ed25519 in the signed-note key encoding.
ALG_ED25519 = b"\x01"
EM_DASH = "\u2014"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise InvalidInput.field(what, text[:20], "base64") from None


def key_hash(name: str, public_key: bytes) -> bytes:
    """The 4-byte key hash of signed-note: SHA-256(name || "\\n" || 0x01 || public key)."""
    return hashlib.sha256(name.encode() + b"\n" + ALG_ED25519 + public_key).digest()[:4]


def _check_name(name: str) -> str:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise InvalidInput.field("key name", name, "a non-empty name without spaces or '+'")
    return name


@dataclass(frozen=True)
class NoteVerifier:
    """A public key with its name: checks signature lines made by that name."""

    name: str
    public_key: bytes

    @property
    def key_hash(self) -> bytes:
        return key_hash(self.name, self.public_key)

    @property
    def key_id(self) -> str:
        """The key hash in hex, as the key strings show it."""
        return self.key_hash.hex()

    def encode(self) -> str:
        """``name+hash+base64(0x01 || key)``: the verifier key string."""
        return f"{self.name}+{self.key_id}+{_b64(ALG_ED25519 + self.public_key)}"

    @classmethod
    def parse(cls, text: str) -> NoteVerifier:
        parts = text.strip().split("+", 2)
        if len(parts) != 3:
            raise InvalidInput.field("verifier key", text.strip()[:40], "name+hash+base64")
        name, hex_hash, encoded = parts
        raw = _unb64(encoded, "verifier key")
        if len(raw) != 33 or raw[:1] != ALG_ED25519:
            raise InvalidInput.field("verifier key", text.strip()[:40], "an Ed25519 key")
        verifier = cls(_check_name(name), raw[1:])
        if verifier.key_id != hex_hash.lower():
            raise InvalidInput.field("verifier key", text.strip()[:40], "a matching key hash")
        return verifier

    def verify(self, text: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, text)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class NoteSigner:
    """A named Ed25519 private key (32-byte seed)."""

    name: str
    seed: bytes

    @property
    def verifier(self) -> NoteVerifier:
        public = (
            Ed25519PrivateKey.from_private_bytes(self.seed)
            .public_key()
            .public_bytes(Encoding.Raw, PublicFormat.Raw)
        )
        return NoteVerifier(self.name, public)

    def encode(self) -> str:
        """``PRIVATE+KEY+name+hash+base64(0x01 || seed)``: never printed, only stored 0600."""
        return f"PRIVATE+KEY+{self.name}+{self.verifier.key_id}+{_b64(ALG_ED25519 + self.seed)}"

    @classmethod
    def parse(cls, text: str) -> NoteSigner:
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise InvalidInput("signing key file: expected PRIVATE+KEY+name+hash+base64")
        raw = _unb64(parts[4], "signing key")
        if len(raw) != 33 or raw[:1] != ALG_ED25519:
            raise InvalidInput("signing key file: expected an Ed25519 key")
        signer = cls(_check_name(parts[2]), raw[1:])
        if signer.verifier.key_id != parts[3].lower():
            raise InvalidInput("signing key file: the key hash does not match the key")
        return signer

    def sign(self, text: str) -> str:
        """The signed note: ``text`` (ending in a newline), a blank line, one signature line."""
        if not text.endswith("\n"):
            raise InvalidInput.field("note text", text[-20:], "text ending with a newline")
        signature = Ed25519PrivateKey.from_private_bytes(self.seed).sign(text.encode())
        line = f"{EM_DASH} {self.name} {_b64(self.verifier.key_hash + signature)}\n"
        return f"{text}\n{line}"


def open_note(note: str, verifier: NoteVerifier) -> str:
    """The text of ``note`` if ``verifier`` signed it; ``IntegrityError`` otherwise."""
    text, sep, signatures = note.rpartition("\n\n")
    if not sep:
        raise IntegrityError("malformed signed note: no blank line before the signatures")
    text += "\n"
    for line in signatures.splitlines():
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != EM_DASH or parts[1] != verifier.name:
            continue
        try:
            raw = base64.b64decode(parts[2], validate=True)
        except ValueError:
            continue
        if raw[:4] == verifier.key_hash and verifier.verify(text.encode(), raw[4:]):
            return text
    raise IntegrityError(f"signed note: no valid signature by {verifier.name} ({verifier.key_id})")


@dataclass(frozen=True)
class Checkpoint:
    """A signed tree head: the log ``origin``, ``size`` leaves, ``root`` hash, ``time``."""

    origin: str
    size: int
    root: bytes
    time: dt.datetime

    def body(self) -> str:
        stamp = self.time.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return f"{self.origin}\n{self.size}\n{_b64(self.root)}\ntime {stamp}\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        try:
            origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2], validate=True)
            stamps = [line[5:] for line in lines[3:] if line.startswith("time ")]
            time = dt.datetime.strptime(stamps[0], "%Y-%m-%dT%H:%M:%S.%fZ")
        except (IndexError, ValueError):
            raise IntegrityError(
                "malformed checkpoint: expected origin, size, root, time"
            ) from None
        if size < 0 or len(root) != 32 or not origin:
            raise IntegrityError("malformed checkpoint: bad size or root hash")
        return cls(origin, size, root, time)


__all__ = ["Checkpoint", "NoteSigner", "NoteVerifier", "key_hash", "open_note"]
