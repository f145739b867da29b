"""Working days across statutory holidays and adjusted working days (D-PUBLICITY)."""

from __future__ import annotations

from datetime import date

import pytest

from services.workflow.domain.calendar import HolidayDataMissing, working_days_from


def test_an_ordinary_week() -> None:
    # Mon 2025-06-09 .. Fri 2025-06-13.
    assert working_days_from(date(2025, 6, 9), 5) == date(2025, 6, 13)


def test_a_weekend_is_skipped() -> None:
    # Wed 2025-06-11: Wed, Thu, Fri, Mon, Tue.
    assert working_days_from(date(2025, 6, 11), 5) == date(2025, 6, 17)


def test_the_national_day_holiday_and_its_adjusted_saturday() -> None:
    # 2025: 1–8 October off; Sunday 28 September and Saturday 11 October are working days.
    # From Mon 29 Sep: 29, 30 Sep, then 9, 10, 11 Oct (a Saturday, worked).
    assert working_days_from(date(2025, 9, 29), 5) == date(2025, 10, 11)
    # Starting on the adjusted Sunday counts it.
    assert working_days_from(date(2025, 9, 28), 1) == date(2025, 9, 28)


def test_a_period_starting_on_a_holiday_begins_on_the_next_working_day() -> None:
    assert working_days_from(date(2025, 10, 1), 1) == date(2025, 10, 9)


def test_a_year_without_published_holidays_is_a_clear_error() -> None:
    with pytest.raises(HolidayDataMissing, match="update the chinese-calendar package"):
        working_days_from(date(2031, 3, 1), 5)


def test_at_least_one_day() -> None:
    with pytest.raises(ValueError, match="at least one"):
        working_days_from(date(2025, 6, 9), 0)
