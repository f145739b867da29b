"""The bureau's holiday notices on disk (rules/calendar/<year>.yaml): read them, add a year.

`greenfab calendar add-year FILE` checks a notice (every day in its year, worked days only on
weekends, no day both off and worked) and writes it beside the rulebooks; the calendar activity
reads the folder again whenever a file in it changed, so a loaded year counts from the next period
asked for, without a restart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from services.workflow.domain.calendar import Calendar, YearNotice


class NoticeError(ValueError):
    """A notice file that cannot be used, with the reason."""


def notice_from(raw: Any, where: str) -> YearNotice:
    try:
        return YearNotice.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'notice'}: {e['msg']}" for e in exc.errors())
        raise NoticeError(f"{where}: {problems}") from None


def read_notice(path: Path) -> YearNotice:
    """A notice from a YAML or JSON file."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise NoticeError(f"cannot read {path}: {exc}") from None
    return notice_from(raw, str(path))


def load_notices(rules_dir: Path) -> dict[int, YearNotice]:
    notices = {}
    for path in sorted((rules_dir / "calendar").glob("*.yaml")):
        notice = read_notice(path)
        if path.stem != str(notice.year):
            raise NoticeError(f"{path}: holds year {notice.year}; name it {notice.year}.yaml")
        notices[notice.year] = notice
    return notices


def add_year(rules_dir: Path, notice: YearNotice, replace: bool = False) -> Path:
    """Write ``notice`` as rules/calendar/<year>.yaml; an existing year only with ``replace``."""
    target = rules_dir / "calendar" / f"{notice.year}.yaml"
    if target.exists() and not replace:
        raise NoticeError(f"{target} exists: pass --replace to load the year again")
    body = {
        "year": notice.year,
        "source": notice.source,
        "holidays": {k: [d.isoformat() for d in v] for k, v in notice.holidays.items()},
        "working_days": {k: [d.isoformat() for d in v] for k, v in notice.working_days.items()},
    }
    header = f"# {notice.source}: bureau data (D-CALENDAR), added with `greenfab calendar add-year`.\n"
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(".yaml.tmp")
    temporary.write_text(header + yaml.safe_dump(body, allow_unicode=True, sort_keys=False), encoding="utf-8")
    temporary.replace(target)
    return target


class CalendarStore:
    """The calendar over a rules folder, read again when its notices change."""

    def __init__(self, rules_dir: Path) -> None:
        self._dir = rules_dir
        self._seen: tuple[tuple[str, float], ...] | None = None
        self._calendar = Calendar()

    def calendar(self) -> Calendar:
        files = tuple((p.name, p.stat().st_mtime) for p in sorted((self._dir / "calendar").glob("*.yaml")))
        if files != self._seen:
            self._calendar = Calendar(load_notices(self._dir))
            self._seen = files
        return self._calendar
