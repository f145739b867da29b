"""Annual grading and the grade path (003 第四、十六、十九条; D-HOLD, D-EXPERT): a grade is published only
when complete, and a title holder below the floor must diagnose, renovate and re-evaluate in time."""

from __future__ import annotations

from datetime import datetime

from contracts.schemes import Designation
from services.workflow.domain.lifecycle.core import LifecycleCore
from services.workflow.domain.state import (
    SYSTEM,
    EvaluationFacts,
    GradePath,
    Rescored,
    SignalTitle,
    UnitCommand,
    UnitStateName,
)


class Grading(LifecycleCore):
    """Publishing grades, holding unfinished results, and the three-year grade path."""

    def _grade_kept(self) -> str:
        s = self.state
        if s.designation is not Designation.ANNUAL_GRADING or s.graded_on is None:
            return ""
        shown = f"{s.level}级" if s.level is not None else "无等级"
        return f"；已公布的分级结果（{shown}，{s.graded_on.isoformat()}）保持不变"

    def _return_incomplete(self, ev: EvaluationFacts, now: datetime, step: str) -> None:
        """D-HOLD: a result with missing inputs goes back to the enterprise and is never published."""
        s = self.state
        vetoed = [f"{v.clause}（{v.evidence}）" for v in ev.vetoes if not v.overridable]
        also = f"；另存在否决项：{'；'.join(vetoed)}" if vetoed else ""
        # A unit that already holds a state (graded, on the grade path) keeps it: the return is on its record.
        keep = s.designation is Designation.ANNUAL_GRADING and s.state not in ("new", "evaluation_failed", "returned")
        missing = "；".join(ev.missing_items)
        state: UnitStateName | None = None if keep else "returned"
        self._step(
            now, step, state, submission_id=ev.submission_id, missing=missing, also=also, kept=self._grade_kept()
        )

    def _cancel_expert_tasks(self) -> None:
        for t in self.state.tasks:
            if t.active and t.kind == "expert_score":
                self._close_task(t, "cancelled")

    @staticmethod
    def _grade_shown(ev: EvaluationFacts) -> str:
        """The published grade and, when there is none, the true reason."""
        if ev.level is not None:
            return f"{ev.level}级"
        binding = [f"{v.clause} {v.evidence}" for v in ev.vetoes if not v.overridable]
        if binding:
            return f"无等级（否决：{'；'.join(binding)}）"
        return f"无等级（{ev.verdict_zh or '评价结果暂定：缺少输入或待专家评定'}）"

    def _publish_grade(self, ev: EvaluationFacts, now: datetime) -> None:
        """003 第四、十九条: the grade is published, and the grade path (第十六条) follows it."""
        s = self.state
        sid = ev.submission_id
        s.level, s.graded_on = ev.level, self._today(now)
        shown = self._grade_shown(ev)
        floor = self.policy.thresholds.grade_path_min_level
        path = s.grade_path
        below = ev.level is None or ev.level < floor.value
        if path is not None:
            if not below:
                self._end_grade_path()
                self._step(now, "grade-path-completed", "graded", submission_id=sid, shown=shown, total=ev.total)
            elif path.renovated:
                self._step(now, "renovated-still-below", "grade_path", submission_id=sid, shown=shown)
                self._grade_path_failed(now, "renovated-still-below", shown=shown)
            else:
                self._step(now, "grade-path-continues", "grade_path", submission_id=sid, shown=shown)
            return
        if below and ev.holds_title:
            today = self._today(now)
            s.grade_path = GradePath(started_on=today, level=ev.level or 0)
            self._step(now, "grade-path-opened", "grade_path", submission_id=sid, shown=shown, total=ev.total)
            for key in ("diagnosis", "renovation", "re-evaluation"):
                self._oblige(key, now, today)
            return
        self._step(now, "graded", "graded", submission_id=sid, shown=shown, total=ev.total)

    def _end_grade_path(self) -> None:
        self.state.grade_path = None
        self.state.obligations = [
            o for o in self.state.obligations if o.deadline not in ("diagnosis", "renovation", "re-evaluation")
        ]
        for t in self.state.tasks:
            if t.active and t.kind == "followup" and t.context.get("deadline") in ("diagnosis", "renovation"):
                self._close_task(t, "cancelled")

    def _grade_path_failed(self, now: datetime, step: str, **fields: object) -> None:
        """003 第十六条: the grade path failed (why: the step ``step``); the title's workflow is told to revoke."""
        self._end_grade_path()
        why, _ = self._words(step, fields)
        self._step(now, "grade-path-revoked", "graded", why=why)
        self._effects.append(
            SignalTitle(
                designation=Designation.MUNICIPAL_GREEN_FACTORY,
                command=UnitCommand(
                    command="revoke", reason=why, ground="grade_path", actor=SYSTEM, source=self.state.workflow_id
                ),
            )
        )

    def on_rescored(self, r: Rescored, now: datetime) -> None:
        ev = self.state.evaluation
        assert ev is not None
        ev.total, ev.level, ev.passed, ev.provisional = r.total, r.level, r.passed, r.provisional
        ev.rulebook_version = r.rulebook_version or ev.rulebook_version
        for t in self.state.tasks:
            if t.active and t.kind == "review":
                t.context.update(self._evaluation_context())
                self._task_changed("updated", t)
        self._step(now, "rescored", total=r.total)
        if self.state.designation is Designation.ANNUAL_GRADING and self.state.state == "expert_review":
            self._publish_grade(ev, now)
