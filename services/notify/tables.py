"""Notify's tables: recipients' channel choices, the delivery log (one row per event, recipient and
channel) and the in-app inbox.

A recipient is a role and a name (an enterprise's USCC, a district, or a role's shared inbox):
every key holds both, so a name never opens another role's inbox.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from contracts.envelope import utcnow


class NotifyBase(SQLModel, registry=registry()):
    """Base of notify's tables."""


class InboxItem(NotifyBase, table=True):
    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("source_event", "recipient_role", "recipient", name="uq_inbox_event_recipient"),
        Index("ix_inbox_recipient", "recipient_role", "recipient", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    recipient: str = Field(max_length=64)
    recipient_role: str = Field(max_length=20)
    title: str = Field(max_length=200)
    body: str
    source_event: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow)


class RecipientRow(NotifyBase, table=True):
    """A recipient's channel choice and addresses: (enterprise, USCC), (district, 大兴区), (bureau, bureau)…"""

    __tablename__ = "recipients"

    recipient_role: str = Field(primary_key=True, max_length=20)
    recipient: str = Field(primary_key=True, max_length=64)
    channels: str = Field(default="inbox", max_length=40, description="Comma-separated: inbox,email,webhook.")
    email: str | None = Field(default=None, max_length=254)
    webhook_url: str | None = Field(default=None, max_length=2000)
    webhook_secret: str | None = Field(default=None, max_length=128)
    updated_at: datetime = Field(default_factory=utcnow)


class DeliveryRow(NotifyBase, table=True):
    """One message to one recipient over one channel: exactly one row per (event, recipient, channel)."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint(
            "source_event", "recipient_role", "recipient", "channel", name="uq_delivery_event_recipient_channel"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    source_event: str = Field(max_length=200, index=True)
    recipient: str = Field(max_length=64, index=True)
    recipient_role: str = Field(max_length=20)
    channel: str = Field(max_length=10)
    template: str = Field(max_length=40)
    title: str = Field(max_length=200)
    body: str
    payload: str = Field(description="The event as JSON (the webhook body).")
    status: str = Field(default="pending", max_length=10, index=True, description="pending | sending | sent | dead")
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    last_error: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
