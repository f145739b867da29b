"""Notices about a unit (003 第十四、十六、十七条; D-PUBLICITY): objections, diagnosis and renovation
reports, name changes, major adjustments and district reports."""

from __future__ import annotations

from datetime import date, datetime

from contracts import labels
from services.workflow.domain.lifecycle.states import HOLDS_TITLE, STATE_ZH
from services.workflow.domain.lifecycle.titles import Titles
from services.workflow.domain.state import NoticeFacts


class Notices(Titles):
    """What each kind of notice does, and whether it came in time."""

    def on_notice(self, n: NoticeFacts, now: datetime) -> None:
        s = self.state
        if n.notice_id in s.notices:
            return
        s.notices.append(n.notice_id)
        if n.kind == "objection":
            self._notice_objection(n, now)
        elif n.kind in ("diagnosis", "renovation"):
            self._notice_grade_path_report(n, now)
        elif s.state not in HOLDS_TITLE:
            kind = labels.zh(labels.NOTICE_KIND_ZH, n.kind)
            self._step(now, "notice-without-title", None, n.actor, kind=kind, state_zh=STATE_ZH[s.state])
        elif n.kind == "rename":
            self._notice_rename(n, now)
        elif n.kind == "major_adjustment":
            self._notice_major_adjustment(n, now)
        elif n.kind == "district_report":
            self._notice_district_report(n, now)

    def _notice_objection(self, n: NoticeFacts, now: datetime) -> None:
        """D-PUBLICITY: an objection during publicity holds listing until the bureau resolves it."""
        s = self.state
        if s.state in ("publicity", "objection_review"):
            s.objections_open += 1
            self._open_task("resolve_objection", now, {"notice_id": n.notice_id, "reason": n.data.get("reason")})
            self._step(now, "objection-in-publicity", "objection_review", n.actor)
        else:
            self._step(now, "objection-out-of-publicity", None, n.actor, state_zh=STATE_ZH[s.state])

    def _notice_grade_path_report(self, n: NoticeFacts, now: datetime) -> None:
        """003 第十六条: a diagnosis or renovation report meets that step of the grade path."""
        path = self.state.grade_path
        if path is None:
            unasked = "diagnosis-unasked" if n.kind == "diagnosis" else "renovation-unasked"
            self._step(now, unasked, None, n.actor)
            return
        if n.kind == "diagnosis":
            path.diagnosed = True
        else:
            path.renovated = True
        self._release(n.kind)
        name = self.policy.deadlines[n.kind].name_zh
        completed = n.data.get("completed_on")
        self._step(now, "grade-path-step-done", None, n.actor, name=name, completed=completed, deadline=n.kind)

    def _notice_rename(self, n: NoticeFacts, now: datetime) -> None:
        """003 第十四条: a name change, filed (in time or late) for the district to forward."""
        d = n.data
        completed, due, late, timing = self._filed("rename", d, self._today(now))
        context: dict[str, object] = {
            "old_name": d.get("old_name"),
            "new_name": d.get("new_name"),
            "completed_on": str(completed),
            "late_days": late,
        }
        task = self._open_task("rename", now, context)
        old_name, new_name, due_on = d.get("old_name"), d.get("new_name"), due.isoformat()
        self._step(
            now, "rename-filed", None, n.actor, task, old_name=old_name, new_name=new_name, timing=timing, due=due_on
        )

    def _notice_major_adjustment(self, n: NoticeFacts, now: datetime) -> None:
        """003 第十四条: a major adjustment asks for a re-check."""
        d = n.data
        _, _, late, timing = self._filed("major-adjustment", d, self._today(now))
        self._start_recheck(
            now,
            n.actor,
            "recheck-on-major-adjustment",
            {"trigger": "major_adjustment", "adjustment": d.get("adjustment"), "late_days": late},
            adjustment=d.get("adjustment"),
            timing=timing,
        )

    def _notice_district_report(self, n: NoticeFacts, now: datetime) -> None:
        """003 第十七条: the district reports a change; a name or business change opens its own deadline."""
        d = n.data
        finding = str(d.get("finding"))
        observed = date.fromisoformat(str(d["observed_on"]))
        task = self._open_task(
            "district_report", now, {"finding": finding, "observed_on": str(observed), "details": d.get("details")}
        )
        self._step(now, "district-reported", None, n.actor, task, finding=finding)
        follow = {"name_change": "rename", "main_business_change": "major-adjustment"}.get(finding)
        if follow:
            self._oblige(follow, now, observed, note=f"区级报告 {observed.isoformat()}")

    def _filed(self, deadline: str, d: dict[str, object], today: date) -> tuple[date, date, int, str]:
        """A notice filed ``deadline`` days after completing a change: met, and how late (第十四条)."""
        completed = date.fromisoformat(str(d["completed_on"]))
        due = self.policy.deadlines[deadline].due_day(completed)
        late = (today - due).days
        self._release(deadline)
        return completed, due, max(late, 0), f"逾期 {late} 天" if late > 0 else "按期"
