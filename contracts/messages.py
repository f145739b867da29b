"""Every NATS message as a pydantic model; descriptions become the AsyncAPI document."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from pydantic import Field

from contracts.envelope import Envelope
from contracts.evaluation import Evaluation
from contracts.schemes import Designation, Scheme


class SubmissionReceived(Envelope):
    """Intake stored a declaration; scoring should evaluate it."""

    TYPE: ClassVar[str] = "submission.received"

    submission_id: str = Field(description="The declaration's id (business key for idempotency).")
    scheme: Scheme = Field(description="The scheme to score it by.")
    uscc: str = Field(description="The enterprise's 统一社会信用代码.")
    enterprise_name: str = Field(description="申报单位名称.")
    district: str = Field(description="The district (区) the unit is in.")
    declared_on: date = Field(description="申报日期: the as-of date for the rules.")
    data: dict[str, Any] = Field(description="The normalised indicator inputs.")


class EvaluationCompleted(Envelope):
    """Scoring finished (or failed) a declaration."""

    TYPE: ClassVar[str] = "evaluation.completed"

    submission_id: str = Field(description="The declaration scored.")
    scheme: Scheme = Field(description="The scheme.")
    uscc: str = Field(description="The enterprise's USCC.")
    enterprise_name: str = Field(description="申报单位名称.")
    district: str = Field(description="The unit's district.")
    evaluation: Evaluation | None = Field(description="The result; null when scoring failed.")
    error: str | None = Field(default=None, description="Why scoring failed, when it did.")


class UnitChanged(Envelope):
    """A unit's lifecycle workflow moved to a new state."""

    TYPE: ClassVar[str] = "unit.changed"

    workflow_id: str = Field(description="The lifecycle workflow's id.")
    uscc: str = Field(description="The unit's USCC.")
    district: str = Field(description="The unit's district.")
    designation: Designation = Field(description="What the workflow is about.")
    state: str = Field(description="The new state.")
    state_zh: str = Field(description="The new state in Chinese.")
    submission_id: str | None = Field(default=None, description="The declaration behind the change, if any.")
    reason: str = Field(description="Why, in Chinese, with the clause.")
    total: str | None = Field(default=None, description="The evaluation's total, when it has one.")


class DeadlineDue(Envelope):
    """A lifecycle deadline passed."""

    TYPE: ClassVar[str] = "deadline.due"

    workflow_id: str = Field(description="The lifecycle workflow's id.")
    uscc: str = Field(description="The unit's USCC.")
    district: str = Field(description="The unit's district.")
    deadline: str = Field(description="Which deadline, e.g. `district-recommendation`.")
    due_at: datetime = Field(description="When it fell due (UTC).")
    clause: str = Field(description="The clause that sets it.")


class NoticeReceived(Envelope):
    """Intake stored a notice (rename, major adjustment, objection, district report); the lifecycle acts on it."""

    TYPE: ClassVar[str] = "notice.received"

    notice_id: str = Field(description="The notice's id (business key for idempotency).")
    uscc: str = Field(description="The unit it is about.")
    district: str | None = Field(default=None, description="The district, when a district reported it.")
    notice: dict[str, Any] = Field(description="The notice as stored (one of the kinds in contracts.notices).")
