"""Key files (``talentop.store.keys.read_private``): refused when others can read them,
and read again whenever they change even though their text is kept between reads."""

from __future__ import annotations

import os
import time

import pytest

from talentop.errors import IntegrityError
from talentop.store import keys


def _age(path, seconds: float) -> None:
    """Set the file's modification time ``seconds`` back (its change time stays now)."""
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_a_key_file_readable_by_others_is_refused(tmp_path):
    path = tmp_path / "secret"
    path.write_text("a" * 64)
    path.chmod(0o644)
    with pytest.raises(IntegrityError, match="readable by others"):
        keys.read_private(path)
    path.chmod(0o600)
    assert keys.read_private(path) == "a" * 64
    path.chmod(0o640)  # tightened, then loosened again: refused again, cached or not
    with pytest.raises(IntegrityError, match="readable by others"):
        keys.read_private(path)


def test_a_settled_file_is_served_from_memory_until_it_changes(tmp_path, monkeypatch):
    """A file whose times are over 2 s old is kept after one read; any rewrite (same size,
    same inode) changes its change time, so it is read again; a file changed within the
    last 2 s is never kept (two writes in one clock tick can leave the same times)."""
    path = tmp_path / "secret"
    path.write_text("a" * 64)
    path.chmod(0o600)
    monkeypatch.setattr(keys, "_SETTLED_NS", -1)  # as if every file were old enough
    assert keys.read_private(path) == "a" * 64
    reads = []
    original = type(path).read_text
    monkeypatch.setattr(
        type(path), "read_text", lambda p, *a, **k: reads.append(p) or original(p, *a, **k)
    )
    assert keys.read_private(path) == "a" * 64
    assert reads == []  # served from memory
    time.sleep(0.01)
    with open(path, "r+") as handle:  # rewritten in place: same inode and size
        handle.write("b" * 64)
    _age(path, 60)  # the modification time set back: the change time still moved
    assert keys.read_private(path) == "b" * 64
    assert reads == [path]


def test_a_recently_changed_file_is_read_every_time(tmp_path, monkeypatch):
    path = tmp_path / "secret"
    path.write_text("a" * 64)
    path.chmod(0o600)
    reads = []
    original = type(path).read_text
    monkeypatch.setattr(
        type(path), "read_text", lambda p, *a, **k: reads.append(p) or original(p, *a, **k)
    )
    for _ in range(3):
        assert keys.read_private(path) == "a" * 64
    assert len(reads) == 3
