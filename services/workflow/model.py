"""What Temporal carries for the lifecycle workflow: its input, inbound signals, activity batches."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field, model_validator

from contracts.envelope import Actor
from contracts.schemes import Designation
from services.workflow.domain.policy import Policy
from services.workflow.domain.state import (
    DeadlineFired,
    EvaluationFacts,
    NoticeFacts,
    StartNational,
    TaskChanged,
    Transitioned,
    UnitCommand,
    UnitState,
)


class AutoListing(BaseModel):
    """003 第十条: start the unit already listed, because it holds the national title with a plant in Beijing."""

    actor: Actor
    reason: str


class Inbound(BaseModel):
    """A signal waiting to be handled: exactly one of its fields is set."""

    evaluation: EvaluationFacts | None = None
    notice: NoticeFacts | None = None
    command: UnitCommand | None = None


class LifecycleInput(BaseModel):
    """What starts (or continues as new) a unit's lifecycle workflow."""

    uscc: str
    district: str
    designation: Designation
    enterprise_name: str
    policy: Policy | None = Field(default=None, description="The whole policy: how inputs made before policy_ref were.")
    policy_ref: str | None = Field(
        default=None,
        description="The policy edition by content address (policy_editions.py); small, resolved by the worker.",
    )
    state: UnitState | None = Field(default=None, description="Carried over on continue-as-new.")
    pending: list[Inbound] = Field(default_factory=list, description="Signals not yet handled at continue-as-new.")
    auto_list: AutoListing | None = None
    national: StartNational | None = Field(
        default=None, description="Starts a national-recommendation workflow (003 第九条), from the municipal one."
    )
    newest_code: bool = Field(
        default=False,
        description="Set by whoever starts a run with this code: the run takes every change that workflows.py guards "
        "with a patch without asking workflow.patched(), so it records no patch marker and no TemporalChangeVersion "
        "upsert. The value is part of the run's recorded input, so a replay takes the same branch; inputs recorded "
        "before it existed read False and their runs ask the patches as they did. Continue-as-new carries it over.",
    )

    @model_validator(mode="after")
    def _names_a_policy(self) -> LifecycleInput:
        if (self.policy is None) == (self.policy_ref is None):
            raise ValueError("give exactly one of policy (the whole policy) and policy_ref (its edition)")
        return self


class UnitSummary(BaseModel):
    """The unit's projected row: what inboxes and public lists read without asking Temporal.

    Every field is UnitState's field of the same name; the workflow fills it from the state by name.
    """

    workflow_id: str
    uscc: str
    district: str
    designation: Designation
    enterprise_name: str
    state: str
    seq: int
    level: int | None
    graded_on: date | None
    listed_on: date | None
    national: str
    publicity_ends_on: date | None


class EffectBatch(BaseModel):
    """Effects to record and announce, in order, with the unit as it stands after them."""

    unit: UnitSummary
    correlation_id: str
    effects: list[Transitioned | TaskChanged | DeadlineFired]


class EffectBatches(BaseModel):
    """What one workflow task recorded: its batches in order, in one local activity (one database commit)."""

    batches: list[EffectBatch]


class PeriodRequest(BaseModel):
    start: date
    working_days: int


class WorkingPeriod(BaseModel):
    """The calendar's answer: the period's last day, provisional when a year in it had no holiday notice."""

    last_day: date
    provisional: bool = False
    missing_years: list[int] = Field(default_factory=list, description="Years without a notice (D-CALENDAR).")
