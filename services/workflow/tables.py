"""The workflow service's tables: a projection of each unit's state for listing without Temporal queries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from contracts.envelope import utcnow


class WorkflowBase(SQLModel, registry=registry()):
    """Base of the workflow service's tables."""


class UnitProjection(WorkflowBase, table=True):
    __tablename__ = "units"

    workflow_id: str = Field(primary_key=True, max_length=128)
    uscc: str = Field(index=True, max_length=18)
    district: str = Field(index=True, max_length=20)
    designation: str = Field(max_length=40)
    enterprise_name: str = Field(max_length=200)
    state: str = Field(max_length=40)
    last_seq: int = 0
    updated_at: datetime = Field(default_factory=utcnow)
