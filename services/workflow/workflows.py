"""The unit lifecycle workflow (003 chapters 3–4). Deterministic: time from workflow.now(), I/O in activities."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from services.workflow.activities import LifecycleActivities
    from services.workflow.model import (
        DeadlineRecord,
        EvaluationSignal,
        LifecycleInput,
        Transition,
        TransitionRecord,
        UnitSnapshot,
    )

ACTIVITY_TIMEOUT = timedelta(minutes=2)


@workflow.defn
class UnitLifecycleWorkflow:
    """One unit and designation, from declaration on."""

    def __init__(self) -> None:
        self._input: LifecycleInput | None = None
        self._state = "declared"
        self._history: list[Transition] = []
        self._submissions: list[str] = []
        self._inbox: list[EvaluationSignal] = []

    @workflow.signal
    def evaluation_completed(self, signal: EvaluationSignal) -> None:
        # Redelivered events signal again: one declaration counts once.
        if signal.submission_id not in self._submissions and all(
            s.submission_id != signal.submission_id for s in self._inbox
        ):
            self._inbox.append(signal)

    @workflow.query
    def snapshot(self) -> UnitSnapshot:
        assert self._input is not None
        return UnitSnapshot(
            workflow_id=workflow.info().workflow_id,
            uscc=self._input.uscc,
            district=self._input.district,
            designation=self._input.designation.value,
            state=self._state,
            submissions=list(self._submissions),
            history=[t.model_dump(mode="json") for t in self._history],
        )

    async def _transition(self, state: str, reason: str, signal: EvaluationSignal | None) -> None:
        assert self._input is not None
        self._state = state
        step = Transition(
            seq=len(self._history) + 1,
            at=workflow.now(),
            state=state,
            reason=reason,
            submission_id=signal.submission_id if signal else None,
            total=signal.total if signal else None,
        )
        self._history.append(step)
        await workflow.execute_activity_method(
            LifecycleActivities.record_transition,
            TransitionRecord(
                workflow_id=workflow.info().workflow_id,
                input=self._input,
                transition=step,
                correlation_id=signal.correlation_id if signal else workflow.info().workflow_id,
            ),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
        )

    @workflow.run
    async def run(self, inp: LifecycleInput) -> str:
        self._input = inp
        while True:
            await workflow.wait_condition(lambda: bool(self._inbox))
            signal = self._inbox.pop(0)
            self._submissions.append(signal.submission_id)
            if signal.error:
                await self._transition("evaluation_failed", f"评价未完成：{signal.error}", signal)
                continue
            deadline = inp.recommendation_deadline
            due_at = workflow.now() + timedelta(days=deadline.days)
            await self._transition(
                "awaiting_recommendation",
                f"评价完成（总分 {signal.total}），待{deadline.name_zh}，"
                f"截止 {due_at.date().isoformat()}（{deadline.basis}）",
                signal,
            )
            try:
                await workflow.wait_condition(lambda: bool(self._inbox), timeout=timedelta(days=deadline.days))
            except TimeoutError:
                await workflow.execute_activity_method(
                    LifecycleActivities.deadline_due,
                    DeadlineRecord(
                        workflow_id=workflow.info().workflow_id,
                        input=inp,
                        deadline=deadline,
                        due_at=due_at,
                        correlation_id=signal.correlation_id,
                    ),
                    start_to_close_timeout=ACTIVITY_TIMEOUT,
                )
                await self._transition(
                    "recommendation_overdue", f"{deadline.name_zh}期限已过（{deadline.basis}）", signal
                )
