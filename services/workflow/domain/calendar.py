"""Working days in mainland China (statutory holidays and adjusted working days), from chinese-calendar.

Used for publicity periods (D-PUBLICITY: N working days). The workflow calls these from an
activity, so a later library update can never change a date already in a running workflow's history.
"""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar


class HolidayDataMissing(LookupError):
    """chinese-calendar has no holiday data for that year yet (the State Council publishes it each autumn)."""


def is_working_day(day: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError as exc:
        raise HolidayDataMissing(
            f"no statutory-holiday data for {day.year} yet: update the chinese-calendar package ({exc})"
        ) from exc


def working_days_from(start: date, count: int) -> date:
    """The last of the first ``count`` working days on or after ``start``: a period of ``count`` working days.

    Publicity that starts on a working day counts that day; one that starts on a holiday begins on
    the next working day. Adjusted working days (调休上班的周末) count.
    """
    if count < 1:
        raise ValueError("a period has at least one working day")
    day, seen = start, 0
    while True:
        if is_working_day(day):
            seen += 1
            if seen == count:
                return day
        day += timedelta(days=1)
