"""Scoring's tables: one stored result per declaration (a redelivery republishes, not re-scores), and every
rulebook version that scored one (so it can be scored again exactly, and published editions say who and why)."""

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
    # Who the declaration is about, so the advisor can check scope and the what-if count by district.
    district: str | None = Field(default=None, max_length=20, index=True)
    enterprise_name: str | None = Field(default=None, max_length=200)


class RulebookEdition(ScoringBase, table=True):
    """What a rulebook version hashes (edition, benchmark edition, eligibility): replay by version."""

    __tablename__ = "rulebook_editions"

    version: str = Field(primary_key=True, max_length=64)
    scheme: str = Field(max_length=32)
    edition: str = Field(max_length=64)
    effective_from: date
    content: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    first_used_at: datetime = Field(default_factory=utcnow)
    published_by: str | None = Field(default=None, max_length=128)
    published_reason: str | None = Field(default=None, max_length=2000)
    published_at: datetime | None = None
