"""Working days across statutory holidays and adjusted working days (D-PUBLICITY, D-CALENDAR)."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import pytest
import yaml

from services.workflow import calendar_cli
from services.workflow.calendar_store import CalendarStore, NoticeError, load_notices, read_notice
from services.workflow.domain.calendar import Calendar, Period, YearNotice, statutory_holidays, working_days_from

RULES = Path(__file__).resolve().parents[2] / "rules"
BUREAU = Calendar(load_notices(RULES))
# A notice for 2027 as the bureau might type it: NOT the State Council's (which no library here has);
# made up for these tests only, and written to temporary folders, never to rules/.
NOTICE_2027 = {
    "year": 2027,
    "source": "测试用通知（非国务院通知）",
    "holidays": {"元旦": ["2027-01-01", "2027-01-02", "2027-01-03"], "春节": ["2027-02-05", "2027-02-06"]},
    "working_days": {"春节": ["2027-01-31"]},
}


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


def test_at_least_one_day() -> None:
    with pytest.raises(ValueError, match="at least one"):
        working_days_from(date(2025, 6, 9), 0)


def test_the_notices_in_rules_agree_with_chinese_calendar() -> None:
    notices = load_notices(RULES)
    assert {2025, 2026} <= set(notices)
    for year in notices:
        day = date(year, 1, 1)
        while day.year == year:
            assert BUREAU.is_working_day(day) == chinese_calendar.is_workday(day), day
            day += timedelta(days=1)
        assert BUREAU.source(year) == "bureau"


def test_2027_has_no_notice_in_any_library_here_so_it_stays_missing() -> None:
    """chinese-calendar 1.11.0 stops at 2026; `holidays` knows 2027's statutory days but no 调休."""
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2027, 3, 1))
    assert BUREAU.source(2027) == "provisional"
    assert date(2027, 1, 1) in statutory_holidays(2027) and date(2027, 2, 5) in statutory_holidays(2027)


def test_a_publicity_from_28_december_2026_runs_into_2027_provisionally_and_ends_on_a_working_day() -> None:
    # Mon 28 .. Thu 31 Dec 2026 (the notice's data), then 1 Jan 2027, New Year's Day by law, then Mon 4 Jan.
    period = BUREAU.working_days_from(date(2026, 12, 28), 5)
    assert period == Period(date(2027, 1, 4), provisional=True, missing_years=(2027,))
    assert period.last_day.weekday() < 5 and period.last_day not in statutory_holidays(2027)


def test_a_period_inside_known_years_is_not_provisional() -> None:
    assert BUREAU.working_days_from(date(2026, 12, 21), 5) == Period(date(2026, 12, 25))


def test_a_missing_year_counts_monday_to_friday_less_the_statutory_holidays() -> None:
    # 2027 Spring Festival by law: 除夕 5 Feb (Fri) to 初三 8 Feb (Mon); no adjusted days are guessed.
    period = BUREAU.working_days_from(date(2027, 2, 1), 5)
    assert period.last_day == date(2027, 2, 9) and period.provisional
    assert not BUREAU.is_working_day(date(2027, 2, 6)), "a Saturday stays a rest day without a notice"


def test_the_bureau_adds_a_year_and_its_notice_then_decides(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(RULES / "calendar", rules / "calendar")
    store = CalendarStore(rules)
    assert store.calendar().working_days_from(date(2026, 12, 28), 5).provisional
    notice = tmp_path / "2027.json"
    notice.write_text(yaml.safe_dump(NOTICE_2027, allow_unicode=True), encoding="utf-8")
    assert calendar_cli.cmd_add_year(notice, rules, replace=False) == 0
    assert "2027: 5 days off, 1 weekend days worked" in capsys.readouterr().out
    assert (rules / "calendar" / "2027.yaml").exists()
    # The store sees the new file without a restart.
    calendar = store.calendar()
    assert calendar.source(2027) == "bureau"
    assert calendar.working_days_from(date(2026, 12, 28), 5) == Period(date(2027, 1, 4))
    assert calendar.is_working_day(date(2027, 1, 31)), "the notice's adjusted Sunday is worked"
    assert calendar_cli.cmd_add_year(notice, rules, replace=False) == 2
    assert "exists" in capsys.readouterr().err
    assert calendar_cli.cmd_add_year(notice, rules, replace=True) == 0
    assert calendar_cli.cmd_show(2027, rules) == 0
    assert "市局载入" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"holidays": {"元旦": ["2026-01-01"]}}, "is not in 2027"),
        ({"working_days": {"春节": ["2027-02-01"]}}, "is a weekday"),
        ({"working_days": {"元旦": ["2027-01-02"]}}, "both a holiday and a working day"),
        ({"holidays": {}}, "at least one holiday"),
        ({"year": 9999}, "year"),
        ({"holidays": {"元旦": ["2027-02-30"]}}, "holidays"),
        ({"extra": 1}, "extra"),
    ],
)
def test_a_notice_that_cannot_be_is_refused_with_its_reason(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    path = tmp_path / "notice.yaml"
    path.write_text(yaml.safe_dump({**NOTICE_2027, **change}, allow_unicode=True), encoding="utf-8")
    with pytest.raises(NoticeError, match=message):
        read_notice(path)
    assert calendar_cli.cmd_add_year(path, tmp_path, replace=False) == 2
    assert not (tmp_path / "calendar").exists()


def test_a_notice_file_named_for_another_year_is_refused(tmp_path: Path) -> None:
    (tmp_path / "calendar").mkdir()
    (tmp_path / "calendar" / "2028.yaml").write_text(yaml.safe_dump(NOTICE_2027), encoding="utf-8")
    with pytest.raises(NoticeError, match=r"name it 2027\.yaml"):
        load_notices(tmp_path)


def test_the_notice_model_is_what_the_files_hold() -> None:
    raw = yaml.safe_load((RULES / "calendar" / "2026.yaml").read_text(encoding="utf-8"))
    assert YearNotice.model_validate(raw).year == 2026
