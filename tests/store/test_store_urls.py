"""Database URLs: checked before connecting, password masked, connect errors translated
into ``DatabaseUnavailable`` at the store (not only at the CLI)."""

from __future__ import annotations

import pytest

from talentop.errors import DatabaseUnavailable
from talentop.store import Store, current_revision, require_schema
from talentop.store.urls import mask_url


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql+psycopg://x:y@127.0.0.1:1/z", "postgresql+psycopg://x:***@127.0.0.1:1/z"),
        ("postgresql+psycopg://x@h/z", "postgresql+psycopg://x@h/z"),
        ("not a url://u:secret@host", "not a url://u:***@host"),
        ("sqlite:///talentop.db", "sqlite:///talentop.db"),
    ],
)
def test_mask_url(url, masked):
    assert mask_url(url) == masked


def test_refused_connection_is_database_unavailable_at_the_store():
    store = Store("postgresql+psycopg://x:y@127.0.0.1:1/z")
    with pytest.raises(
        DatabaseUnavailable,
        match=r"^cannot use database postgresql\+psycopg://x:\*\*\*@127\.0\.0\.1:1/z: "
        r"connection refused \(is the server running",
    ):
        current_revision(store)


def test_unparseable_url_fails_before_connecting():
    with pytest.raises(DatabaseUnavailable, match="garbage: not a database URL") as caught:
        Store("garbage")
    assert caught.value.url == "garbage" and caught.value.cause == "not a database URL"


def test_require_schema_creates_no_sqlite_file(tmp_path):
    path = tmp_path / "talentop.db"
    store = Store(f"sqlite:///{path}")
    assert current_revision(store) is None
    with pytest.raises(DatabaseUnavailable, match=r"schema not initialised\): run talentop db"):
        require_schema(store)
    assert not path.exists()


@pytest.mark.db
def test_require_schema_names_a_database_behind_head(tmp_path):
    from talentop.store import upgrade

    store = Store(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(store, "0001")
    with pytest.raises(DatabaseUnavailable, match=r"revision 0001, .*run talentop db upgrade"):
        require_schema(store)
    store.dispose()
