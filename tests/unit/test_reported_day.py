"""A day people report (a change completed, a finding observed) lies between 1949-10-01 and today in Beijing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import TypeAdapter, ValidationError

from contracts.identifiers import EARLIEST_DAY, ReportedDay, beijing_today

DAY = TypeAdapter(ReportedDay)


def test_today_is_beijings_whatever_the_servers_zone() -> None:
    before = (datetime.now(UTC) + timedelta(hours=8)).date()
    today = beijing_today()
    after = (datetime.now(UTC) + timedelta(hours=8)).date()
    assert today in (before, after)


def test_today_and_the_founding_day_are_accepted_tomorrow_and_before_are_refused() -> None:
    today = beijing_today()
    assert DAY.validate_python(today.isoformat()) == today
    assert DAY.validate_python(EARLIEST_DAY.isoformat()) == EARLIEST_DAY
    for day in (today + timedelta(days=1), EARLIEST_DAY - timedelta(days=1)):
        with pytest.raises(ValidationError) as caught:
            DAY.validate_python(day.isoformat())
        error = caught.value.errors()[0]
        assert error["type"] == "date_out_of_range" and day.isoformat() in error["ctx"]["message_zh"]
