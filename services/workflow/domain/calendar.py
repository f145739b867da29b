"""Working days in mainland China (D-CALENDAR), for periods counted in working days (D-PUBLICITY).

Each year follows the State Council's holiday notice (holidays, and the weekend days worked instead):
the bureau's copy in rules/calendar/ when it has one, else chinese-calendar's where the library has
the year. A year with neither never stops a workflow: its days are counted Monday to Friday, less
the statutory public holidays the law itself fixes (《全国年节及纪念日放假办法》, from `holidays`), and
the period is marked provisional so the bureau is asked to load the year.

No I/O: the notices come in as data (services/workflow/calendar_store.py reads them); the workflow
asks through an activity, so a notice loaded later cannot change a date already in a history.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar
import holidays as holiday_tables
from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_DAYS = 3660  # a period of working days never spans ten years; more means bad data, not a long period


class YearNotice(BaseModel):
    """One year's holiday notice (国务院办公厅关于部分节假日安排的通知), as the bureau keeps it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    year: int = Field(ge=1949, le=2099)
    source: str = Field(min_length=1, description="The notice it copies, e.g. its title and number.")
    holidays: dict[str, list[date]] = Field(description="Festival → the days off, weekends inside it included.")
    working_days: dict[str, list[date]] = Field(
        default_factory=dict, description="Festival → the weekend days worked instead (调休上班)."
    )

    @model_validator(mode="after")
    def _consistent(self) -> YearNotice:
        off = [d for days in self.holidays.values() for d in days]
        worked = [d for days in self.working_days.values() for d in days]
        if not off:
            raise ValueError("a notice gives at least one holiday")
        for d in [*off, *worked]:
            if d.year != self.year:
                raise ValueError(f"{d.isoformat()} is not in {self.year}")
        if both := sorted(set(off) & set(worked)):
            raise ValueError(f"{both[0].isoformat()} is both a holiday and a working day")
        if weekdays := sorted(d for d in worked if d.weekday() < 5):
            raise ValueError(f"{weekdays[0].isoformat()} is a weekday: only a weekend day can be made a working day")
        return self

    @property
    def days_off(self) -> frozenset[date]:
        return frozenset(d for days in self.holidays.values() for d in days)

    @property
    def days_worked(self) -> frozenset[date]:
        return frozenset(d for days in self.working_days.values() for d in days)


@dataclass(frozen=True)
class Period:
    """The last day of a period of working days; provisional when a year in it had no notice."""

    last_day: date
    provisional: bool = False
    missing_years: tuple[int, ...] = ()


@lru_cache(maxsize=64)
def _library_has(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 7, 1))
    except NotImplementedError:
        return False
    return True


@lru_cache(maxsize=64)
def statutory_holidays(year: int) -> frozenset[date]:
    """The public holidays the law fixes for ``year`` (with any substitutions `holidays` knows), and no more."""
    table = holiday_tables.country_holidays("CN", years=year, observed=False)
    return frozenset(d for d in table if d.year == year)


@lru_cache(maxsize=64)
def _statutory_working_weekends(year: int) -> frozenset[date]:
    table = holiday_tables.country_holidays("CN", years=year, observed=False)
    return frozenset(d for d in getattr(table, "weekend_workdays", set()) if d.year == year)


@dataclass
class Calendar:
    """Working days from the bureau's notices, then chinese-calendar, then the provisional count."""

    notices: Mapping[int, YearNotice] = field(default_factory=dict)

    def source(self, year: int) -> str:
        """Where ``year``'s days come from: bureau, library, or provisional."""
        if year in self.notices:
            return "bureau"
        return "library" if _library_has(year) else "provisional"

    def is_working_day(self, day: date) -> bool:
        notice = self.notices.get(day.year)
        if notice is not None:
            if day in notice.days_worked:
                return True
            return day.weekday() < 5 and day not in notice.days_off
        if _library_has(day.year):
            return bool(chinese_calendar.is_workday(day))
        # D-CALENDAR: no notice yet; Monday to Friday, less the holidays the law fixes.
        if day in _statutory_working_weekends(day.year):
            return True
        return day.weekday() < 5 and day not in statutory_holidays(day.year)

    def working_days_from(self, start: date, count: int) -> Period:
        """The last of the first ``count`` working days on or after ``start``: a period of ``count`` working days.

        Publicity that starts on a working day counts that day; one that starts on a holiday begins on
        the next working day. Adjusted working days (调休上班的周末) count.
        """
        if count < 1:
            raise ValueError("a period has at least one working day")
        day, seen, missing = start, 0, set()
        for _ in range(MAX_DAYS):
            if self.source(day.year) == "provisional":
                missing.add(day.year)
            if self.is_working_day(day):
                seen += 1
                if seen == count:
                    return Period(day, bool(missing), tuple(sorted(missing)))
            day += timedelta(days=1)
        raise ValueError(f"{count} working days from {start.isoformat()} do not end within {MAX_DAYS} days")


def working_days_from(start: date, count: int) -> date:
    """The last day of ``count`` working days from ``start`` by the libraries alone (see Calendar)."""
    return Calendar().working_days_from(start, count).last_day
