"""Every NATS message as a pydantic model; descriptions become the AsyncAPI document."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

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
    evaluator_uscc: str | None = Field(
        default=None, description="The third-party evaluator's USCC, when the declaration names one (003 第十八条)."
    )
    submitted_at: datetime | None = Field(
        default=None,
        description="When intake accepted the declaration (its submission.received's occurred_at): a unit's "
        "declarations are applied in this order, whatever order their evaluations finish in (D-LATEST).",
    )


class UnitChanged(Envelope):
    """A step of a unit's lifecycle: a new state, or a recorded note; who, why and under which clause."""

    TYPE: ClassVar[str] = "unit.changed"

    workflow_id: str = Field(description="The lifecycle workflow's id.")
    seq: int = Field(default=0, description="The step's number in the unit's history (1, 2, …).")
    uscc: str = Field(description="The unit's USCC.")
    enterprise_name: str = Field(default="", description="单位名称 at the time of the step.")
    district: str = Field(description="The unit's district.")
    designation: Designation = Field(description="What the workflow is about.")
    state: str = Field(description="The state after the step.")
    state_zh: str = Field(description="The state in Chinese.")
    state_changed: bool = Field(
        default=True, description="False when the step records a note and the state stays as it was."
    )
    submission_id: str | None = Field(default=None, description="The declaration behind the change, if any.")
    reason: str = Field(description="Why, in Chinese.")
    clause: str = Field(default="", description="The clause, or the decision (rules/DECISIONS.md), behind the step.")
    task_id: str | None = Field(default=None, description="The task whose decision made the step, if any.")
    total: str | None = Field(default=None, description="The evaluation's total, when it has one.")


DeadlineKind = Literal["upcoming", "due", "missed"]


class DeadlineEvent(Envelope):
    """A lifecycle deadline approaches (`upcoming`, N days before), is today (`due`) or passed unmet (`missed`)."""

    TYPE: ClassVar[str] = "deadline"

    kind: DeadlineKind = Field(description="upcoming | due | missed.")
    offset_days: int = Field(default=0, description="For `upcoming`: how many days before the due day.")
    workflow_id: str = Field(description="The lifecycle workflow's id.")
    uscc: str = Field(description="The unit's USCC.")
    enterprise_name: str = Field(default="", description="单位名称.")
    district: str = Field(description="The unit's district.")
    designation: Designation = Field(description="What the workflow is about.")
    deadline: str = Field(description="Which deadline, e.g. `district-recommendation`, `rename`.")
    deadline_zh: str = Field(description="The deadline's name in Chinese.")
    owner: str = Field(description="The role that must act: enterprise, district, bureau or expert.")
    due_on: date = Field(description="The last day to act (Beijing time).")
    due_at: datetime = Field(description="The instant the deadline passes (UTC): midnight after the due day.")
    clause: str = Field(description="The clause that sets it.")
    consequence_zh: str = Field(description="What happens when it is missed, in Chinese.")
    task_id: str | None = Field(default=None, description="The task the deadline belongs to, if any.")


TaskChange = Literal["opened", "updated", "claimed", "released", "escalated", "closed", "cancelled"]


class TaskEvent(Envelope):
    """A human task was opened, changed or closed (the staff inbox's feed)."""

    TYPE: ClassVar[str] = "task"

    change: TaskChange = Field(description="What happened to the task.")
    task_id: str = Field(description="The task's id.")
    kind: str = Field(description="Task kind, e.g. `recommend`, `review`, `expert_score`.")
    title_zh: str = Field(description="The task in Chinese.")
    role: str = Field(description="The role that acts: district, bureau or expert.")
    task_district: str | None = Field(default=None, description="District tasks: the district whose staff act.")
    status: str = Field(description="open | claimed | done | cancelled.")
    escalated: bool = Field(description="Overdue and escalated to the bureau.")
    due_at: datetime | None = Field(default=None, description="When the task is overdue (UTC).")
    workflow_id: str = Field(description="The lifecycle workflow's id.")
    uscc: str = Field(description="The unit's USCC.")
    district: str = Field(description="The unit's district.")
    designation: Designation = Field(description="What the workflow is about.")
    decision: str | None = Field(default=None, description="The decision, once made.")
    reason: str | None = Field(default=None, description="The decision's reason.")
    clause: str = Field(description="The clause behind the task.")


class RescoreRequest(BaseModel):
    """Workflow → scoring (request/reply): recompute a declaration with the experts' points."""

    submission_id: str = Field(description="The declaration scoring stored.")
    expert_points: dict[str, Decimal] = Field(description="Points per needs_expert item id.")


class RescoreReply(BaseModel):
    """Scoring's recomputed evaluation, or why it could not."""

    evaluation: Evaluation | None = Field(default=None, description="The evaluation with the experts' points.")
    error: str | None = Field(default=None, description="Why it could not be recomputed.")


class NoticeReceived(Envelope):
    """Intake stored a notice (rename, major adjustment, objection, district report); the lifecycle acts on it."""

    TYPE: ClassVar[str] = "notice.received"

    notice_id: str = Field(description="The notice's id (business key for idempotency).")
    uscc: str = Field(description="The unit it is about.")
    district: str | None = Field(default=None, description="The district, when a district reported it.")
    notice: dict[str, Any] = Field(description="The notice as stored (one of the kinds in contracts.notices).")


class DeadLettered(Envelope):
    """A message failed every try and was set aside on `greenfab.deadletter.<subject>`.

    Before it is set aside, the service that gave up lets the message's owner mark what it was about as
    failed (a declaration becomes `failed` with the reason); ``marked_failed`` says what was marked, or
    ``mark_error`` why it could not be. Staff are told of every one (notify), so nothing is stuck unseen.
    """

    TYPE: ClassVar[str] = "deadletter"

    subject: str = Field(description="The subject the message was published on.")
    stream: str = Field(description="The JetStream stream that stores it.")
    stream_seq: int = Field(description="Its sequence number in that stream.")
    consumer: str = Field(description="The durable consumer that gave up on it.")
    service: str = Field(description="The service that gave up.")
    deliveries: int = Field(description="How many times it was tried.")
    error: str = Field(description="The last try's error.")
    traceback: str = Field(default="", description="The last try's traceback (its end).")
    data: str = Field(description="The message as it was received (UTF-8).")
    uscc: str | None = Field(default=None, description="The unit it was about, when the message names one.")
    district: str | None = Field(default=None, description="The unit's district, when the message names one.")
    marked_failed: str | None = Field(
        default=None, description="What the owner marked failed, e.g. `declaration 0f3c…`; null if nothing was."
    )
    mark_error: str | None = Field(default=None, description="Why the owner could not mark it, if it could not.")


class UnitLookupRequest(BaseModel):
    """Intake → workflow (request/reply): which units of this enterprise exist, before a notice is accepted."""

    uscc: str = Field(description="The enterprise's USCC.")


class UnitBrief(BaseModel):
    """One of an enterprise's units, as the workflow service last projected it."""

    workflow_id: str = Field(description="The lifecycle workflow's id.")
    designation: Designation = Field(description="What the workflow is about.")
    district: str = Field(description="The unit's district.")
    state: str = Field(description="Its current state, e.g. `publicity`, `listed`.")


class UnitLookupReply(BaseModel):
    """The enterprise's units (none when it has never declared): notices about any other are refused."""

    uscc: str = Field(description="The USCC asked about.")
    units: list[UnitBrief] = Field(description="Every unit of the enterprise, one per designation.")


class RulebookPublished(Envelope):
    """The bureau published a rulebook edition: from its effective date, declarations are scored by it.

    The audit service records it (who, why, which version); scoring reloads its rules.
    """

    TYPE: ClassVar[str] = "rulebook.published"

    scheme: Scheme = Field(description="The scheme.")
    edition: str = Field(description="The edition's name.")
    effective_from: date = Field(description="The first as-of date it scores.")
    version: str = Field(description="Its content hash (with the benchmark edition in force on that date).")
    reason: str = Field(description="Why, in the bureau's words.")
    changes: list[str] = Field(default_factory=list, description="What changed against the edition it follows.")
