"""`greenfab calendar …`: the bureau's holiday notices (D-CALENDAR) from the command line."""

from __future__ import annotations

import sys
from datetime import date, timedelta
from pathlib import Path

from services.workflow.calendar_store import NoticeError, add_year, load_notices, read_notice
from services.workflow.domain.calendar import Calendar
from services.workflow.settings import REPO_RULES

SOURCE_ZH = {
    "bureau": "市局载入的通知（rules/calendar）",
    "library": "chinese-calendar",
    "provisional": "暂无通知：按周一至周五并扣除法定节假日计算（暂定）",
}


def cmd_add_year(path: Path, rules_dir: Path | None, replace: bool) -> int:
    """Check a year's notice (YAML or JSON) and keep it in rules/calendar/<year>.yaml."""
    try:
        notice = read_notice(path)
        target = add_year(rules_dir or REPO_RULES, notice, replace)
    except NoticeError as exc:
        print(f"greenfab calendar: {exc}", file=sys.stderr)
        return 2
    off, worked = len(notice.days_off), len(notice.days_worked)
    print(f"{notice.year}: {off} days off, {worked} weekend days worked ({notice.source}) → {target}")
    print("Units whose publicity was counted provisionally have a bureau task 载入节假日安排: decide `loaded`.")
    return 0


def cmd_show(year: int, rules_dir: Path | None) -> int:
    """Where a year's working days come from, and its days off and weekend days worked."""
    try:
        calendar = Calendar(load_notices(rules_dir or REPO_RULES))
    except NoticeError as exc:
        print(f"greenfab calendar: {exc}", file=sys.stderr)
        return 2
    if not 1949 <= year <= 2099:
        print(f"greenfab calendar: {year} is not a year this calendar counts (1949–2099)", file=sys.stderr)
        return 2
    print(f"{year}: {SOURCE_ZH[calendar.source(year)]}")
    day, end = date(year, 1, 1), date(year, 12, 31)
    off, worked = [], []
    while day <= end:
        working = calendar.is_working_day(day)
        if day.weekday() < 5 and not working:
            off.append(day.isoformat())
        elif day.weekday() >= 5 and working:
            worked.append(day.isoformat())
        day += timedelta(days=1)
    print("weekdays off: " + (", ".join(off) or "none"))
    print("weekend days worked: " + (", ".join(worked) or "none"))
    return 0
