"""A declaration's evaluation arriving (003 第八条): accepted into review, refused, returned, or graded."""

from __future__ import annotations

from datetime import datetime

from contracts.schemes import Designation
from services.workflow.domain.lifecycle.grading import Grading
from services.workflow.domain.lifecycle.states import HOLDS_TITLE, IN_PROGRESS, STATE_ZH
from services.workflow.domain.state import EvaluationFacts


class Declarations(Grading):
    """What an evaluation result does to the unit, and the district it belongs to."""

    def on_evaluation(self, ev: EvaluationFacts, now: datetime) -> None:
        s = self.state
        if ev.submission_id in s.submissions:
            return  # a redelivered event: one declaration counts once
        s.submissions.append(ev.submission_id)
        if self.orders_declarations and self.superseded(ev):
            # Scoring finishes declarations in any order; the one the enterprise made last decides (D-LATEST).
            assert s.latest_submitted_at is not None and ev.submitted_at is not None
            self._step(
                now,
                "declaration-superseded",
                submission_id=ev.submission_id,
                sid=ev.submission_id,
                made=self._local_time(ev.submitted_at),
                latest=self._local_time(s.latest_submitted_at),
            )
            return
        if ev.submitted_at is not None:
            s.latest_submitted_at = max(ev.submitted_at, s.latest_submitted_at or ev.submitted_at)
        if self.keeps_registered_name and self.declared_under_another_name(ev):
            self._step(
                now, "declared-under-another-name", submission_id=ev.submission_id, declared=ev.enterprise_name,
                name=s.enterprise_name,
            )  # fmt: skip
        else:
            s.enterprise_name = ev.enterprise_name or s.enterprise_name
        if s.designation is Designation.ANNUAL_GRADING:
            self._on_grading(ev, now)
            return
        if self._refused(ev, now):
            return
        assert ev.call is not None  # a declaration without an open call is refused
        if self.holds_unfinished and ev.missing_items:
            self._return_incomplete(ev, now, "declaration-returned")
            return
        s.cycle += 1
        s.evaluation = ev
        s.expert_points = {}
        s.revoked_ground = None
        s.publicity_ends_on = None
        s.objections_open = 0
        self._step(now, "awaiting-recommendation", "awaiting_recommendation", total=ev.total, call=ev.call.title)
        if not self._district_disputed(ev, now):
            self._open_task("recommend", now, self._evaluation_context())

    def _local_time(self, at: datetime) -> str:
        """A moment as people in Beijing read it in a unit's history: 2026-12-04 09:31:05."""
        return at.astimezone(self.policy.tz).strftime("%Y-%m-%d %H:%M:%S")

    def declared_under_another_name(self, ev: EvaluationFacts) -> bool:
        """Whether a unit that already has its name (a declaration applied, or listed) is declared under another."""
        s = self.state
        return s.state != "new" and bool(ev.enterprise_name) and ev.enterprise_name != s.enterprise_name

    def superseded(self, ev: EvaluationFacts) -> bool:
        """Whether ``ev`` is of a declaration intake accepted before the latest one this unit applied."""
        latest = self.state.latest_submitted_at
        return ev.submitted_at is not None and latest is not None and ev.submitted_at < latest

    def _refused(self, ev: EvaluationFacts, now: datetime) -> bool:
        """Record why a title declaration is not taken up, if it is not (003 第八条, 第十五、十八条 bans)."""
        s = self.state
        sid = ev.submission_id
        today = self._today(now)
        if s.state in IN_PROGRESS:
            self._step(now, "declared-while-in-progress", submission_id=sid, state_zh=STATE_ZH[s.state], sid=sid)
            return True
        if s.state in HOLDS_TITLE:
            self._step(now, "declared-while-listed", submission_id=sid, sid=sid)
            return True
        if s.banned_until is not None and today <= s.banned_until:
            until = s.banned_until.isoformat()
            self._step(now, "declared-while-banned", "declaration_refused", submission_id=sid, until=until, sid=sid)
            return True
        if ev.error:
            self._step(now, "evaluation-failed", "evaluation_failed", submission_id=sid, error=ev.error)
            return True
        if ev.evaluator_banned_until is not None and today <= ev.evaluator_banned_until:
            until, evaluator = ev.evaluator_banned_until.isoformat(), ev.evaluator_uscc
            self._step(
                now, "evaluator-banned", "declaration_refused", submission_id=sid, evaluator=evaluator, until=until
            )
            return True
        if ev.call is None:
            self._step(now, "declared-without-call", "declaration_refused", submission_id=sid)
            return True
        return False

    def _district_disputed(self, ev: EvaluationFacts, now: datetime) -> bool:
        """A unit's district is the one it declared in (and the pool it was cultivated in). When the
        declaration, the pool or the unit's earlier district disagree, the bureau decides: never a silent
        choice. A title's recommendation waits for that decision, so no district acts on another's unit."""
        s = self.state
        candidates = list(dict.fromkeys(d for d in (s.district, ev.declared_district, ev.pool_district) if d))
        if len(candidates) < 2:
            return False
        sources = {"unit": s.district, "declared": ev.declared_district, "pool": ev.pool_district}
        task = self._open_task(
            "confirm_district", now, {**sources, "submission_id": ev.submission_id}, decisions=candidates
        )
        declared, pool = ev.declared_district or "—", ev.pool_district or "—"
        self._step(now, "district-disputed", task=task, unit=s.district, declared=declared, pool=pool)
        return True

    def _on_grading(self, ev: EvaluationFacts, now: datetime) -> None:
        s = self.state
        sid = ev.submission_id
        if ev.error:
            self._step(now, "grading-failed", "evaluation_failed", submission_id=sid, error=ev.error)
            return
        self._district_disputed(ev, now)
        if self.holds_unfinished and ev.missing_items:
            self._return_incomplete(ev, now, "grading-returned")
            return
        s.cycle += 1
        s.evaluation = ev
        if self.holds_unfinished:
            self._cancel_expert_tasks()
            s.expert_points = {}
            if ev.expert_items and not any(not v.overridable for v in ev.vetoes):
                items = "、".join(f"{i.id} {i.name_zh}" for i in ev.expert_items)
                self._step(
                    now,
                    "grading-awaits-experts",
                    "expert_review",
                    submission_id=sid,
                    items=items,
                    kept=self._grade_kept(),
                )
                for item in ev.expert_items:
                    self._open_task("expert_score", now, {"submission_id": sid, "item": item.id}, item)
                return
        self._publish_grade(ev, now)
