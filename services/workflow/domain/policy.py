"""The lifecycle's rules as the bureau sets them in rules/lifecycle: deadlines, reminders, thresholds, bans, grounds,
and the steps it records (their texts and clauses)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import cache
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, field_validator, model_validator

from greenfab.paths import RULES

OwnerRole = Literal["enterprise", "district", "bureau", "expert"]


class Deadline(BaseModel):
    """A deadline: its length (calendar days, working days or years), who must act, and its clause."""

    key: str
    days: int | None = Field(default=None, ge=0, description="Calendar days.")
    working_days: int | None = Field(default=None, ge=1, description="Working days (statutory holidays excluded).")
    years: int | None = Field(default=None, ge=1, description="Years (the same day, or 28 Feb for 29 Feb).")
    name_zh: str
    name_en: str = Field(default="", description="Shown beside name_zh (empty in policies carried by older runs).")
    owner: OwnerRole
    basis: str
    consequence_zh: str

    @model_validator(mode="after")
    def _one_length(self) -> Deadline:
        if sum(x is not None for x in (self.days, self.working_days, self.years)) != 1:
            raise ValueError(f"deadline {self.key}: give exactly one of days, working_days, years")
        return self

    def due_day(self, start: date) -> date:
        """The last day to act, for deadlines in calendar days or years (working days need the calendar)."""
        if self.days is not None:
            return start + timedelta(days=self.days)
        if self.years is not None:
            return add_years(start, self.years)
        raise ValueError(f"deadline {self.key} counts working days: ask the calendar")


class Valued(BaseModel):
    """A number with its legal basis."""

    value: int
    basis: str


class Thresholds(BaseModel):
    municipal_min_level: Valued
    national_min_level: Valued
    grade_path_min_level: Valued


class Bans(BaseModel):
    redeclare_after_failed_review_years: Valued
    evaluator_years: Valued


class Ground(BaseModel):
    """A ground for revocation and the ban it brings, if any."""

    name_zh: str
    basis: str
    ban: Literal["redeclare_after_failed_review_years"] | None = None


class Step(BaseModel):
    """A step the lifecycle records in a unit's timeline: its text, with ``{name}`` fields the lifecycle fills
    in, and its clause."""

    text_zh: str
    basis: str = Field(default="", description="Its clause; empty when it takes the clause of a rule (basis_from).")
    basis_from: str | None = Field(
        default=None,
        description="The rule whose basis is its clause, as a path into this policy (`thresholds.national_min_level`);"
        " `{name}` fields name the rule the step is about (`deadlines.{deadline}`).",
    )

    @model_validator(mode="after")
    def _one_basis(self) -> Step:
        if bool(self.basis) == (self.basis_from is not None):
            raise ValueError("a step gives exactly one of basis, basis_from")
        return self


class TaskRule(BaseModel):
    """A kind of human task: who acts, the decisions they may take, the deadline while it is open, its clause."""

    title_zh: str
    role: Literal["district", "bureau", "expert"]
    decisions: list[str] = Field(default=[], description="Empty: set when the task opens (confirm_district).")
    reason_required: list[str] = []
    revoking: list[str] = Field(default=[], description="Decisions that revoke a title: they need a ground.")
    deadline: str | None
    basis: str


@cache
def _shipped() -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load((RULES / "lifecycle" / "lifecycle.yaml").read_text(encoding="utf-8"))
    return raw


@cache
def shipped_steps() -> dict[str, Step]:
    """The steps as the rulebook shipped with this version words them: the default for a policy carried by a
    run that started before the steps moved into rules/lifecycle, so it replays and goes on with the same texts.
    Read once, from the repository's (or the wheel's) rules/, never from a bureau's edited copy. One copy,
    shared and never changed."""
    return {key: Step.model_validate(value) for key, value in _shipped()["steps"].items()}


@cache
def shipped_tasks() -> dict[str, TaskRule]:
    """The kinds of task as the shipped rulebook sets them (the default for older runs, as ``shipped_steps``)."""
    return {key: TaskRule.model_validate(value) for key, value in _shipped()["tasks"].items()}


class Policy(BaseModel):
    """Everything the lifecycle obeys and words; a workflow carries the copy it started with."""

    deadlines: dict[str, Deadline]
    reminder_offsets_days: list[int] = Field(description="Days before the due day that deadline.upcoming fires.")
    timezone_offset_hours: int
    thresholds: Thresholds
    bans: Bans
    revocation_grounds: dict[str, Ground]
    steps: dict[str, Step] = Field(
        default_factory=shipped_steps,
        description="What the lifecycle records at each step, by key: text and clause (rules/lifecycle).",
    )
    tasks: dict[str, TaskRule] = Field(
        default_factory=shipped_tasks, description="The kinds of human task, by kind (rules/lifecycle)."
    )

    # Each workflow carries its own copy of the policy; nearly all carry the shipped steps and tasks, so they
    # share one copy of those in memory (about 55 KiB a workflow otherwise). Nothing changes a policy in place.
    @field_validator("steps", mode="after")
    @classmethod
    def _share_steps(cls, steps: dict[str, Step]) -> dict[str, Step]:
        shared = shipped_steps()
        return shared if steps == shared else steps

    @field_validator("tasks", mode="after")
    @classmethod
    def _share_tasks(cls, tasks: dict[str, TaskRule]) -> dict[str, TaskRule]:
        shared = shipped_tasks()
        return shared if tasks == shared else tasks

    @classmethod
    def from_data(cls, raw: dict[str, Any]) -> Policy:
        deadlines = {key: {"key": key, **value} for key, value in raw["deadlines"].items()}
        return cls.model_validate({**raw, "deadlines": deadlines})

    @property
    def ref(self) -> str:
        """The edition's content address: the same numbers and words give the same ref, any change another."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()

    @property
    def tz(self) -> timezone:
        return timezone(timedelta(hours=self.timezone_offset_hours))

    def local_day(self, at: datetime) -> date:
        return at.astimezone(self.tz).date()

    def start_of(self, day: date) -> datetime:
        """Midnight at the start of ``day`` in Beijing time, as a UTC instant."""
        return datetime.combine(day, time(), self.tz).astimezone(UTC)


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year + years, day=28)
