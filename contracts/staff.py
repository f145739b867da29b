"""HTTP bodies of the staff API (workflow service): tasks, unit actions, registers and public lists."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.envelope import Actor
from contracts.evaluation import Evaluation
from contracts.identifiers import District, PlannedDay, Uscc
from contracts.schemes import Scheme
from contracts.text import Line, Paragraph

Text = Field(default=None, min_length=1, max_length=2000)


class TaskPublic(BaseModel):
    """A task as an inbox lists it."""

    task_id: str = Field(description="The task's id.")
    workflow_id: str = Field(description="The unit's lifecycle workflow.")
    uscc: str = Field(description="The unit's USCC.")
    enterprise_name: str = Field(description="单位名称.")
    district: str = Field(description="The unit's district.")
    designation: str = Field(description="What the workflow is about.")
    kind: str = Field(description="recommend, expert_score, review, resolve_objection, review_listed, rename, …")
    title_zh: str = Field(description="The task in Chinese.")
    role: str = Field(description="The role that acts.")
    status: str = Field(description="open | claimed | done | cancelled.")
    claimed_by: str | None = Field(description="Who claimed it.")
    escalated: bool = Field(description="Overdue: the bureau may act on it too.")
    opened_at: datetime = Field(description="When it was opened.")
    due_at: datetime | None = Field(description="When it is overdue (UTC).")
    decisions: list[str] = Field(description="The decisions it accepts.")
    decision: str | None = Field(description="The decision taken.")
    reason: str | None = Field(description="Its reason.")
    decided_by: str | None = Field(description="Who decided.")
    clause: str = Field(description="The clause behind the task.")
    context: dict[str, Any] = Field(description="What the decision needs: totals, vetoes, names, dates.")


class TaskDetail(TaskPublic):
    """A task with the evaluation behind it, item by item with explanations."""

    evaluation: Evaluation | None = Field(description="The declaration's evaluation, when the task concerns one.")


class TaskDecision(BaseModel):
    """A decision on a task."""

    model_config = ConfigDict(extra="forbid")

    decision: str = Field(min_length=1, max_length=40, description="One of the task's decisions.")
    reason: Paragraph | None = Field(default=None, max_length=2000, description="Why; required for some decisions.")
    ground: str | None = Field(
        default=None, max_length=40, description="Revoking decisions: the ground (e.g. `review_failed`)."
    )
    points: Decimal | None = Field(default=None, ge=0, le=1000, description="Expert tasks: the points awarded.")


class UnitAction(BaseModel):
    """A unit-level action: recommend_national, start_review, revoke (bureau) or withdraw (the enterprise)."""

    model_config = ConfigDict(extra="forbid")

    command: Literal["recommend_national", "start_review", "revoke", "withdraw"] = Field(description="The action.")
    reason: Paragraph | None = Field(default=None, max_length=2000, description="Why; required for revocation.")
    ground: str | None = Field(default=None, max_length=40, description="Revocation ground (003 第十三条).")


class TimelineEntry(BaseModel):
    """One step of a unit's history."""

    seq: int = Field(description="1, 2, …")
    at: datetime = Field(description="When (UTC).")
    state: str = Field(description="State after the step.")
    state_zh: str = Field(description="State in Chinese.")
    reason: str = Field(description="Why, in Chinese.")
    clause: str = Field(description="The clause behind it.")
    actor: Actor = Field(description="Who.")
    task_id: str | None = Field(description="The task decided, if any.")
    submission_id: str | None = Field(description="The declaration concerned, if any.")


class DeadlinePublic(BaseModel):
    """A running deadline of a unit."""

    deadline: str = Field(description="Which deadline, e.g. `district-recommendation` (rules/lifecycle).")
    deadline_zh: str = Field(default="", description="The deadline in Chinese, e.g. 区工业主管部门推荐.")
    owner: str = Field(description="The role that must act: enterprise, district, bureau or expert.")
    due_on: date = Field(description="The last day to act (Beijing time).")
    task_id: str | None = Field(description="The task it belongs to, if any.")


class FaultPublic(BaseModel):
    """Something sent to the unit that its workflow could not apply: refused and recorded, nothing changed."""

    at: datetime = Field(description="When (UTC).")
    input: str = Field(description="What could not be applied, in Chinese, e.g. `区级报告通知 n-…`.")
    error: str = Field(description="Why, as the workflow saw it.")


class UnitDetail(BaseModel):
    """A unit's current state, open deadlines and whole timeline, read live from its workflow."""

    workflow_id: str = Field(description="The lifecycle workflow's id.")
    uscc: str = Field(description="The unit's USCC.")
    enterprise_name: str = Field(description="单位名称.")
    district: str = Field(description="The unit's district.")
    designation: str = Field(description="What the workflow is about.")
    state: str = Field(description="Current state.")
    state_zh: str = Field(description="Current state in Chinese.")
    level: int | None = Field(description="Latest grade level (grading).")
    listed_on: date | None = Field(description="When listed.")
    national: str = Field(description="National title: none | recommended | listed | not_listed.")
    banned_until: date | None = Field(description="003 第十五条: no new declaration until this day.")
    publicity_ends_on: date | None = Field(description="Last day of publicity, while publicised.")
    deadlines: list[DeadlinePublic] = Field(description="Running deadlines: key, owner, due day.")
    submissions: list[str] = Field(description="Declarations received, oldest first.")
    timeline: list[TimelineEntry] = Field(description="Every step, oldest first.")
    faults: list[FaultPublic] = Field(
        default_factory=list, description="Inputs the workflow could not apply (refused and recorded; nothing changed)."
    )


class FailingUnit(BaseModel):
    """A unit whose workflow Temporal reports failing: it cannot move on until the cause is repaired."""

    workflow_id: str = Field(description="The lifecycle workflow's id.")
    uscc: str = Field(description="The unit's USCC.")
    designation: str = Field(description="What the workflow is about.")
    enterprise_name: str | None = Field(description="单位名称, when the unit was ever projected.")
    district: str | None = Field(description="The unit's district, when the unit was ever projected.")
    state: str | None = Field(description="The last state projected before it failed.")
    problems: list[str] = Field(description="What Temporal reports (TemporalReportedProblems), e.g. the failure cause.")
    attempts: int | None = Field(description="How many times its current workflow task has been tried.")
    error: str | None = Field(description="The last failure's message, from the workflow's history.")
    since: datetime | None = Field(description="When its current workflow task was first scheduled.")


class AutoListingCreate(BaseModel):
    """003 第十条: a unit on the national list with its plant in Beijing joins the municipal list."""

    model_config = ConfigDict(extra="forbid")

    uscc: Uscc = Field(description="The unit's USCC (the GB 32100 check character is verified).")
    district: District = Field(description="The district its plant is in (one of Beijing's 16).")
    enterprise_name: Line = Field(min_length=1, max_length=200, description="单位名称.")
    reason: Paragraph = Field(min_length=1, max_length=2000, description="E.g. the national list and year it is on.")


class CallCreate(BaseModel):
    """征集通知 (003 第八条): declarations of a scheme count only within an open call."""

    model_config = ConfigDict(extra="forbid")

    scheme: Literal[Scheme.GREEN_FACTORY, Scheme.BEAUTIFUL_FACTORY] = Field(description="The scheme called for.")
    title: Line = Field(min_length=1, max_length=200, description="通知名称.")
    opens_on: PlannedDay = Field(description="First day declarations count (1949-10-01 … 2100-12-31).")
    closes_on: PlannedDay = Field(description="Last day declarations count (1949-10-01 … 2100-12-31).")

    @model_validator(mode="after")
    def _window(self) -> CallCreate:
        if self.closes_on < self.opens_on:
            raise ValueError("closes_on is before opens_on")
        return self


# The answers below describe what was stored; they do not re-check it as input (a row stored under an
# older, looser rule must still be readable), and they leave out the rows' bookkeeping columns.


class CallPublic(BaseModel):
    """An open call as stored."""

    model_config = ConfigDict(extra="ignore", from_attributes=True)

    id: str = Field(description="The call's id.")
    scheme: Scheme = Field(description="The scheme called for.")
    title: str = Field(description="通知名称.")
    opens_on: date = Field(description="First day declarations count.")
    closes_on: date = Field(description="Last day declarations count.")
    opened_by: str = Field(description="Who opened it.")


class PoolEntryCreate(BaseModel):
    """区级培育名单 (003 第六条): the district adds a unit to its cultivation pool."""

    model_config = ConfigDict(extra="forbid")

    uscc: Uscc = Field(description="The unit's USCC (the GB 32100 check character is verified).")
    enterprise_name: Line = Field(min_length=1, max_length=200, description="单位名称.")
    note: Paragraph | None = Field(default=None, max_length=2000, description="E.g. how it was found (诊断, 自荐).")


class PoolEntryPublic(BaseModel):
    """A cultivation-pool entry as stored."""

    model_config = ConfigDict(extra="ignore", from_attributes=True)

    uscc: str = Field(description="The unit's USCC.")
    enterprise_name: str = Field(description="单位名称.")
    note: str | None = Field(description="E.g. how it was found (诊断, 自荐).")
    district: str = Field(description="The district whose pool it is in.")
    added_by: str = Field(description="Who added it.")
    added_at: datetime = Field(description="When.")


class EvaluatorBanCreate(BaseModel):
    """003 第十八条: refuse an evaluator's reports for three years."""

    model_config = ConfigDict(extra="forbid")

    evaluator_uscc: Uscc = Field(description="The evaluator's USCC (the GB 32100 check character is verified).")
    ground: Literal["falsification", "concealment", "miit_blacklist"] = Field(
        description="弄虚作假 | 故意隐瞒 | 工信部平台黑名单."
    )
    reason: Paragraph = Field(min_length=1, max_length=2000, description="What was found.")


class EvaluatorBanPublic(BaseModel):
    """An evaluator's ban as stored."""

    model_config = ConfigDict(extra="ignore", from_attributes=True)

    evaluator_uscc: str = Field(description="The evaluator's USCC.")
    ground: str = Field(description="falsification | concealment | miit_blacklist.")
    reason: str = Field(description="What was found.")
    since: date = Field(description="First day of the ban.")
    until: date = Field(description="Last day of the ban.")
    banned_by: str = Field(description="Who.")


class ListedUnit(BaseModel):
    """A unit on a published list (003 第十九条)."""

    model_config = ConfigDict(from_attributes=True)

    uscc: str
    enterprise_name: str
    district: str
    designation: str
    listed_on: date | None
    national: str


class UnitRow(ListedUnit):
    """A unit as staff lists show it."""

    workflow_id: str
    state: str
    state_zh: str
    level: int | None = Field(default=None, description="Latest grade level (grading).")


class PublishedGrade(BaseModel):
    """A unit's published grade (003 第十九条)."""

    model_config = ConfigDict(from_attributes=True)

    uscc: str
    enterprise_name: str
    district: str
    level: int | None
    graded_on: date | None


class GradeCount(BaseModel):
    """How many published grades a district holds at one level."""

    district: str = Field(description="所在区.")
    level: int | None = Field(description="Grade level 1–4; null for a published result without a level.")
    count: int = Field(description="Units.")


class ListedCount(BaseModel):
    """How many units of one designation a district has on the municipal lists now."""

    district: str = Field(description="所在区.")
    designation: str = Field(description="The list (green-factory, beautiful-factory, …).")
    count: int = Field(description="Units.")


class PublicCounts(BaseModel):
    """The published lists counted (003 第十九条): what a dashboard shows without reading every row."""

    grades: list[GradeCount] = Field(description="Published grades by district and level.")
    listed: list[ListedCount] = Field(description="Units on the lists now, by district and designation.")
    grades_total: int = Field(description="Every published grade.")
    listed_total: int = Field(description="Every unit on a list now.")
