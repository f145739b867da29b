"""Working days at the turn of the year (D-CALENDAR) on Temporal's time-skipping server.

A publicity approved on 28 December 2026 runs into 2027, a year whose holiday notice no library here
has: it is counted Monday to Friday less the statutory holidays, ends on a working day, is marked
provisional with a task for the bureau to load the year, and the unit is listed when it ends. Once
the bureau loads the year and says so, the end is counted again from the notice.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from services.workflow.calendar_store import add_year, load_notices
from services.workflow.domain.calendar import Calendar, YearNotice, statutory_holidays
from tests.support.lifecycle import BUREAU, DISTRICT_STAFF, RULES, Bench, Unit, bench, facts, today
from tests.support.servers import Nats

USCC = "91110115MA04C2UX1E"
BEIJING = timedelta(hours=8)


def turn_of_the_year() -> date:
    """28 December 2026, or (should this run later) the next 28 December before a year without a notice."""
    calendar = Calendar(load_notices(RULES))
    year = today().year if today() < date(today().year, 12, 28) else today().year + 1
    while calendar.source(year + 1) != "provisional":
        year += 1
    return date(year, 12, 28)


async def skip_to(b: Bench, day: date) -> None:
    """Skip the server's clock to 10:00 Beijing time on ``day``."""
    target = datetime.combine(day, time(10), tzinfo=None) - BEIJING
    now = (await b.env.get_current_time()).replace(tzinfo=None)
    await b.skip((target - now).total_seconds() / 86400)


async def approved_on(b: Bench, day: date) -> Unit:
    unit = await b.start(USCC, first=facts("sub-1"))
    await unit.act("recommend", "recommend", DISTRICT_STAFF)
    await unit.wait_state("under_review")
    await skip_to(b, day)
    await unit.act("review", "approve", BUREAU)
    return unit


@pytest.fixture
async def rules(tmp_path: Path) -> Path:
    """A rules folder of the test's own: the bureau loads a year into it, never into the repository's."""
    folder = tmp_path / "rules"
    shutil.copytree(RULES / "calendar", folder / "calendar")
    return folder


@pytest.fixture
async def b(env: WorkflowEnvironment, nats: Nats, tmp_path: Path, rules: Path) -> AsyncIterator[Bench]:
    async with bench(env, nats, tmp_path, rules_dir=rules) as the_bench:
        yield the_bench


async def test_a_publicity_from_28_december_ends_on_a_working_day_and_the_unit_is_listed(b: Bench) -> None:
    start = turn_of_the_year()
    unit = await approved_on(b, start)
    s = await unit.wait_state("publicity")
    expected = Calendar(load_notices(RULES)).working_days_from(start, 5)
    assert expected.provisional and expected.missing_years == (start.year + 1,)
    assert s.publicity_ends_on == expected.last_day and s.publicity_provisional
    if start == date(2026, 12, 28):
        # Mon 28 – Thu 31 December, then not Friday 1 January (元旦, fixed by law) but Monday 4 January.
        assert s.publicity_ends_on == date(2027, 1, 4)
    end = s.publicity_ends_on
    assert end.weekday() < 5 and end not in statutory_holidays(end.year), "it ends on a working day"
    step = next(t for t in s.history if t.state == "publicity")
    assert "暂定" in step.reason and f"{start.year + 1} 年节假日安排尚未载入" in step.reason
    task = await unit.task("load_calendar")
    assert task.role == "bureau" and task.context["years"] == [start.year + 1] and task.due_at is not None
    await b.skip((end - start).days + 2)
    s = await unit.wait_state("listed")
    assert s.listed_on == end + timedelta(days=1), "listed the day after the last working day of publicity"


async def test_once_the_bureau_loads_the_year_the_end_is_counted_from_its_notice(b: Bench, rules: Path) -> None:
    start = turn_of_the_year()
    unit = await approved_on(b, start)
    s = await unit.wait_state("publicity")
    provisional_end = s.publicity_ends_on
    assert provisional_end is not None and s.publicity_provisional
    # A notice typed for this test only (NOT the State Council's): it also gives the Monday after 元旦 off.
    year = start.year + 1
    first_monday = next(date(year, 1, d) for d in range(1, 8) if date(year, 1, d).weekday() == 0)
    notice = YearNotice(
        year=year,
        source="测试用通知（非国务院通知）",
        holidays={"元旦": [date(year, 1, 1), first_monday]},
    )
    add_year(rules, notice)
    await unit.act("load_calendar", "loaded", BUREAU, reason="已按通知载入")
    s = await unit.wait(lambda s: not s.publicity_provisional, "the end counted again")
    assert s.state == "publicity" and s.publicity_ends_on is not None and s.publicity_ends_on > provisional_end
    assert s.publicity_ends_on == Calendar(load_notices(rules)).working_days_from(start, 5).last_day
    assert "重新计算" in s.history[-1].reason
    assert not [t for t in s.tasks if t.active and t.kind == "load_calendar"]
    await b.skip((s.publicity_ends_on - start).days + 2)
    await unit.wait_state("listed")
