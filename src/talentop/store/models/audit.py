"""The audit log: one row per write, integrated in order into a Merkle tree (RFC 6962)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from talentop.store.models.base import Base


class AuditEntry(Base):
    """Who changed what, when, before and after.

    A writer inserts the row with ``id`` from the database's sequence and nothing else to
    compute; the sequencer (``talentop.store.log.integrate``) later gives it ``seq``, its
    1-based position in the log, and ``leaf_hash``, the RFC 6962 hash of its content.
    """

    __tablename__ = "audit_trail"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seq: Mapped[int | None] = mapped_column(Integer, unique=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    before_json: Mapped[str | None] = mapped_column(Text)
    after_json: Mapped[str | None] = mapped_column(Text)
    leaf_hash: Mapped[str | None] = mapped_column(String(64))
