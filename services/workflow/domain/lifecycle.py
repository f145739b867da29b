"""A unit's lifecycle (003 chapters 3–4) as a pure state machine.

Inputs (evaluations, notices, staff actions, commands, the clock) change the `UnitState` and queue
effects (transitions, task changes, deadline events, requests to the calendar or scoring, signals
to the unit's other workflows) that the workflow carries out through activities. Nothing here does
I/O or reads a clock: ``now`` is always given, so the same inputs give the same result on replay.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import ClassVar, TypeVar, cast

from contracts.envelope import Actor
from contracts.schemes import Designation
from services.workflow.domain.policy import Policy, add_years
from services.workflow.domain.state import (
    SYSTEM,
    DeadlineFired,
    Effect,
    EvaluationFacts,
    ExpertItem,
    Fault,
    GradePath,
    NationalOutcome,
    NoticeFacts,
    Obligation,
    PeriodNeeded,
    Rescored,
    RescoreNeeded,
    SignalTitle,
    StartNational,
    Task,
    TaskAction,
    TaskChanged,
    TaskClaim,
    TaskKind,
    Transition,
    Transitioned,
    UnitCommand,
    UnitState,
    UnitStateName,
    checkpoint,
)
from services.workflow.domain.tasks import REVOKING, TASKS

STATE_ZH: dict[UnitStateName, str] = {
    "new": "新建",
    "declaration_refused": "申报不予受理",
    "evaluation_failed": "评价失败",
    "awaiting_recommendation": "待区级推荐",
    "not_recommended": "区级未推荐",
    "under_review": "市级评审中",
    "rejected": "未通过",
    "publicity": "公示中",
    "objection_review": "公示异议处理中",
    "listed": "已入围",
    "under_recheck": "复核中",
    "revoked": "已撤销",
    "graded": "已分级",
    "grade_path": "未达三级整改中",
    "national_recommended": "已推荐国家级，待工业和信息化部评定",
    "national_listed": "已入围国家级绿色工厂名单",
    "national_not_listed": "未入围国家级绿色工厂名单",
    "returned": "退回补充",
    "expert_review": "专家评定中",
}
NATIONAL_STATE: dict[NationalOutcome, UnitStateName] = {
    "listed": "national_listed",
    "not_listed": "national_not_listed",
}


def state_zh(name: str) -> str:
    """A state's Chinese name; a name this version does not know (an old stored row) is shown as it is."""
    return STATE_ZH.get(cast("UnitStateName", name), name)


IN_PROGRESS = {"awaiting_recommendation", "under_review", "publicity", "objection_review"}
HOLDS_TITLE = {"listed", "under_recheck"}
PUBLICITY_END = "publicity-end"
T = TypeVar("T")


class ActionRefused(Exception):
    """An action that may not happen: nothing changed. ``status`` is the HTTP status it maps to."""

    def __init__(self, status: int, code: str, message_zh: str, message_en: str) -> None:
        super().__init__(f"{code}: {message_en}")
        self.status, self.code, self.message_zh, self.message_en = status, code, message_zh, message_en


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


class Lifecycle:
    """The rules of 003 chapters 3–4 over one unit's state."""

    def __init__(self, state: UnitState, policy: Policy) -> None:
        self.state = state
        self.policy = policy
        self._effects: list[Effect] = []
        # D-HOLD: a result with missing inputs is returned to the enterprise, one awaiting experts is held until
        # they score; neither is published. Workflows recorded before this rule replay with it off (workflows.py).
        self.holds_unfinished = True

    # ----- plumbing -------------------------------------------------------------------------

    def drain(self) -> list[Effect]:
        out, self._effects = self._effects, []
        return out

    # ----- inputs it cannot apply -------------------------------------------------------------
    # An input is applied whole or not at all. One that fails on its data (a date past the calendar's
    # end, a state it does not fit) leaves the state as it was and is recorded as a fault, so a bad
    # input can never stop the unit: the workflow goes on waiting for the next one.

    def apply_whole(self, now: datetime, what: str, change: Callable[[], T]) -> T | Fault:
        """Apply ``change`` and return its result; if it fails, restore the state and return the recorded fault.

        A refusal (ActionRefused) is the caller's to answer and passes through, with the state restored.
        """
        state, effects = checkpoint(self.state), list(self._effects)
        try:
            result = change()
            self.next_alarm()  # the unit must still be one the workflow can wait on
        except ActionRefused:
            self.state, self._effects = state, effects
            raise
        except Exception as exc:  # noqa: BLE001 - any failure on the input's data refuses that input
            self.state, self._effects = state, effects
            return self.fault(now, what, exc)
        return result

    def trial(self, change: Callable[[Lifecycle], object]) -> None:
        """Raise ActionRefused if ``change`` could not be applied, changing nothing (update validators)."""
        rehearsal = Lifecycle(checkpoint(self.state), self.policy)
        try:
            change(rehearsal)
            rehearsal.next_alarm()
        except ActionRefused:
            raise
        except Exception as exc:
            raise ActionRefused(
                422, "cannot_apply", f"该操作无法执行：{_describe(exc)}", f"this cannot be applied: {_describe(exc)}"
            ) from exc

    def fault(self, now: datetime, what: str, exc: Exception) -> Fault:
        """Record an input that could not be applied, on the unit and in its timeline."""
        fault = Fault(at=now, input=what, error=_describe(exc))
        self.state.faults.append(fault)
        self._move(now, None, f"无法处理 {what}，已拒收，未作任何变更：{fault.error}", "系统校验（输入无法处理）")
        return fault

    def discard_due_alarms(self, now: datetime) -> None:
        """Mark every alarm due by ``now`` as fired without acting on it (after firing them failed)."""
        for at, label, ob, _ in self._alarms():
            if at > now:
                break
            if ob is not None:
                ob.fired.append(label)
            elif label == PUBLICITY_END:
                self.state.publicity_ends_on = None

    def _today(self, now: datetime) -> date:
        return self.policy.local_day(now)

    def _move(
        self,
        now: datetime,
        state: UnitStateName | None,
        reason: str,
        clause: str,
        actor: Actor = SYSTEM,
        task: Task | None = None,
        submission_id: str | None = None,
    ) -> None:
        """Record a step; ``state`` None records a note that leaves the state as it is."""
        s = self.state
        changed = state is not None and state != s.state
        if state is not None:
            s.state = state
        s.seq += 1
        ev = s.evaluation
        step = Transition(
            seq=s.seq,
            at=now,
            state=s.state,
            state_changed=changed,
            reason=reason,
            clause=clause,
            actor=actor,
            submission_id=submission_id or (ev.submission_id if ev else None),
            total=str(ev.total) if ev and ev.total is not None else None,
            task_id=task.id if task else None,
        )
        s.history.append(step)
        self._effects.append(Transitioned(transition=step))

    def _open_task(
        self,
        kind: TaskKind,
        now: datetime,
        context: dict[str, object],
        item: ExpertItem | None = None,
        decisions: list[str] | None = None,
    ) -> Task:
        spec = TASKS[kind]
        s = self.state
        s.task_seq += 1
        task = Task(
            id=f"{s.workflow_id}.t{s.task_seq}",
            kind=kind,
            title_zh=spec.title_zh,
            role=spec.role,
            district=s.district if spec.role == "district" else None,
            opened_at=now,
            decisions=decisions or list(spec.decisions),
            clause=spec.clause,
            item=item,
            context=context,
        )
        if spec.deadline is not None:
            ob = self._oblige(spec.deadline, now, self._today(now), task_id=task.id)
            task.deadline = spec.deadline
            task.due_at = self.policy.start_of(ob.due_day + timedelta(days=1))
        s.tasks.append(task)
        self._task_changed("opened", task)
        return task

    def _task_changed(self, change: str, task: Task, actor: Actor | None = None) -> None:
        # Projections apply a task's changes in revision order, whatever order activities run in.
        task.rev += 1
        self._effects.append(TaskChanged(change=change, task=task.model_copy(), actor=actor))

    def _close_task(self, task: Task, change: str = "closed") -> None:
        task.status = "cancelled" if change == "cancelled" else "done"
        self.state.obligations = [o for o in self.state.obligations if o.task_id != task.id]
        self._task_changed("cancelled" if change == "cancelled" else "closed", task)

    def _cancel_tasks(self) -> None:
        for t in self.state.tasks:
            if t.active:
                self._close_task(t, "cancelled")

    def _oblige(
        self, deadline: str, now: datetime, start: date, task_id: str | None = None, note: str = ""
    ) -> Obligation:
        d = self.policy.deadlines[deadline]
        ob = Obligation(
            key=f"{deadline}:{task_id or start.isoformat()}",
            deadline=deadline,
            owner=d.owner,
            opened_at=now,
            due_day=d.due_day(start),
            task_id=task_id,
            note=note,
        )
        self.state.obligations = [o for o in self.state.obligations if o.key != ob.key] + [ob]
        return ob

    def _release(self, deadline: str) -> None:
        """An obligation met: no further reminders."""
        self.state.obligations = [o for o in self.state.obligations if o.deadline != deadline or o.task_id]

    def _task(self, task_id: str) -> Task:
        for t in self.state.tasks:
            if t.id == task_id:
                return t
        raise ActionRefused(404, "task_not_found", "未找到该待办事项", f"no task {task_id} in this unit")

    # ----- the clock ------------------------------------------------------------------------

    def _alarms(self) -> list[tuple[datetime, str, Obligation | None, int]]:
        out: list[tuple[datetime, str, Obligation | None, int]] = []
        for ob in self.state.obligations:
            for offset in self.policy.reminder_offsets_days:
                label = f"upcoming-{offset}"
                at = self.policy.start_of(ob.due_day - timedelta(days=offset))
                # A reminder whose moment had passed when the deadline opened is not sent late.
                if label not in ob.fired and at > ob.opened_at:
                    out.append((at, label, ob, offset))
            for label, day in (("due", ob.due_day), ("missed", ob.due_day + timedelta(days=1))):
                if label not in ob.fired:
                    out.append((self.policy.start_of(day), label, ob, 0))
        s = self.state
        # An open objection holds listing: the publicity alarm waits until the state is publicity again.
        if s.publicity_ends_on is not None and s.state == "publicity":
            out.append((self.policy.start_of(s.publicity_ends_on + timedelta(days=1)), PUBLICITY_END, None, 0))
        return sorted(out, key=lambda a: a[0])

    def next_alarm(self) -> datetime | None:
        alarms = self._alarms()
        return alarms[0][0] if alarms else None

    def next_alarm_for(self) -> tuple[str, Obligation | None] | None:
        """What the earliest alarm is for: its label (``upcoming-7``, ``due``, ``missed``, ``publicity-end``)
        and its obligation (None for the end of publicity)."""
        alarms = self._alarms()
        return (alarms[0][1], alarms[0][2]) if alarms else None

    def on_time(self, now: datetime) -> None:
        """Fire every alarm due by ``now``, oldest first."""
        for at, label, ob, offset in self._alarms():
            if at > now:
                break
            if ob is None:
                self._publicity_over(now)
                continue
            if ob not in self.state.obligations:
                continue  # met or replaced by an earlier alarm in this batch
            ob.fired.append(label)
            kind = "upcoming" if label.startswith("upcoming") else label
            due_at = self.policy.start_of(ob.due_day + timedelta(days=1))
            self._effects.append(
                DeadlineFired(
                    kind=kind,
                    offset_days=offset,
                    obligation=ob.model_copy(),
                    due_at=due_at,
                    deadline=self.policy.deadlines[ob.deadline],
                    fired_at=now,
                )
            )
            if kind == "missed":
                self._missed(ob, now)

    def _missed(self, ob: Obligation, now: datetime) -> None:
        self.state.obligations = [o for o in self.state.obligations if o.key != ob.key]
        d = self.policy.deadlines[ob.deadline]
        if ob.task_id is not None:
            task = self._task(ob.task_id)
            if task.active and not task.escalated:
                task.escalated = True
                self._task_changed("escalated", task)
                self._move(now, None, f"{task.title_zh}逾期，已升级至市经济和信息化局", d.basis, task=task)
            return
        if ob.deadline == "re-evaluation":
            self._grade_path_failed(now, "三年内未复评达到三级")
            return
        self._move(now, None, f"{d.name_zh}逾期（截止 {ob.due_day.isoformat()}）：{d.consequence_zh}", d.basis)
        if self.state.state in HOLDS_TITLE or self.state.designation is Designation.ANNUAL_GRADING:
            self._open_task(
                "followup", now, {"deadline": ob.deadline, "due_day": ob.due_day.isoformat(), "note": ob.note}
            )

    # ----- declarations ---------------------------------------------------------------------

    def on_evaluation(self, ev: EvaluationFacts, now: datetime) -> None:
        s = self.state
        if ev.submission_id in s.submissions:
            return  # a redelivered event: one declaration counts once
        s.submissions.append(ev.submission_id)
        s.enterprise_name = ev.enterprise_name or s.enterprise_name
        today = self._today(now)
        if s.designation is Designation.ANNUAL_GRADING:
            self._on_grading(ev, now)
            return
        sid = ev.submission_id
        if s.state in IN_PROGRESS:
            self._move(
                now,
                None,
                f"已有申报在办理中（{STATE_ZH[s.state]}），本次申报 {sid} 不予受理",
                "003 第八条",
                submission_id=sid,
            )
            return
        if s.state in HOLDS_TITLE:
            self._move(now, None, f"已入围名单，本次申报 {sid} 无需受理", "003 第八条", submission_id=sid)
            return
        if s.banned_until is not None and today <= s.banned_until:
            basis = self.policy.bans.redeclare_after_failed_review_years.basis
            self._move(
                now,
                "declaration_refused",
                f"复核不通过被撤销，{s.banned_until.isoformat()} 前不得重新申报（申报 {sid}）",
                basis,
                submission_id=sid,
            )
            return
        if ev.error:
            self._move(now, "evaluation_failed", f"评价未完成：{ev.error}", "003 第八条", submission_id=sid)
            return
        if ev.evaluator_banned_until is not None and today <= ev.evaluator_banned_until:
            self._move(
                now,
                "declaration_refused",
                f"第三方评价机构 {ev.evaluator_uscc} 在 {ev.evaluator_banned_until.isoformat()} 前"
                "不予采信，请更换评价机构后重新申报",
                self.policy.bans.evaluator_years.basis,
                submission_id=sid,
            )
            return
        if ev.call is None:
            self._move(
                now,
                "declaration_refused",
                "申报时没有开放的征集通知",
                "003 第八条（定期发布征集通知）",
                submission_id=sid,
            )
            return
        if self.holds_unfinished and ev.missing_items:
            self._return_incomplete(ev, now, "003 第八条; D-HOLD")
            return
        s.cycle += 1
        s.evaluation = ev
        s.expert_points = {}
        s.revoked_ground = None
        s.publicity_ends_on = None
        s.objections_open = 0
        self._move(
            now,
            "awaiting_recommendation",
            f"评价完成（总分 {ev.total}），待区工业主管部门推荐（{ev.call.title}）",
            "003 第八条",
        )
        if not self._district_disputed(ev, now):
            self._open_task("recommend", now, self._evaluation_context())

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
        self._move(
            now,
            None,
            f"所属区不一致（单位 {s.district}，申报 {ev.declared_district or '—'}，"
            f"培育名单 {ev.pool_district or '—'}），待市经济和信息化局确认",
            task.clause,
            task=task,
        )
        return True

    def _evaluation_context(self) -> dict[str, object]:
        ev = self.state.evaluation
        assert ev is not None
        return {
            "submission_id": ev.submission_id,
            "total": str(ev.total) if ev.total is not None else None,
            "passed": ev.passed,
            "provisional": ev.provisional,
            "in_pool": ev.in_pool,
            "latest_grade": ev.latest_grade,
            "vetoes": [v.model_dump() for v in ev.vetoes],
            "expert_items": [i.id for i in ev.expert_items],
            "call": ev.call.title if ev.call else None,
        }

    def _on_grading(self, ev: EvaluationFacts, now: datetime) -> None:
        s = self.state
        sid = ev.submission_id
        if ev.error:
            self._move(now, "evaluation_failed", f"评价未完成：{ev.error}", "003 第四条", submission_id=sid)
            return
        self._district_disputed(ev, now)
        if self.holds_unfinished and ev.missing_items:
            self._return_incomplete(ev, now, "003 第四、十九条; D-HOLD")
            return
        s.cycle += 1
        s.evaluation = ev
        if self.holds_unfinished:
            self._cancel_expert_tasks()
            s.expert_points = {}
            if ev.expert_items and not any(not v.overridable for v in ev.vetoes):
                items = "、".join(f"{i.id} {i.name_zh}" for i in ev.expert_items)
                self._move(
                    now,
                    "expert_review",
                    f"分级评价待专家评定（{items}），评定后公布{self._grade_kept()}",
                    "D-HOLD",
                    submission_id=sid,
                )
                for item in ev.expert_items:
                    self._open_task("expert_score", now, {"submission_id": sid, "item": item.id}, item)
                return
        self._publish_grade(ev, now)

    def _grade_kept(self) -> str:
        s = self.state
        if s.designation is not Designation.ANNUAL_GRADING or s.graded_on is None:
            return ""
        shown = f"{s.level}级" if s.level is not None else "无等级"
        return f"；已公布的分级结果（{shown}，{s.graded_on.isoformat()}）保持不变"

    def _return_incomplete(self, ev: EvaluationFacts, now: datetime, clause: str) -> None:
        """D-HOLD: a result with missing inputs goes back to the enterprise and is never published."""
        s = self.state
        vetoed = [f"{v.clause}（{v.evidence}）" for v in ev.vetoes if not v.overridable]
        also = f"；另存在否决项：{'；'.join(vetoed)}" if vetoed else ""
        why = (
            f"评价缺少输入（{'；'.join(ev.missing_items)}），退回企业补充后重新申报，不予公布{also}{self._grade_kept()}"
        )
        # A unit that already holds a state (graded, on the grade path) keeps it: the return is on its record.
        keep = s.designation is Designation.ANNUAL_GRADING and s.state not in ("new", "evaluation_failed", "returned")
        self._move(now, None if keep else "returned", why, clause, submission_id=ev.submission_id)

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
                self._move(
                    now,
                    "graded",
                    f"复评 {shown}（总分 {ev.total}），已达到三级，整改完成",
                    floor.basis,
                    submission_id=sid,
                )
            elif path.renovated:
                self._move(now, "grade_path", f"改造提升后复评仍为 {shown}", floor.basis, submission_id=sid)
                self._grade_path_failed(now, f"改造提升后复评仍为 {shown}")
            else:
                self._move(
                    now, "grade_path", f"分级评价 {shown}，仍未达到三级，整改继续", floor.basis, submission_id=sid
                )
            return
        if below and ev.holds_title:
            today = self._today(now)
            s.grade_path = GradePath(started_on=today, level=ev.level or 0)
            self._move(
                now,
                "grade_path",
                f"分级评价 {shown}（总分 {ev.total}），未达到三级：一年内绿色诊断，两年内改造提升，三年内复评",
                floor.basis,
                submission_id=sid,
            )
            for key in ("diagnosis", "renovation", "re-evaluation"):
                self._oblige(key, now, today)
            return
        self._move(now, "graded", f"分级评价 {shown}（总分 {ev.total}）", "003 第四、十九条", submission_id=sid)

    def _end_grade_path(self) -> None:
        self.state.grade_path = None
        self.state.obligations = [
            o for o in self.state.obligations if o.deadline not in ("diagnosis", "renovation", "re-evaluation")
        ]
        for t in self.state.tasks:
            if t.active and t.kind == "followup" and t.context.get("deadline") in ("diagnosis", "renovation"):
                self._close_task(t, "cancelled")

    def _grade_path_failed(self, now: datetime, why: str) -> None:
        self._end_grade_path()
        ground = self.policy.revocation_grounds["grade_path"]
        self._move(now, "graded", f"{why}：撤销绿色工厂称号", ground.basis)
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
        self._move(now, None, f"专家评分完成，总分重新计算为 {r.total}", "D-EXPERT")
        if self.state.designation is Designation.ANNUAL_GRADING and self.state.state == "expert_review":
            self._publish_grade(ev, now)

    # ----- notices --------------------------------------------------------------------------

    def on_notice(self, n: NoticeFacts, now: datetime) -> None:
        s = self.state
        if n.notice_id in s.notices:
            return
        s.notices.append(n.notice_id)
        today = self._today(now)
        d = n.data
        if n.kind == "objection":
            if s.state in ("publicity", "objection_review"):
                s.objections_open += 1
                self._open_task("resolve_objection", now, {"notice_id": n.notice_id, "reason": d.get("reason")})
                self._move(
                    now,
                    "objection_review",
                    "公示期间收到异议，暂停入围，待市经济和信息化局处理",
                    "D-PUBLICITY",
                    n.actor,
                )
            else:
                self._move(
                    now,
                    None,
                    f"收到异议，但单位不在公示期（{STATE_ZH[s.state]}），已存档",
                    "D-PUBLICITY",
                    n.actor,
                )
            return
        if n.kind in ("diagnosis", "renovation"):
            path = s.grade_path
            if path is None:
                self._move(
                    now,
                    None,
                    f"收到{'绿色诊断' if n.kind == 'diagnosis' else '改造提升'}报告（无整改要求），已存档",
                    "003 第十六条",
                    n.actor,
                )
                return
            if n.kind == "diagnosis":
                path.diagnosed = True
            else:
                path.renovated = True
            self._release(n.kind)
            name = self.policy.deadlines[n.kind].name_zh
            self._move(
                now, None, f"已完成{name}（{d.get('completed_on')}）", self.policy.deadlines[n.kind].basis, n.actor
            )
            return
        if s.state not in HOLDS_TITLE:
            self._move(
                now,
                None,
                f"收到{n.kind}通知，但单位未持有称号（{STATE_ZH[s.state]}），已存档",
                "003 第十四、十七条",
                n.actor,
            )
            return
        if n.kind == "rename":
            completed, due, late, timing = self._filed("rename", d, today)
            task = self._open_task(
                "rename",
                now,
                {
                    "old_name": d.get("old_name"),
                    "new_name": d.get("new_name"),
                    "completed_on": str(completed),
                    "late_days": late,
                },
            )
            self._move(
                now,
                None,
                f"收到更名申请（{d.get('old_name')} → {d.get('new_name')}，{timing}，应于 {due.isoformat()} 前申请）",
                "003 第十四条",
                n.actor,
                task,
            )
        elif n.kind == "major_adjustment":
            _, _, late, timing = self._filed("major-adjustment", d, today)
            self._start_recheck(
                now,
                n.actor,
                f"重大调整（{d.get('adjustment')}，{timing}）申请复核",
                {"trigger": "major_adjustment", "adjustment": d.get("adjustment"), "late_days": late},
            )
        elif n.kind == "district_report":
            finding = str(d.get("finding"))
            observed = date.fromisoformat(str(d["observed_on"]))
            task = self._open_task(
                "district_report", now, {"finding": finding, "observed_on": str(observed), "details": d.get("details")}
            )
            self._move(now, None, f"区工业主管部门报告：{finding}", "003 第十七条", n.actor, task)
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

    def _check_ground(self, ground: str | None) -> None:
        if ground not in self.policy.revocation_grounds:
            raise ActionRefused(
                422,
                "ground_required",
                "撤销须注明依据（003 第十三条所列情形）",
                f"ground must be one of {sorted(self.policy.revocation_grounds)}",
            )

    def _start_recheck(self, now: datetime, actor: Actor, why: str, context: dict[str, object]) -> None:
        task = self._open_task("review_listed", now, context)
        self._move(now, "under_recheck", why, "003 第十三、十四条", actor, task)

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
                self._move(now, None, "节假日安排已载入；单位已不在公示期，无需重新计算", "D-CALENDAR", p.actor)
                return
            s.publicity_ends_on, s.publicity_provisional = last_day, provisional
            self._move(
                now, None, f"节假日安排已载入，公示截止日重新计算为 {last_day.isoformat()}{guess}", d.basis, p.actor
            )
        else:
            s.publicity_ends_on, s.publicity_provisional = last_day, provisional
            self._move(
                now,
                "publicity",
                f"评审通过，公示 {d.working_days} 个工作日，至 {last_day.isoformat()}{guess}",
                d.basis,
                p.actor,
            )
        if provisional:
            context: dict[str, object] = {
                "deadline": p.deadline,
                "start": p.start.isoformat(),
                "years": list(missing_years),
                "provisional_end": last_day.isoformat(),
            }
            self._open_task("load_calendar", now, context)

    def _on_load_calendar(self, task: Task, a: TaskAction, now: datetime) -> None:
        self._move(now, None, f"已载入节假日安排：{a.reason or ''}".rstrip("："), task.clause, a.actor, task)
        start = date.fromisoformat(str(task.context["start"]))
        self._effects.append(
            PeriodNeeded(deadline=str(task.context["deadline"]), start=start, actor=a.actor, recompute=True)
        )

    def note(self, now: datetime, reason: str, clause: str, actor: Actor = SYSTEM) -> None:
        """Record something that happened without changing the state."""
        self._move(now, None, reason, clause, actor)

    def _publicity_over(self, now: datetime) -> None:
        self._list(now, "公示期满无异议，入围市级名单", "003 第八条")

    def _list(self, now: datetime, why: str, clause: str, actor: Actor = SYSTEM) -> None:
        s = self.state
        s.listed_on = self._today(now)
        s.publicity_ends_on = None
        self._move(now, "listed", why, clause, actor)

    # ----- staff actions --------------------------------------------------------------------

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
                403, "wrong_role", f"该事项须由{task.role}办理", f"task {task.id} is for role {task.role}"
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
                f"决定须为 {'、'.join(task.decisions)} 之一",
                f"decision must be one of {task.decisions}",
            )
        spec = TASKS[task.kind]
        reason = (a.reason or "").strip()
        if a.decision in spec.reason_required and not reason:
            raise ActionRefused(422, "reason_required", "该决定须填写理由", f"{task.kind}/{a.decision} needs a reason")
        if (task.kind, a.decision) in REVOKING:
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
        self._ON_DECISION[task.kind](self, task, a, now)
        return task

    def _on_recommend(self, task: Task, a: TaskAction, now: datetime) -> None:
        if a.decision == "decline":
            self._move(now, "not_recommended", f"区工业主管部门未推荐：{a.reason}", task.clause, a.actor, task)
            return
        why = f"区工业主管部门推荐{'（理由：' + a.reason + '）' if a.reason else ''}"
        self._move(now, "under_review", why, task.clause, a.actor, task)
        ev = self.state.evaluation
        assert ev is not None
        for item in ev.expert_items:
            self._open_task("expert_score", now, {"submission_id": ev.submission_id, "item": item.id}, item)
        self._open_task("review", now, self._evaluation_context())

    def _on_expert_score(self, task: Task, a: TaskAction, now: datetime) -> None:
        assert task.item is not None and a.points is not None
        self.state.expert_points[task.item.id] = a.points
        self._move(
            now,
            None,
            f"专家评定 {task.item.id} {task.item.name_zh}：{a.points} 分（{a.reason}）",
            task.clause,
            a.actor,
            task,
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
            self._move(now, "rejected", f"市级评审未通过：{a.reason}", task.clause, a.actor, task)
            return
        if a.reason:
            self._move(
                now, None, f"原则性要求未满足，予以通过，理由：{a.reason}", "003 第八、九条（原则上）", a.actor, task
            )
        self._effects.append(PeriodNeeded(deadline="publicity", start=self._today(now), actor=a.actor))

    def _on_resolve_objection(self, task: Task, a: TaskAction, now: datetime) -> None:
        s = self.state
        if a.decision == "uphold":
            s.objections_open = 0
            self._cancel_tasks()
            s.publicity_ends_on = None
            self._move(now, "rejected", f"异议成立，不予入围：{a.reason}", task.clause, a.actor, task)
            return
        s.objections_open -= 1
        self._move(now, None, f"异议不成立：{a.reason}", task.clause, a.actor, task)
        if s.objections_open == 0:
            ended = s.publicity_ends_on is not None and self._today(now) > s.publicity_ends_on
            if ended:
                self._list(now, "异议处理完毕，公示期已满，入围市级名单", "003 第八条; D-PUBLICITY", a.actor)
            else:
                self._move(now, "publicity", "异议处理完毕，继续公示", "D-PUBLICITY", a.actor, task)

    def _on_review_listed(self, task: Task, a: TaskAction, now: datetime) -> None:
        if a.decision == "keep":
            self._move(now, "listed", f"复核通过：{a.reason}", task.clause, a.actor, task)
        else:
            assert a.ground is not None
            self._revoke(now, a.ground, a.reason or "", a.actor, task)

    def _on_followup(self, task: Task, a: TaskAction, now: datetime) -> None:
        if a.decision == "urge":
            self._move(now, None, f"已督办：{a.reason}", task.clause, a.actor, task)
        else:
            assert a.ground is not None
            self._revoke(now, a.ground, a.reason or "", a.actor, task)

    def _on_rename(self, task: Task, a: TaskAction, now: datetime) -> None:
        if a.decision == "decline":
            self._move(now, None, f"区工业主管部门未转报更名申请：{a.reason}", task.clause, a.actor, task)
            return
        follow = self._open_task("approve_rename", now, dict(task.context))
        self._move(now, None, "区工业主管部门已转报更名申请", task.clause, a.actor, follow)

    def _on_approve_rename(self, task: Task, a: TaskAction, now: datetime) -> None:
        if a.decision == "reject":
            self._move(now, None, f"名称变更未批准：{a.reason}", task.clause, a.actor, task)
            return
        self.state.enterprise_name = str(task.context.get("new_name"))
        self._move(now, None, f"名称变更为 {self.state.enterprise_name}", task.clause, a.actor, task)

    def _on_district_report(self, task: Task, a: TaskAction, now: datetime) -> None:
        if a.decision == "no_action":
            self._move(now, None, f"区级报告已处理，无需复核：{a.reason}", task.clause, a.actor, task)
            return
        self._start_recheck(
            now,
            a.actor,
            f"根据区级报告（{task.context.get('finding')}）启动复核",
            {"trigger": "district_report", **task.context},
        )

    def _on_confirm_district(self, task: Task, a: TaskAction, now: datetime) -> None:
        s = self.state
        old, s.district = s.district, a.decision
        why = f"：{a.reason}" if a.reason else ""
        if s.district == old:
            self._move(now, None, f"市经济和信息化局确认所属区为{old}{why}", task.clause, a.actor, task)
        else:
            self._move(
                now, None, f"市经济和信息化局确认所属区为{s.district}（原为{old}）{why}", task.clause, a.actor, task
            )
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
        self._move(now, None, "已报请工业和信息化部撤销国家级称号", task.clause, a.actor, task)

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

    # What each kind of task does once decided, spelled out (a unit test checks that every kind has its entry).
    _ON_DECISION: ClassVar[dict[TaskKind, Callable[[Lifecycle, Task, TaskAction, datetime], None]]] = {
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

    # ----- unit-level commands --------------------------------------------------------------

    def check_command(self, c: UnitCommand) -> None:
        s = self.state
        who = c.actor
        reason = (c.reason or "").strip()
        if who.role == "system":
            pass
        elif c.command == "withdraw":
            if who.role != "enterprise" or who.scope != s.uscc:
                raise ActionRefused(
                    403, "wrong_role", "只有本单位可申请撤销", "only the enterprise itself may withdraw"
                )
        elif who.role != "bureau":
            raise ActionRefused(403, "wrong_role", "该操作须由市经济和信息化局办理", "only the bureau may do this")
        if s.designation is Designation.ANNUAL_GRADING:
            raise ActionRefused(409, "wrong_designation", "分级评价不是称号，无此操作", "grading is not a title")
        if s.state not in HOLDS_TITLE:
            raise ActionRefused(
                409, "no_title", f"单位当前状态为{STATE_ZH[s.state]}，未持有称号", f"the unit is {s.state}"
            )
        if c.command == "revoke":
            self._check_ground(c.ground)
            if not reason:
                raise ActionRefused(422, "reason_required", "撤销须填写理由", "revocation needs a reason")
        if c.command == "start_review" and s.state == "under_recheck":
            raise ActionRefused(409, "already_reviewing", "复核已在进行中", "a review is already open")
        if c.command == "record_national" and (c.source is None or c.outcome is None or s.national != "recommended"):
            raise ActionRefused(
                409,
                "not_recommended",
                "仅由国家级推荐流程登记已推荐单位的评定结果",
                "only the national-recommendation workflow records an outcome, for a recommended unit",
            )
        if c.command == "recommend_national":
            if s.designation is not Designation.MUNICIPAL_GREEN_FACTORY or s.national != "none":
                raise ActionRefused(
                    409,
                    "not_eligible",
                    "仅未推荐过的市级绿色工厂可推荐国家级",
                    "only a municipal green factory not yet recommended",
                )
            floor = self.policy.thresholds.national_min_level
            grade = s.evaluation.latest_grade if s.evaluation else None
            if (grade is None or grade < floor.value) and not reason:
                raise ActionRefused(
                    422,
                    "reason_required",
                    f"工厂绿色分级为 {grade or '未评'}，原则上须达到四级，须填写理由",
                    f"grade {grade} is below {floor.value}: give a reason",
                )

    def command(self, c: UnitCommand, now: datetime) -> None:
        self.check_command(c)
        s = self.state
        if c.command == "revoke":
            assert c.ground is not None
            self._revoke(now, c.ground, c.reason or "", c.actor)
        elif c.command == "withdraw":
            self._revoke(now, "withdrawn", c.reason or "单位自行要求撤销", c.actor)
        elif c.command == "start_review":
            self._start_recheck(
                now, c.actor, f"市经济和信息化局启动复核：{c.reason or '动态管理'}", {"trigger": "bureau"}
            )
        elif c.command == "recommend_national":
            s.national = "recommended"
            why = f"推荐申报国家级绿色工厂{'（理由：' + c.reason + '）' if c.reason else ''}"
            self._move(now, None, why, self.policy.thresholds.national_min_level.basis, c.actor)
            self._effects.append(StartNational(actor=c.actor, reason=c.reason))
        elif c.command == "record_national":
            assert c.outcome is not None
            s.national = c.outcome
            outcome_zh = STATE_ZH[NATIONAL_STATE[c.outcome]]
            self._move(now, None, f"工业和信息化部评定结果：{outcome_zh}", "003 第九条", c.actor)

    def _revoke(self, now: datetime, ground: str, reason: str, actor: Actor, task: Task | None = None) -> None:
        s = self.state
        g = self.policy.revocation_grounds[ground]
        self._cancel_tasks()
        s.obligations = []
        s.revoked_ground = ground
        if g.ban is not None:
            years = getattr(self.policy.bans, g.ban)
            s.banned_until = add_years(self._today(now), years.value)
        ban = f"，{s.banned_until.isoformat()} 前不得重新申报" if g.ban and s.banned_until else "，可重新申报"
        self._move(now, "revoked", f"撤销称号（{g.name_zh}）：{reason}{ban}", g.basis, actor, task)
        if s.national == "listed":
            follow = self._open_task("miit_request", now, {"ground": ground})
            self._move(now, None, "持有国家级称号：已生成报请工业和信息化部撤销的待办", "003 第十三条", actor, follow)

    # ----- the national recommendation's own workflow ----------------------------------------

    def national_recommended(self, now: datetime, actor: Actor, reason: str | None) -> None:
        """003 第九条: recommended to MIIT; the bureau records MIIT's outcome when it is published."""
        self.state.national = "recommended"
        task = self._open_task("national_outcome", now, {"reason": reason})
        why = f"市经济和信息化局推荐申报国家级绿色工厂{'（理由：' + reason + '）' if reason else ''}"
        self._move(now, "national_recommended", why, self.policy.thresholds.national_min_level.basis, actor, task)

    # ----- auto-listing ---------------------------------------------------------------------

    def auto_list(self, now: datetime, actor: Actor, reason: str) -> None:
        """第十条: a unit on the national list with its plant in Beijing is on the municipal list."""
        if self.state.state in HOLDS_TITLE:
            raise ActionRefused(409, "already_listed", "单位已在名单中", "already listed")
        self.state.national = "listed"
        self._list(now, f"已入围国家级绿色工厂名单且工厂实体在本市，自动入围市级名单：{reason}", "003 第十条", actor)
