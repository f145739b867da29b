"""Days as staff read them: the due day in Beijing, and how many working days remain until it.

Working days are mainland China's (statutory holidays and adjusted working days, chinese-calendar).
Beyond the years the calendar knows, weekdays are counted and the figure is marked approximate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import chinese_calendar

from contracts.identifiers import BEIJING, beijing_today


def beijing_day(at: datetime) -> date:
    return at.astimezone(BEIJING).date()


def today() -> date:
    return beijing_today()


def due_day(due_at: datetime) -> date:
    """The last day to act: a task is overdue from Beijing midnight after its due day."""
    return beijing_day(due_at) - timedelta(days=1)


def _working(day: date) -> tuple[bool, bool]:
    """(is it a working day, is that known from the holiday calendar)."""
    try:
        return bool(chinese_calendar.is_workday(day)), True
    except NotImplementedError:
        return day.weekday() < 5, False


@dataclass(frozen=True)
class Remaining:
    """Working days left until a due day (negative: days overdue)."""

    due: date
    working_days: int
    overdue: bool
    approximate: bool

    @property
    def text_zh(self) -> str:
        about = "约" if self.approximate else ""
        if self.overdue:
            return f"已逾期 {about}{-self.working_days} 个工作日" if self.working_days else "已逾期"
        if self.working_days == 0:
            return "今日到期"
        return f"剩余 {about}{self.working_days} 个工作日"


def remaining(due: date, on: date) -> Remaining:
    """Working days after ``on`` up to and including ``due``; counted backwards once ``due`` has passed."""
    count, exact = 0, True
    if due >= on:
        day = on + timedelta(days=1)
        while day <= due:
            working, known = _working(day)
            count += working
            exact &= known
            day += timedelta(days=1)
        return Remaining(due, count, False, not exact)
    day = due + timedelta(days=1)
    while day <= on:
        working, known = _working(day)
        count += working
        exact &= known
        day += timedelta(days=1)
    return Remaining(due, -count, True, not exact)
