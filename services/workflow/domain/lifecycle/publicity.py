"""Publicity and listing (003 第八、十条; D-PUBLICITY, D-CALENDAR): the period the calendar counts, its end,
and listing, whether after publicity or automatically from the national list."""

from __future__ import annotations

from datetime import date, datetime

from contracts.envelope import Actor
from services.workflow.domain.lifecycle.core import LifecycleCore
from services.workflow.domain.lifecycle.refusal import ActionRefused
from services.workflow.domain.lifecycle.states import HOLDS_TITLE
from services.workflow.domain.state import SYSTEM, PeriodNeeded


class Publicity(LifecycleCore):
    """The publicity period and listing."""

    def on_period(
        self,
        p: PeriodNeeded,
        last_day: date,
        now: datetime,
        provisional: bool = False,
        missing_years: tuple[int, ...] | list[int] = (),
    ) -> None:
        """The calendar answered: publicity runs to ``last_day`` (provisional when a year had no notice)."""
        assert p.deadline == "publicity"
        s = self.state
        d = self.policy.deadlines["publicity"]
        years = "、".join(str(y) for y in missing_years)
        guess = (
            f"（暂定：{years} 年节假日安排尚未载入，按周一至周五并扣除法定节假日计算，已请市经济和信息化局载入）"
            if provisional
            else ""
        )
        if p.recompute:
            if s.state not in ("publicity", "objection_review") or s.publicity_ends_on is None:
                self._step(now, "calendar-after-publicity", None, p.actor)
                return
            s.publicity_ends_on, s.publicity_provisional = last_day, provisional
            self._step(now, "publicity-recounted", None, p.actor, last_day=last_day.isoformat(), guess=guess)
        else:
            s.publicity_ends_on, s.publicity_provisional = last_day, provisional
            days, until = d.working_days, last_day.isoformat()
            self._step(now, "publicity-started", "publicity", p.actor, days=days, last_day=until, guess=guess)
        if provisional:
            context: dict[str, object] = {
                "deadline": p.deadline,
                "start": p.start.isoformat(),
                "years": list(missing_years),
                "provisional_end": last_day.isoformat(),
            }
            self._open_task("load_calendar", now, context)

    def _publicity_over(self, now: datetime) -> None:
        self._list(now, "listed-after-publicity")

    def _list(self, now: datetime, step: str, actor: Actor = SYSTEM, **fields: object) -> None:
        s = self.state
        s.listed_on = self._today(now)
        s.publicity_ends_on = None
        text, basis = self._words(step, fields)
        self._move(now, "listed", text, basis, actor)

    # ----- auto-listing ---------------------------------------------------------------------

    def auto_list(self, now: datetime, actor: Actor, reason: str) -> None:
        """第十条: a unit on the national list with its plant in Beijing is on the municipal list."""
        if self.state.state in HOLDS_TITLE:
            raise ActionRefused(409, "already_listed", "单位已在名单中", "already listed")
        self.state.national = "listed"
        self._list(now, "listed-from-national-list", actor, reason=reason)
