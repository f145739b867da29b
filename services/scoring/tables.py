"""Scoring's tables: one stored result per declaration, so a redelivery republishes, not re-scores."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from contracts.envelope import utcnow


class ScoringBase(SQLModel, registry=registry()):
    """Base of scoring's tables."""


class StoredEvaluation(ScoringBase, table=True):
    __tablename__ = "evaluations"

    submission_id: str = Field(primary_key=True, max_length=64)
    scheme: str = Field(max_length=32)
    uscc: str = Field(index=True, max_length=18)
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    error: str | None = None
    rulebook_version: str | None = Field(default=None, max_length=64)
    # The declaration as scored, so the workflow can ask for a rescore with experts' points.
    declared_on: date | None = None
    data: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(default_factory=utcnow)
