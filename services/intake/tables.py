"""Intake's tables: declarations and the transactional outbox."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from contracts.envelope import utcnow


class IntakeBase(SQLModel, registry=registry()):
    """Base of intake's tables; its metadata holds only them."""


class Declaration(IntakeBase, table=True):
    """A declaration as stored, and its evaluation once scoring answers."""

    __tablename__ = "declarations"
    # A client's own id (declaration_id) and its Idempotency-Key are each unique within its enterprise only:
    # one enterprise's choice never blocks, or reveals, another's.
    __table_args__ = (
        UniqueConstraint("uscc", "idempotency_key", name="uq_declaration_idempotency"),
        UniqueConstraint("uscc", "client_id", name="uq_declaration_client_id"),
        # Lists page newest first by (received_at, id) (greenfab.paging).
        Index("ix_declarations_received", "received_at", "id"),
    )

    id: str = Field(primary_key=True, max_length=64)
    client_id: str | None = Field(default=None, max_length=64)
    scheme: str = Field(index=True, max_length=32)
    uscc: str = Field(index=True, max_length=18)
    enterprise_name: str = Field(max_length=200)
    district: str = Field(index=True, max_length=20)
    declared_on: date
    received_at: datetime = Field(default_factory=utcnow)
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    raw: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    fingerprint: str = Field(max_length=64)
    idempotency_key: str | None = Field(default=None, max_length=128)
    correlation_id: str = Field(max_length=64)
    evaluation: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    error: str | None = Field(default=None)
    evaluated_at: datetime | None = None


class EvidenceFile(IntakeBase, table=True):
    """A file linked to one indicator of a declaration; the bytes live once, under their sha256."""

    __tablename__ = "evidence"
    __table_args__ = (UniqueConstraint("declaration_id", "item", "sha256", name="uq_evidence_item_file"),)

    id: int | None = Field(default=None, primary_key=True)
    declaration_id: str = Field(index=True, max_length=64)
    item: str = Field(max_length=32)
    sha256: str = Field(index=True, max_length=64)
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=120)
    size: int
    uploaded_at: datetime = Field(default_factory=utcnow)


class NoticeRecord(IntakeBase, table=True):
    """A notice (rename, major adjustment, objection, district report) as received."""

    __tablename__ = "notices"

    id: str = Field(primary_key=True, max_length=64)
    kind: str = Field(index=True, max_length=32)
    uscc: str = Field(index=True, max_length=18)
    district: str | None = Field(default=None, max_length=20)
    actor: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    fingerprint: str = Field(max_length=64)
    received_at: datetime = Field(default_factory=utcnow)


class OutboxMessage(IntakeBase, table=True):
    """An event committed with its declaration, published to JetStream by the relay."""

    __tablename__ = "outbox"

    seq: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(unique=True, max_length=64)
    subject: str = Field(max_length=128)
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    # Always null now: a row is deleted when JetStream acks it (services/intake/outbox.py). Kept, not dropped,
    # so that no migration is needed and an older relay still runs against the same table.
    published_at: datetime | None = Field(default=None, index=True)
    attempts: int = 0
    last_error: str | None = None
