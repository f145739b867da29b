"""What a unit's lifecycle holds and receives: inputs, tasks, obligations, transitions, effects.

Every model here is pydantic so Temporal carries it (signals, updates, continue-as-new) unchanged.
"""

from __future__ import annotations

import copy
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field

from contracts.envelope import Actor
from contracts.schemes import Designation
from services.workflow.domain.policy import Deadline

SYSTEM = Actor(role="system", subject="workflow")

TaskKind = Literal[
    "recommend",
    "expert_score",
    "review",
    "resolve_objection",
    "review_listed",
    "rename",
    "approve_rename",
    "district_report",
    "miit_request",
    "national_outcome",
    "followup",
    "confirm_district",
    "load_calendar",
]
UnitStateName = Literal[
    "new",
    "declaration_refused",
    "evaluation_failed",
    "awaiting_recommendation",
    "not_recommended",
    "under_review",
    "rejected",
    "publicity",
    "objection_review",
    "listed",
    "under_recheck",
    "revoked",
    "graded",
    "grade_path",
    "national_recommended",
    "national_listed",
    "national_not_listed",
    "returned",
    "expert_review",
]
TaskStatus = Literal["open", "claimed", "done", "cancelled"]
AlarmKind = Literal["upcoming", "due", "missed"]


class VetoBrief(BaseModel):
    code: str
    clause: str
    evidence: str
    overridable: bool = False


class ExpertItem(BaseModel):
    id: str
    name_zh: str
    max: Decimal


class OpenCall(BaseModel):
    """An open call (征集通知, 003 第八条) the declaration was filed in."""

    id: str
    title: str
    closes_on: date


class EvaluationFacts(BaseModel):
    """Scoring's answer for one declaration, with what the workflow service looked up beside it."""

    submission_id: str
    correlation_id: str
    enterprise_name: str
    total: Decimal | None = None
    level: int | None = None
    passed: bool | None = None
    provisional: bool = False
    error: str | None = None
    rulebook_version: str | None = None
    vetoes: list[VetoBrief] = Field(default_factory=list)
    expert_items: list[ExpertItem] = Field(default_factory=list)
    missing_items: list[str] = Field(
        default_factory=list,
        description="Items scored missing_input, each with the inputs it lacks (GR-5（voc_emission）).",
    )
    verdict_zh: str | None = Field(default=None, description="Scoring's verdict: the result, or why it has none.")
    evaluator_uscc: str | None = None
    evaluator_banned_until: date | None = Field(default=None, description="第十八条: the evaluator's ban, if any.")
    call: OpenCall | None = Field(default=None, description="The open call the declaration falls in, if any.")
    in_pool: bool = Field(default=False, description="In the district's cultivation pool (第六条)?")
    latest_grade: int | None = Field(default=None, description="The unit's latest published grade level.")
    holds_title: bool = Field(default=False, description="Grading only: the unit holds a green-factory title.")
    declared_district: str | None = Field(default=None, description="The district the declaration names.")
    pool_district: str | None = Field(default=None, description="The district whose cultivation pool holds it.")
    submitted_at: datetime | None = Field(
        default=None, description="When intake accepted the declaration: orders a unit's declarations (D-LATEST)."
    )


class NoticeFacts(BaseModel):
    """A notice intake stored (rename, major adjustment, objection, district report, diagnosis, renovation)."""

    notice_id: str
    correlation_id: str
    kind: str
    data: dict[str, Any]
    filed_at: datetime
    actor: Actor


class TaskAction(BaseModel):
    """A staff decision on a task."""

    task_id: str
    decision: str = Field(description="One of the task's decisions.")
    reason: str | None = Field(default=None, max_length=2000)
    ground: str | None = Field(default=None, description="Revocation ground, where the decision revokes.")
    points: Decimal | None = Field(default=None, description="Expert tasks: the points awarded.")
    actor: Actor


class TaskClaim(BaseModel):
    task_id: str
    release: bool = False
    actor: Actor


UnitCommandName = Literal["recommend_national", "start_review", "revoke", "withdraw", "record_national"]
NationalOutcome = Literal["listed", "not_listed"]


class UnitCommand(BaseModel):
    """A unit-level action that is not an open task: bureau or enterprise, or another workflow."""

    command: UnitCommandName
    reason: str | None = Field(default=None, max_length=2000)
    ground: str | None = None
    actor: Actor
    source: str | None = Field(default=None, description="The workflow that sent it, when one did.")
    outcome: NationalOutcome | None = Field(
        default=None, description="record_national: MIIT's decision, from the national-recommendation workflow."
    )


class Task(BaseModel):
    """A human task: who may act (role and scope), until when, with which decisions."""

    id: str
    kind: TaskKind
    title_zh: str
    role: Literal["district", "bureau", "expert"]
    district: str | None = Field(default=None, description="District tasks: only this district's staff act.")
    status: TaskStatus = "open"
    claimed_by: str | None = None
    opened_at: datetime
    due_at: datetime | None = None
    deadline: str | None = None
    escalated: bool = False
    rev: int = 0
    decisions: list[str]
    clause: str
    item: ExpertItem | None = None
    context: dict[str, Any] = Field(default_factory=dict)
    decision: str | None = None
    reason: str | None = None
    points: Decimal | None = None
    decided_by: Actor | None = None
    decided_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.status in ("open", "claimed")


class Obligation(BaseModel):
    """A running deadline: reminders before it, an event on the day, and a consequence after."""

    key: str
    deadline: str
    owner: str
    opened_at: datetime
    due_day: date
    task_id: str | None = None
    fired: list[AlarmKind | str] = Field(default_factory=list)
    note: str = ""


class Transition(BaseModel):
    """One step of a unit's history: the state it moved to, who moved it, why, under which clause."""

    seq: int
    at: datetime
    state: UnitStateName
    state_changed: bool = Field(default=True, description="False when the step records a note in the same state.")
    reason: str
    clause: str
    actor: Actor
    submission_id: str | None = None
    total: str | None = None
    task_id: str | None = None


class GradePath(BaseModel):
    """003 第十六条: a grade below 3 opens diagnosis (1 y), renovation (2 y), re-evaluation (3 y)."""

    started_on: date
    level: int
    diagnosed: bool = False
    renovated: bool = False


class Fault(BaseModel):
    """An input the workflow could not apply: it was refused whole and recorded; the state is as it was."""

    at: datetime
    input: str = Field(description="What could not be applied, e.g. `notice district_report n-…`.")
    error: str = Field(description="Why, as the workflow saw it.")


class UnitState(BaseModel):
    """All a unit's workflow knows; carried whole into the next run on continue-as-new."""

    workflow_id: str
    uscc: str
    district: str
    designation: Designation
    enterprise_name: str
    state: UnitStateName = "new"
    cycle: int = 0
    seq: int = 0
    task_seq: int = 0
    history: list[Transition] = Field(default_factory=list)
    tasks: list[Task] = Field(default_factory=list)
    obligations: list[Obligation] = Field(default_factory=list)
    submissions: list[str] = Field(default_factory=list)
    latest_submitted_at: datetime | None = Field(
        default=None, description="When intake accepted the latest declaration applied (D-LATEST)."
    )
    notices: list[str] = Field(default_factory=list)
    evaluation: EvaluationFacts | None = None
    expert_points: dict[str, Decimal] = Field(default_factory=dict)
    publicity_ends_on: date | None = None
    publicity_provisional: bool = Field(
        default=False, description="The end was counted without that year's holiday notice (D-CALENDAR)."
    )
    objections_open: int = 0
    listed_on: date | None = None
    national: Literal["none", "recommended", "listed", "not_listed"] = "none"
    level: int | None = None
    graded_on: date | None = None
    grade_path: GradePath | None = None
    banned_until: date | None = None
    revoked_ground: str | None = None
    faults: list[Fault] = Field(default_factory=list, description="Inputs refused because they could not be applied.")


# Lists the lifecycle only ever appends to, of items it never changes once appended: a checkpoint copies
# the list, not its items. Everything else is copied whole, except closed tasks, which nothing changes.
_APPEND_ONLY = frozenset({"history", "submissions", "notices", "faults"})


def checkpoint(state: UnitState) -> UnitState:
    """A copy of ``state`` that later changes to ``state`` do not reach (cheap for a long history)."""
    copied: dict[str, object] = {}
    for name in UnitState.model_fields:
        value = getattr(state, name)
        if name in _APPEND_ONLY:
            copied[name] = list(value)
        elif name == "tasks":
            copied[name] = [t.model_copy(deep=True) if t.active else t for t in value]
        else:
            copied[name] = copy.deepcopy(value)
    return state.model_copy(update=copied)


class Transitioned(BaseModel):
    effect: Literal["transition"] = "transition"
    transition: Transition


class TaskChanged(BaseModel):
    effect: Literal["task"] = "task"
    change: Literal["opened", "updated", "claimed", "released", "closed", "escalated", "cancelled"]
    task: Task
    actor: Actor | None = Field(default=None, description="Who changed it, when a person did (claim, release).")


class DeadlineFired(BaseModel):
    effect: Literal["deadline"] = "deadline"
    kind: AlarmKind
    offset_days: int = 0
    obligation: Obligation
    due_at: datetime
    deadline: Deadline
    fired_at: datetime | None = Field(default=None, description="Workflow time the alarm fired (None in old runs).")


class PeriodNeeded(BaseModel):
    """The domain needs the last day of N working days from ``start``: an activity asks the calendar."""

    effect: Literal["period"] = "period"
    deadline: str
    start: date
    actor: Actor = SYSTEM
    recompute: bool = Field(default=False, description="Again, once the bureau loaded a missing year (D-CALENDAR).")


class RescoreNeeded(BaseModel):
    """Every expert has scored: scoring recomputes the total with their points."""

    effect: Literal["rescore"] = "rescore"
    submission_id: str
    expert_points: dict[str, Decimal]


class Rescored(BaseModel):
    """Scoring's recomputed result once experts have scored."""

    total: Decimal
    level: int | None = None
    passed: bool | None = None
    provisional: bool = False
    rulebook_version: str | None = None


class SignalTitle(BaseModel):
    """Tell the unit's workflow for another designation (e.g. grading → green-factory revocation)."""

    effect: Literal["signal"] = "signal"
    designation: Designation
    command: UnitCommand
    clause: str = "003 第十六条"


class StartNational(BaseModel):
    """003 第九条: the bureau recommended the unit to MIIT; its national recommendation runs as its own workflow."""

    effect: Literal["national"] = "national"
    actor: Actor
    reason: str | None = None


Effect = Transitioned | TaskChanged | DeadlineFired | PeriodNeeded | RescoreNeeded | SignalTitle | StartNational
