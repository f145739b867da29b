"""Inputs, signals and state of the lifecycle workflow: pydantic models Temporal carries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from contracts.schemes import Designation

STATE_ZH: dict[str, str] = {
    "declared": "已申报",
    "evaluation_failed": "评价失败",
    "awaiting_recommendation": "待区级推荐",
    "recommendation_overdue": "区级推荐已逾期",
}


class Deadline(BaseModel):
    """A deadline the workflow enforces: its key, length and clause."""

    key: str
    days: int = Field(default=0, ge=0, description="Calendar days.")
    working_days: int | None = Field(default=None, ge=0, description="Working days (statutory holidays excluded).")
    name_zh: str
    basis: str
    owner: str


class LifecycleInput(BaseModel):
    """What starts a unit's lifecycle workflow."""

    uscc: str
    district: str
    designation: Designation
    enterprise_name: str
    recommendation_deadline: Deadline


class EvaluationSignal(BaseModel):
    """Scoring's answer for one declaration of the unit."""

    submission_id: str
    correlation_id: str
    total: str | None
    level: int | None
    provisional: bool
    error: str | None


class Transition(BaseModel):
    """One step of the unit's history, emitted as `unit.changed`."""

    seq: int
    at: datetime
    state: str
    reason: str
    submission_id: str | None = None
    total: str | None = None


class TransitionRecord(BaseModel):
    """What the record-transition activity gets: enough to project and announce a step."""

    workflow_id: str
    input: LifecycleInput
    transition: Transition
    correlation_id: str


class DeadlineRecord(BaseModel):
    """What the deadline-due activity gets."""

    workflow_id: str
    input: LifecycleInput
    deadline: Deadline
    due_at: datetime
    correlation_id: str


class UnitSnapshot(BaseModel):
    """The workflow's state as its query returns it."""

    workflow_id: str
    uscc: str
    district: str
    designation: str
    state: str
    submissions: list[str]
    history: list[dict[str, Any]]
