"""Staff on tasks: who may claim and decide a task, what each decision needs, and what it does."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import ClassVar

from contracts import labels
from contracts.envelope import Actor
from contracts.schemes import Designation
from services.workflow.domain.lifecycle.publicity import Publicity
from services.workflow.domain.lifecycle.refusal import ActionRefused
from services.workflow.domain.lifecycle.states import NATIONAL_STATE, STATE_ZH
from services.workflow.domain.lifecycle.titles import Titles
from services.workflow.domain.state import (
    NationalOutcome,
    PeriodNeeded,
    RescoreNeeded,
    SignalTitle,
    Task,
    TaskAction,
    TaskClaim,
    TaskKind,
    UnitCommand,
)


def _decision_with_id(decision: str, task_kind: str) -> str:
    """推荐（recommend）: the name people read, and the value an API caller must send."""
    name = labels.decision_zh(decision, task_kind)
    return f"{name}（{decision}）" if name != decision else decision


class StaffActions(Titles, Publicity):
    """Claims and decisions on the unit's tasks."""

    def check_claim(self, c: TaskClaim) -> Task:
        task = self._task(c.task_id)
        self._may_act(task, c.actor)
        if c.release and task.claimed_by != c.actor.subject:
            raise ActionRefused(409, "not_claimed_by_you", "该事项未由您认领", "the task is not claimed by you")
        return task

    def claim(self, c: TaskClaim, now: datetime) -> Task:
        task = self.check_claim(c)
        task.status, task.claimed_by = ("open", None) if c.release else ("claimed", c.actor.subject)
        self._task_changed("released" if c.release else "claimed", task, c.actor)
        return task

    def _may_act(self, task: Task, actor: Actor) -> None:
        if not task.active:
            raise ActionRefused(409, "task_closed", "该事项已办结", f"task {task.id} is {task.status}")
        on_behalf = actor.role == "bureau" and task.escalated
        if actor.role != task.role and not on_behalf:
            raise ActionRefused(
                403,
                "wrong_role",
                f"该事项须由{labels.zh(labels.ROLE_ZH, task.role)}办理",
                f"task {task.id} is for role {task.role}",
            )
        if task.role == "district" and not on_behalf and actor.scope != task.district:
            raise ActionRefused(
                403,
                "wrong_district",
                f"该事项属于{task.district}，您无权办理",
                f"task {task.id} belongs to district {task.district}",
            )
        if task.status == "claimed" and task.claimed_by != actor.subject:
            raise ActionRefused(
                409,
                "task_claimed",
                f"该事项已由 {task.claimed_by} 认领",
                f"task {task.id} is claimed by {task.claimed_by}",
            )

    def check_action(self, a: TaskAction) -> Task:
        task = self._task(a.task_id)
        self._may_act(task, a.actor)
        if a.decision not in task.decisions:
            raise ActionRefused(
                422,
                "bad_decision",
                f"决定须为 {'、'.join(_decision_with_id(d, task.kind) for d in task.decisions)} 之一",
                f"decision must be one of {task.decisions}",
            )
        spec = self.policy.tasks[task.kind]
        reason = (a.reason or "").strip()
        if a.decision in spec.reason_required and not reason:
            raise ActionRefused(422, "reason_required", "该决定须填写理由", f"{task.kind}/{a.decision} needs a reason")
        if a.decision in spec.revoking:
            self._check_ground(a.ground)
        needs = self._reason_needed(task, a)
        if needs and not reason:
            raise ActionRefused(
                422,
                "reason_required",
                f"原则性要求未满足，须填写理由：{needs}",
                f"an 'in principle' rule is not met, give a reason: {needs}",
            )
        return task

    def _reason_needed(self, task: Task, a: TaskAction) -> str:
        """Why this decision needs a reason under an 'in principle' rule (or refuse it outright)."""
        ev = self.state.evaluation
        if task.kind == "recommend" and a.decision == "recommend" and ev and not ev.in_pool:
            return "申报单位原则上应纳入区级培育名单（003 第八条）"
        if task.kind == "expert_score":
            assert task.item is not None
            if a.points is None or not (0 <= a.points <= task.item.max):
                raise ActionRefused(
                    422,
                    "bad_points",
                    f"分值须在 0 至 {task.item.max} 之间",
                    f"points must be within 0..{task.item.max}",
                )
        if task.kind == "review" and a.decision == "approve" and ev is not None:
            if any(t.active and t.kind == "expert_score" for t in self.state.tasks):
                raise ActionRefused(409, "experts_pending", "专家评分尚未完成", "expert items are still being scored")
            binding = [v for v in ev.vetoes if not v.overridable]
            if binding:
                raise ActionRefused(
                    409,
                    "vetoed",
                    "存在否决项：" + "；".join(f"{v.clause} {v.evidence}" for v in binding),
                    "a veto applies",
                )
            if ev.passed is False:
                raise ActionRefused(
                    409, "not_passed", "评价未通过（基本要求未满足或总分不足）", "the evaluation did not pass"
                )
            if ev.provisional:
                raise ActionRefused(
                    409, "provisional", "评价结果仍为暂定（有缺项）", "the evaluation is still provisional"
                )
            why = [f"{v.clause} {v.evidence}" for v in ev.vetoes if v.overridable]
            if self.state.designation is Designation.MUNICIPAL_GREEN_FACTORY:
                floor = self.policy.thresholds.municipal_min_level
                if ev.latest_grade is None or ev.latest_grade < floor.value:
                    why.append(f"工厂绿色分级为 {ev.latest_grade or '未评'}（{floor.basis}）")
            return "；".join(why)
        return ""

    def act(self, a: TaskAction, now: datetime) -> Task:
        task = self.check_action(a)
        task.decision, task.reason, task.points = a.decision, a.reason, a.points
        task.decided_by, task.decided_at = a.actor, now
        self._close_task(task)
        if a.decision in self.policy.tasks[task.kind].revoking:
            assert a.ground is not None  # check_action refused a revoking decision without one
            self._revoke(now, a.ground, a.reason or "", a.actor, task)
        else:
            self._ON_DECISION[task.kind](self, task, a, now)
        return task

    # ----- what each decision does ----------------------------------------------------------

    def _on_recommend(self, task: Task, a: TaskAction, now: datetime) -> None:
        if a.decision == "decline":
            self._step(now, "recommendation-declined", "not_recommended", a.actor, task, reason=a.reason)
            return
        if a.reason:
            self._step(now, "recommended-with-reason", "under_review", a.actor, task, reason=a.reason)
        else:
            self._step(now, "recommended", "under_review", a.actor, task)
        ev = self.state.evaluation
        assert ev is not None
        for item in ev.expert_items:
            self._open_task("expert_score", now, {"submission_id": ev.submission_id, "item": item.id}, item)
        self._open_task("review", now, self._evaluation_context())

    def _on_expert_score(self, task: Task, a: TaskAction, now: datetime) -> None:
        assert task.item is not None and a.points is not None
        self.state.expert_points[task.item.id] = a.points
        item = task.item
        self._step(
            now,
            "expert-scored",
            None,
            a.actor,
            task,
            item=item.id,
            item_name=item.name_zh,
            points=a.points,
            reason=a.reason,
        )
        if not any(t.active and t.kind == "expert_score" for t in self.state.tasks):
            ev = self.state.evaluation
            assert ev is not None
            self._effects.append(
                RescoreNeeded(submission_id=ev.submission_id, expert_points=dict(self.state.expert_points))
            )

    def _on_review(self, task: Task, a: TaskAction, now: datetime) -> None:
        if a.decision == "reject":
            self._cancel_tasks()
            self._step(now, "review-rejected", "rejected", a.actor, task, reason=a.reason)
            return
        if a.reason:
            self._step(now, "approved-in-principle", None, a.actor, task, reason=a.reason)
        self._effects.append(PeriodNeeded(deadline="publicity", start=self._today(now), actor=a.actor))

    def _on_resolve_objection(self, task: Task, a: TaskAction, now: datetime) -> None:
        s = self.state
        if a.decision == "uphold":
            s.objections_open = 0
            self._cancel_tasks()
            s.publicity_ends_on = None
            self._step(now, "objection-upheld", "rejected", a.actor, task, reason=a.reason)
            return
        s.objections_open -= 1
        self._step(now, "objection-dismissed", None, a.actor, task, reason=a.reason)
        if s.objections_open == 0:
            ended = s.publicity_ends_on is not None and self._today(now) > s.publicity_ends_on
            if ended:
                self._list(now, "listed-after-objections", a.actor)
            else:
                self._step(now, "publicity-resumed", "publicity", a.actor, task)

    def _on_review_listed(self, task: Task, a: TaskAction, now: datetime) -> None:
        self._step(now, "recheck-passed", "listed", a.actor, task, reason=a.reason)  # a revoking decision: see act

    def _on_followup(self, task: Task, a: TaskAction, now: datetime) -> None:
        self._step(now, "urged", None, a.actor, task, reason=a.reason)  # a revoking decision: see act

    def _on_rename(self, task: Task, a: TaskAction, now: datetime) -> None:
        if a.decision == "decline":
            self._step(now, "rename-declined", None, a.actor, task, reason=a.reason)
            return
        follow = self._open_task("approve_rename", now, dict(task.context))
        self._step(now, "rename-forwarded", None, a.actor, follow)

    def _on_approve_rename(self, task: Task, a: TaskAction, now: datetime) -> None:
        if a.decision == "reject":
            self._step(now, "rename-rejected", None, a.actor, task, reason=a.reason)
            return
        self.state.enterprise_name = str(task.context.get("new_name"))
        self._step(now, "renamed", None, a.actor, task, name=self.state.enterprise_name)

    def _on_district_report(self, task: Task, a: TaskAction, now: datetime) -> None:
        if a.decision == "no_action":
            self._step(now, "district-report-closed", None, a.actor, task, reason=a.reason)
            return
        self._start_recheck(
            now,
            a.actor,
            "recheck-on-district-report",
            {"trigger": "district_report", **task.context},
            finding=task.context.get("finding"),
        )

    def _on_confirm_district(self, task: Task, a: TaskAction, now: datetime) -> None:
        s = self.state
        old, s.district = s.district, a.decision
        if s.district == old:
            if a.reason:
                self._step(now, "district-kept-with-reason", None, a.actor, task, district=old, reason=a.reason)
            else:
                self._step(now, "district-kept", None, a.actor, task, district=old)
        else:
            if a.reason:
                self._step(
                    now,
                    "district-changed-with-reason",
                    None,
                    a.actor,
                    task,
                    district=s.district,
                    old=old,
                    reason=a.reason,
                )
            else:
                self._step(now, "district-changed", None, a.actor, task, district=s.district, old=old)
            for t in s.tasks:
                if t.active and t.role == "district":
                    t.district = s.district
                    self._task_changed("updated", t)
        if s.evaluation is not None:
            s.evaluation.in_pool = s.evaluation.pool_district == s.district
        recommending = any(t.active and t.kind == "recommend" for t in s.tasks)
        if s.state == "awaiting_recommendation" and not recommending:
            self._open_task("recommend", now, self._evaluation_context())

    def _on_miit_request(self, task: Task, a: TaskAction, now: datetime) -> None:
        self._step(now, "miit-requested", None, a.actor, task)

    def _on_national_outcome(self, task: Task, a: TaskAction, now: datetime) -> None:
        outcome: NationalOutcome = "listed" if a.decision == "listed" else "not_listed"
        self.state.national = outcome
        self._move(now, NATIONAL_STATE[outcome], STATE_ZH[NATIONAL_STATE[outcome]], task.clause, a.actor, task)
        # The municipal title's workflow records it too: revoking that title must then ask MIIT (第十三条).
        command = UnitCommand(
            command="record_national", outcome=outcome, reason=a.reason, actor=a.actor, source=self.state.workflow_id
        )
        self._effects.append(
            SignalTitle(designation=Designation.MUNICIPAL_GREEN_FACTORY, command=command, clause=task.clause)
        )

    def _on_load_calendar(self, task: Task, a: TaskAction, now: datetime) -> None:
        reason = (a.reason or "").rstrip("：")
        if reason:
            self._step(now, "calendar-loaded-with-reason", None, a.actor, task, reason=reason)
        else:
            self._step(now, "calendar-loaded", None, a.actor, task)
        start = date.fromisoformat(str(task.context["start"]))
        self._effects.append(
            PeriodNeeded(deadline=str(task.context["deadline"]), start=start, actor=a.actor, recompute=True)
        )

    # What each kind of task does once decided, spelled out (a unit test checks that every kind has its entry).
    _ON_DECISION: ClassVar[dict[TaskKind, Callable[[StaffActions, Task, TaskAction, datetime], None]]] = {
        "recommend": _on_recommend,
        "expert_score": _on_expert_score,
        "review": _on_review,
        "resolve_objection": _on_resolve_objection,
        "review_listed": _on_review_listed,
        "rename": _on_rename,
        "approve_rename": _on_approve_rename,
        "district_report": _on_district_report,
        "miit_request": _on_miit_request,
        "national_outcome": _on_national_outcome,
        "followup": _on_followup,
        "confirm_district": _on_confirm_district,
        "load_calendar": _on_load_calendar,
    }
