"""Notify's tables: the in-app inbox, one row per (source event, recipient)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from contracts.envelope import utcnow


class NotifyBase(SQLModel, registry=registry()):
    """Base of notify's tables."""


class InboxItem(NotifyBase, table=True):
    __tablename__ = "inbox"
    __table_args__ = (UniqueConstraint("source_event", "recipient", name="uq_inbox_event_recipient"),)

    id: int | None = Field(default=None, primary_key=True)
    recipient: str = Field(index=True, max_length=64)
    recipient_role: str = Field(max_length=20)
    title: str = Field(max_length=200)
    body: str
    source_event: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow)
