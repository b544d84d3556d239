"""Signed checkpoints: the C2SP signed-note format, checked byte for byte against the Go
reference implementation's example (golang.org/x/mod/sumdb/note, TestSign / ExampleSign:
key PeterNeumann, the "If you think cryptography..." text)."""

from __future__ import annotations

import datetime as dt

import pytest

from talentop.errors import IntegrityError
from talentop.store.note import Checkpoint, NoteSigner, NoteVerifier, open_note

SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
SIGNED = (
    TEXT + "\n\u2014 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def test_keys_and_signature_match_the_go_reference():
    signer = NoteSigner.parse(SKEY)
    assert signer.encode() == SKEY
    assert signer.verifier.encode() == VKEY and signer.verifier.key_id == "c74f20a3"
    assert NoteVerifier.parse(VKEY) == signer.verifier
    assert signer.sign(TEXT) == SIGNED  # Ed25519 is deterministic
    assert open_note(SIGNED, NoteVerifier.parse(VKEY)) == TEXT


def test_an_altered_note_or_another_key_is_refused():
    verifier = NoteVerifier.parse(VKEY)
    with pytest.raises(IntegrityError, match="no valid signature by PeterNeumann"):
        open_note(SIGNED.replace("problem,", "problem!"), verifier)
    other = NoteSigner("PeterNeumann", b"\x07" * 32)
    with pytest.raises(IntegrityError, match="no valid signature"):
        open_note(other.sign(TEXT), verifier)
    with pytest.raises(IntegrityError, match="malformed"):
        open_note(TEXT, verifier)


def test_checkpoint_body_round_trips():
    head = Checkpoint(
        "talentop.audit/abc", 42, bytes(range(32)), dt.datetime(2026, 1, 2, 3, 4, 5, 6)
    )
    assert head.body() == (
        "talentop.audit/abc\n42\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
        "time 2026-01-02T03:04:05.000006Z\n"
    )
    assert Checkpoint.parse(head.body()) == head
    with pytest.raises(IntegrityError, match="malformed checkpoint"):
        Checkpoint.parse("origin\nnot a number\n")
