"""Declarative base with a naming convention, so constraint names agree in every database."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from sqlalchemy import MetaData, inspect
from sqlalchemy.orm import DeclarativeBase

# Alembic compares constraint names; a fixed convention keeps SQLite and PostgreSQL equal.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every talentop table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)

    def __init__(self, **kwargs: Any) -> None:
        """A new row from its column values by keyword, as SQLAlchemy's default constructor.

        Written here because the demo's profile said so (docs/benchmarks.md, "Write path,
        round 6"): the default constructor sets every keyword through the attribute's
        events, recording change history that a new row never uses (``writes`` inserts it
        from its ``__dict__``; the ORM's flush inserts a pending row from its
        ``__dict__`` too), about a third of the demo's ORM time. Columns go straight into
        the instance's dict (SQLAlchemy keeps the row's state there); any other keyword
        goes through ``setattr`` as before, and an unknown one is a ``TypeError``. The
        models have no relationships, validators or attribute events that a column set
        would have to trigger."""
        cls = type(self)
        columns = _column_keys(cls)
        values = self.__dict__
        for key, value in kwargs.items():
            if key in columns:
                values[key] = value
            elif hasattr(cls, key):
                setattr(self, key, value)
            else:
                raise TypeError(f"{key!r} is an invalid keyword argument for {cls.__name__}")


@functools.cache
def _column_keys(cls: type) -> frozenset[str]:
    return frozenset(prop.key for prop in inspect(cls).column_attrs)


def utcnow() -> dt.datetime:
    """Naive UTC now, microsecond precision (identical round trip on SQLite and PostgreSQL)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
