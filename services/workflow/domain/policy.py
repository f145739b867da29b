"""The lifecycle's numbers as the bureau sets them in rules/lifecycle (deadlines, reminders, thresholds, bans)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

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


class Policy(BaseModel):
    """Everything numeric the lifecycle obeys; a workflow carries the copy it started with."""

    deadlines: dict[str, Deadline]
    reminder_offsets_days: list[int] = Field(description="Days before the due day that deadline.upcoming fires.")
    timezone_offset_hours: int
    thresholds: Thresholds
    bans: Bans
    revocation_grounds: dict[str, Ground]

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
