"""The workflow service's tables: projections for inboxes and public lists, and the bureau's registers.

Temporal holds the truth of each unit; these rows are what lists read without querying every
workflow. Activities write them, idempotently and in order (sequence and revision numbers).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from contracts.envelope import utcnow


class WorkflowBase(SQLModel, registry=registry()):
    """Base of the workflow service's tables."""


class UnitProjection(WorkflowBase, table=True):
    __tablename__ = "units"
    # The sort keys the lists page by (greenfab.paging): published grades by USCC within the designation,
    # staff lists most recently changed first.
    __table_args__ = (
        Index("ix_units_designation_uscc", "designation", "uscc", "workflow_id"),
        Index("ix_units_updated", "updated_at", "workflow_id"),
    )

    workflow_id: str = Field(primary_key=True, max_length=128)
    uscc: str = Field(index=True, max_length=18)
    district: str = Field(index=True, max_length=20)
    designation: str = Field(index=True, max_length=40)
    enterprise_name: str = Field(max_length=200)
    state: str = Field(index=True, max_length=40)
    last_seq: int = 0
    level: int | None = None
    graded_on: date | None = None
    listed_on: date | None = None
    national: str = Field(default="none", max_length=20)
    publicity_ends_on: date | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class TaskProjection(WorkflowBase, table=True):
    __tablename__ = "tasks"
    # Inboxes page most urgent first (greenfab.paging).
    __table_args__ = (Index("ix_tasks_due", "due_at", "opened_at", "task_id"),)

    task_id: str = Field(primary_key=True, max_length=160)
    workflow_id: str = Field(index=True, max_length=128)
    uscc: str = Field(index=True, max_length=18)
    enterprise_name: str = Field(max_length=200)
    unit_district: str = Field(index=True, max_length=20)
    designation: str = Field(max_length=40)
    kind: str = Field(max_length=40)
    title_zh: str = Field(max_length=100)
    role: str = Field(index=True, max_length=20)
    task_district: str | None = Field(default=None, index=True, max_length=20)
    status: str = Field(index=True, max_length=20)
    claimed_by: str | None = Field(default=None, max_length=128)
    escalated: bool = False
    opened_at: datetime
    due_at: datetime | None = None
    decisions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    decision: str | None = Field(default=None, max_length=40)
    reason: str | None = None
    decided_by: str | None = Field(default=None, max_length=128)
    clause: str = Field(max_length=200)
    context: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    rev: int = 0


class OpenCallRow(WorkflowBase, table=True):
    """征集通知 (003 第八条): a scheme's declarations count only within an open call's window."""

    __tablename__ = "calls"

    id: str = Field(primary_key=True, max_length=64)
    scheme: str = Field(index=True, max_length=32)
    title: str = Field(max_length=200)
    opens_on: date
    closes_on: date
    opened_by: str = Field(max_length=128)
    created_at: datetime = Field(default_factory=utcnow)


class PoolEntry(WorkflowBase, table=True):
    """区级培育名单 (003 第六条): a district's cultivation pool."""

    __tablename__ = "cultivation_pool"

    uscc: str = Field(primary_key=True, max_length=18)
    district: str = Field(index=True, max_length=20)
    enterprise_name: str = Field(max_length=200)
    added_by: str = Field(max_length=128)
    note: str | None = Field(default=None, max_length=2000)
    added_at: datetime = Field(default_factory=utcnow)


class EvaluatorBan(WorkflowBase, table=True):
    """003 第十八条: a third-party evaluator whose reports are refused until ``until``."""

    __tablename__ = "evaluator_bans"

    evaluator_uscc: str = Field(primary_key=True, max_length=18)
    ground: str = Field(max_length=40)
    reason: str = Field(max_length=2000)
    since: date
    until: date
    banned_by: str = Field(max_length=128)


class EvaluationCopy(WorkflowBase, table=True):
    """Scoring's answer as received, for task detail (items and explanations) without growing workflow history."""

    __tablename__ = "evaluations"

    submission_id: str = Field(primary_key=True, max_length=64)
    uscc: str = Field(index=True, max_length=18)
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class PolicyEdition(WorkflowBase, table=True):
    """A lifecycle policy edition by its content address: workflow inputs carry the ref, workers read the policy.

    Written once per edition (at start-up of the service that brings it), never changed or deleted: a unit
    keeps the edition it started with for as long as it runs.
    """

    __tablename__ = "policy_editions"

    ref: str = Field(primary_key=True, max_length=80)
    policy: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    stored_at: datetime = Field(default_factory=utcnow)
