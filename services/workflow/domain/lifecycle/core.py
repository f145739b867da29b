"""What every part of the lifecycle builds on: the unit's state, its policy, the queued effects, and
recording steps, tasks and obligations (deadlines that a task or the unit must meet)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta

from contracts.envelope import Actor
from services.workflow.domain.lifecycle.refusal import ActionRefused
from services.workflow.domain.policy import Policy, shipped_steps
from services.workflow.domain.state import (
    SYSTEM,
    Effect,
    ExpertItem,
    Obligation,
    Task,
    TaskChanged,
    TaskKind,
    Transition,
    Transitioned,
    UnitState,
    UnitStateName,
)


class LifecycleCore:
    """One unit's state and policy, with the steps every rule records through."""

    def __init__(self, state: UnitState, policy: Policy) -> None:
        self.state = state
        self.policy = policy
        self._effects: list[Effect] = []
        # D-HOLD: a result with missing inputs is returned to the enterprise, one awaiting experts is held until
        # they score; neither is published. Workflows recorded before this rule replay with it off (workflows.py).
        self.holds_unfinished = True
        # D-LATEST: an evaluation of a declaration made before the latest one applied is recorded, not applied.
        # Workflows recorded before this rule replay with it off: the workflow sets it per evaluation (workflows.py).
        self.orders_declarations = True
        # 003 第十四条: a unit's name changes by a rename the district forwards, not by a declaration under another
        # name. Workflows recorded before this rule replay with it off: the workflow sets it per evaluation.
        self.keeps_registered_name = True

    # ----- plumbing -------------------------------------------------------------------------

    def drain(self) -> list[Effect]:
        out, self._effects = self._effects, []
        return out

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

    def _step(
        self,
        now: datetime,
        key: str,
        state: UnitStateName | None = None,
        actor: Actor = SYSTEM,
        task: Task | None = None,
        submission_id: str | None = None,
        **fields: object,
    ) -> None:
        """Record the step ``key`` of the policy's steps: its text with ``fields`` filled in, and its clause."""
        text, basis = self._words(key, fields)
        self._move(now, state, text, basis, actor, task, submission_id)

    def _words(self, key: str, fields: Mapping[str, object]) -> tuple[str, str]:
        """The text (``fields`` filled in) and the clause of the step ``key`` (rules/lifecycle ``steps``)."""
        # An edition stored before a step existed (a unit's policy by reference) words it as this version ships it.
        step = self.policy.steps.get(key) or shipped_steps()[key]
        basis = step.basis if step.basis_from is None else self._basis_of(step.basis_from.format(**fields))
        return step.text_zh.format(**fields), basis

    def _basis_of(self, path: str) -> str:
        """The basis of the rule at ``path`` in the policy (``revocation_grounds.grade_path``)."""
        rule: object = self.policy
        for part in path.split("."):
            rule = rule[part] if isinstance(rule, dict) else getattr(rule, part)
        basis = getattr(rule, "basis")  # noqa: B009 - every rule of the policy has one
        assert isinstance(basis, str)
        return basis

    def note(self, now: datetime, reason: str, clause: str, actor: Actor = SYSTEM) -> None:
        """Record something that happened without changing the state."""
        self._move(now, None, reason, clause, actor)

    def record(
        self, now: datetime, key: str, actor: Actor = SYSTEM, basis: str | None = None, **fields: object
    ) -> None:
        """Record the step ``key`` without changing the state (what the workflow did on the unit's behalf);
        ``basis``: the clause of the action that asked for it, when that action carries its own."""
        text, clause = self._words(key, fields)
        self._move(now, None, text, basis or clause, actor)

    # ----- tasks and obligations ------------------------------------------------------------

    def _open_task(
        self,
        kind: TaskKind,
        now: datetime,
        context: dict[str, object],
        item: ExpertItem | None = None,
        decisions: list[str] | None = None,
    ) -> Task:
        spec = self.policy.tasks[kind]
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
            clause=spec.basis,
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

    def _task(self, task_id: str) -> Task:
        for t in self.state.tasks:
            if t.id == task_id:
                return t
        raise ActionRefused(404, "task_not_found", "未找到该待办事项", f"no task {task_id} in this unit")

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
