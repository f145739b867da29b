"""Audit's one table: the chain. Timestamps and payload are stored as the exact text that was hashed."""

from __future__ import annotations

from sqlalchemy import Index
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel


class AuditBase(SQLModel, registry=registry()):
    """Base of audit's tables."""


class AuditRow(AuditBase, table=True):
    __tablename__ = "audit_log"
    # A unit's timeline pages in (occurred_at, seq) order (greenfab.paging): the index serves it in order.
    __table_args__ = (Index("ix_audit_log_unit_timeline", "uscc", "occurred_at", "seq"),)

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    source_id: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=40)
    occurred_at: str = Field(max_length=40)
    recorded_at: str = Field(max_length=40)
    uscc: str = Field(max_length=32, index=True)
    district: str = Field(max_length=32)
    workflow_id: str = Field(max_length=120, index=True)
    actor_role: str = Field(max_length=20)
    actor_subject: str = Field(max_length=128)
    actor_scope: str = Field(max_length=64)
    summary_zh: str
    reason: str
    clause: str
    rulebook_version: str = Field(max_length=80)
    input_hash: str = Field(max_length=64)
    payload: str
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
