"""The unit lifecycle workflow: a durable host for the pure `Lifecycle` (003 chapters 3–4).

Signals bring evaluations, notices and commands from other workflows; updates (each with a
validator) are staff actions; one timer always waits for the earliest alarm the lifecycle holds.
Effects leave through activities. Deterministic: time from workflow.now(), no I/O here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from contracts import labels
    from contracts.messages import RescoreRequest
    from contracts.schemes import Designation, workflow_id
    from services.workflow import search_attributes, views
    from services.workflow.activities import LifecycleActivities
    from services.workflow.domain.lifecycle import ActionRefused, Lifecycle
    from services.workflow.domain.state import (
        DeadlineFired,
        EvaluationFacts,
        Fault,
        NoticeFacts,
        PeriodNeeded,
        RescoreNeeded,
        SignalTitle,
        StartNational,
        Task,
        TaskAction,
        TaskChanged,
        TaskClaim,
        Transitioned,
        UnitCommand,
        UnitState,
    )
    from services.workflow.model import (
        EffectBatch,
        EffectBatches,
        Inbound,
        LifecycleInput,
        PeriodRequest,
        UnitSummary,
    )
    from services.workflow.policy_editions import EDITIONS


def _notice_zh(n: NoticeFacts) -> str:
    """A notice as the unit's record names it when it cannot be applied: 区级报告通知 n-…, its kind in Chinese."""
    return f"{labels.zh(labels.NOTICE_KIND_ZH, n.kind)}通知 {n.notice_id}"


# How long an attempt may run before Temporal gives it to another worker: also how long a unit waits
# when the worker running its activity dies. Recording is a database write and a few acknowledged
# publishes (10 s each at worst); a rescore waits for the scoring service (60 s at worst).
RECORD_TIMEOUT = timedelta(seconds=30)
# Recording waits on NATS and the database: after an outage it should resume within seconds, not Temporal's
# default back-off of up to 100 s between tries (it is idempotent, so retrying often is harmless).
RECORD_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10))
CALENDAR_TIMEOUT = timedelta(seconds=10)
RESCORE_TIMEOUT = timedelta(minutes=2)
REFUSED = "ActionRefused"
T = TypeVar("T")
# Changes that alter history, each behind workflow.patched() so that units recorded before them replay as they ran.
HOLD_UNFINISHED = "hold-unfinished-results"  # D-HOLD: results with missing inputs or pending experts are not published
PROVISIONAL_PERIODS = "provisional-periods"  # D-CALENDAR: a year without a holiday notice gives a provisional end
SEARCH_ATTRIBUTES = "search-attributes"  # issue 15.3: the unit's search attributes are kept current
LOCAL_RECORD = "record-effects-locally"  # issue 14: effects are recorded by a local activity, within the workflow task
# issue 14.2: a workflow task's effects are collected and recorded by one local activity, and the search attributes
# upserted once, just before the workflow waits (or before it awaits an answer from outside, or continues as new).
ONE_RECORD = "one-record-per-task"
# Each patched() call records a marker and upserts TemporalChangeVersion: two events per patch in every new run (six of
# a new unit's thirteen). A run that has ONE_RECORD, the newest, has every older change too, so it asks no other patch:
# each is then on, with no event. Runs recorded before ONE_RECORD ask each patch as they did. A run whose input says
# newest_code (every start made by this code) asks none at all: its recorded input decides the branch on replay, as a
# marker would, without the marker and its TemporalChangeVersion upsert (two of eight events and one visibility
# write for a new unit, issue 14.2). A change added after this one is guarded by workflow.patched() as before.
OLDER_PATCHES = (HOLD_UNFINISHED, PROVISIONAL_PERIODS, SEARCH_ATTRIBUTES, LOCAL_RECORD)
# D-LATEST: an evaluation of a declaration older than the latest applied is recorded, not applied. Asked only when
# an evaluation is older, so a run records its marker only if the order ever mattered to it; histories recorded
# before it carry no submission times, so the question never arises when they replay.
ORDER_DECLARATIONS = "order-declarations"
# 003 第十四条: a declaration under another name leaves the unit's name as it is (a rename does that). Asked only
# when the names differ, as ORDER_DECLARATIONS is.
KEEP_REGISTERED_NAME = "keep-registered-name"


@contextlib.contextmanager
def refusals() -> Iterator[None]:
    """A domain refusal as the caller of an update receives it (status, code, Chinese and English).

    Raised from a validator it rejects the update; from a handler it fails the update, not the
    workflow task (a plain exception there would retry the task forever).
    """
    try:
        yield
    except ActionRefused as exc:
        raise ApplicationError(
            exc.message_en,
            {"status": exc.status, "code": exc.code, "message_zh": exc.message_zh, "message_en": exc.message_en},
            type=REFUSED,
            non_retryable=True,
        ) from exc


@workflow.defn
class UnitLifecycleWorkflow:
    """One unit and designation over the years; continues as new per cycle."""

    @workflow.init
    def __init__(self, inp: LifecycleInput) -> None:
        info = workflow.info()
        state = inp.state or UnitState(
            workflow_id=info.workflow_id,
            uscc=inp.uscc,
            district=inp.district,
            designation=inp.designation,
            enterprise_name=inp.enterprise_name,
        )
        self._input = inp
        # A ref names exactly one policy (its content hash); one this worker has not loaded fails the task, to be
        # retried, never run with another policy.
        policy = inp.policy if inp.policy is not None else EDITIONS.get(inp.policy_ref or "")
        self._life = Lifecycle(state, policy)
        self._inbox: list[Inbound] = list(inp.pending)
        self._start_cycle = state.cycle
        self._correlation = info.workflow_id
        self._newest: bool | None = None  # workflow.patched(ONE_RECORD), asked once per run (_patched)
        self._collected: list[EffectBatch] = []

    # ----- signals: facts from outside ------------------------------------------------------

    @workflow.signal
    def evaluation_completed(self, ev: EvaluationFacts) -> None:
        self._inbox.append(Inbound(evaluation=ev))

    @workflow.signal
    def notice_received(self, notice: NoticeFacts) -> None:
        self._inbox.append(Inbound(notice=notice))

    @workflow.signal
    def title_command(self, command: UnitCommand) -> None:
        """From the unit's other workflows (e.g. grading asks the green-factory title to be revoked)."""
        self._inbox.append(Inbound(command=command))

    # ----- updates: staff actions, validated before they are accepted -----------------------

    # Each validator first asks the cheap checks, then tries the whole action on a copy of the unit: an
    # action that could not be applied (whatever its data) is refused before it is accepted, so an update
    # handler never fails the workflow task.

    @workflow.update
    async def act(self, action: TaskAction) -> Task:
        now = workflow.now()
        task = self._updated(f"办理 {action.task_id}", lambda: self._life.act(action, now))
        await self._apply(action.task_id)
        await self._flush()
        return task

    @act.validator
    def _check_act(self, action: TaskAction) -> None:
        now = workflow.now()
        with refusals():
            self._life.check_action(action)
            self._life.trial(lambda life: life.act(action, now))

    @workflow.update
    async def claim(self, claim: TaskClaim) -> Task:
        now = workflow.now()
        task = self._updated(f"认领 {claim.task_id}", lambda: self._life.claim(claim, now))
        await self._apply(claim.task_id)
        await self._flush()
        return task

    @claim.validator
    def _check_claim(self, claim: TaskClaim) -> None:
        now = workflow.now()
        with refusals():
            self._life.check_claim(claim)
            self._life.trial(lambda life: life.claim(claim, now))

    @workflow.update
    async def command(self, command: UnitCommand) -> UnitState:
        now = workflow.now()
        self._updated(f"操作 {labels.zh(labels.COMMAND_ZH, command.command)}", lambda: self._life.command(command, now))
        await self._apply(self._correlation)
        await self._flush()
        return self._life.state

    @command.validator
    def _check_command(self, command: UnitCommand) -> None:
        now = workflow.now()
        with refusals():
            self._life.check_command(command)
            self._life.trial(lambda life: life.command(command, now))

    def _updated(self, what: str, change: Callable[[], T]) -> T:
        """Apply a staff action whole; one that fails anyway fails the update (recorded), never the task."""
        with refusals():
            result = self._life.apply_whole(workflow.now(), what, change)
        if isinstance(result, Fault):
            raise ApplicationError(
                result.error,
                {"status": 422, "code": "cannot_apply", "message_zh": f"该操作无法执行：{result.error}",
                 "message_en": f"this cannot be applied: {result.error}"},
                type=REFUSED,
                non_retryable=True,
            )  # fmt: skip
        return result

    @workflow.query
    def snapshot(self) -> UnitState:
        return self._life.state

    # ----- history-changing changes ----------------------------------------------------------

    @property
    def _collect(self) -> bool:
        """Whether this run has ONE_RECORD and every older change: said by its input, or asked in its first task."""
        if self._newest is None:
            self._newest = self._input.newest_code or workflow.patched(ONE_RECORD)
        return self._newest

    def _patched(self, patch: str) -> bool:
        assert patch in OLDER_PATCHES, patch
        return self._collect or workflow.patched(patch)

    # ----- effects ------------------------------------------------------------------------

    def _summary(self) -> UnitSummary:
        return UnitSummary.model_validate(self._life.state.model_dump(include=set(UnitSummary.model_fields)))

    def _show(self) -> None:
        """Keep what operators see current: search attributes (an upsert only when one changed) and details."""
        state = self._life.state
        roles = search_attributes.waiting_on(state)
        workflow.set_current_details(views.details(state, roles, self._timer_summary()))
        if self._patched(SEARCH_ATTRIBUTES):
            changed = search_attributes.updates(state, workflow.info().typed_search_attributes)
            if changed:
                workflow.upsert_search_attributes(changed)

    def _timer_summary(self) -> str | None:
        return views.timer_summary(self._life.policy, self._life.next_alarm_for(), self._life.state.publicity_ends_on)

    async def _apply(self, correlation_id: str) -> None:
        """Carry out the lifecycle's effects until it has none left (answers can produce more)."""
        await self._carry_out(correlation_id)
        if not self._collect:
            self._show()

    async def _carry_out(self, correlation_id: str) -> None:
        while effects := self._life.drain():
            batch: list[Transitioned | TaskChanged | DeadlineFired] = []
            for effect in effects:
                if isinstance(effect, Transitioned | TaskChanged | DeadlineFired):
                    batch.append(effect)
                    continue
                await self._record(batch, correlation_id)
                batch = []
                # An answer comes from outside, in a later workflow task: what this task did is recorded first.
                await self._flush()
                await self._answer(effect)
            await self._record(batch, correlation_id)

    async def _flush(self) -> None:
        """Record what this workflow task collected, in one local activity, then show the unit once.

        Called before the workflow waits: at the top of the main loop, before an answer from outside,
        before continuing as new, and at the end of each staff action (its caller sees it recorded).
        """
        if not self._collect:
            return
        # Taken before the await: an update handler flushing meanwhile records only what came after.
        batches, self._collected = self._collected, []
        if batches:
            await workflow.execute_local_activity_method(
                LifecycleActivities.record_all,
                EffectBatches(batches=batches),
                start_to_close_timeout=RECORD_TIMEOUT,
                retry_policy=RECORD_RETRY,
                summary=views.record_summary([e for b in batches for e in b.effects]),
            )
        self._show()

    async def _record(self, batch: list[Transitioned | TaskChanged | DeadlineFired], correlation_id: str) -> None:
        if not batch:
            return
        effects = EffectBatch(unit=self._summary(), correlation_id=correlation_id, effects=batch)
        if self._collect:
            # With the unit as it stands after these effects: what their announcements carry.
            self._collected.append(effects)
            return
        if self._patched(LOCAL_RECORD):
            # Recorded in the workflow task that made the effects: no activity task to schedule and poll, and
            # no second workflow task to take its result (fewer events per new unit: bench/path.py). Still at least
            # once: record_effects is idempotent (message ids, forward-only projection), so a retry is harmless.
            await workflow.execute_local_activity_method(
                LifecycleActivities.record_effects,
                effects,
                start_to_close_timeout=RECORD_TIMEOUT,
                retry_policy=RECORD_RETRY,
                summary=views.record_summary(batch),
            )
        else:
            await workflow.execute_activity_method(
                LifecycleActivities.record_effects,
                effects,
                start_to_close_timeout=RECORD_TIMEOUT,
                retry_policy=RECORD_RETRY,
                summary=views.record_summary(batch),
            )

    async def _answer(self, effect: PeriodNeeded | RescoreNeeded | SignalTitle | StartNational) -> None:
        now = workflow.now()
        if isinstance(effect, PeriodNeeded):
            deadline = self._life.policy.deadlines[effect.deadline]
            working_days = deadline.working_days
            assert working_days is not None
            summary = views.period_summary(deadline, effect.start, working_days)
            # The calendar is read in an activity: a later holiday-data update cannot change a
            # date already in a running workflow's history.
            period = PeriodRequest(start=effect.start, working_days=working_days)
            if self._patched(PROVISIONAL_PERIODS):
                answer = await workflow.execute_activity_method(
                    LifecycleActivities.working_period, period, start_to_close_timeout=CALENDAR_TIMEOUT, summary=summary
                )
                self._life.apply_whole(
                    now,
                    "公示期计算结果",
                    lambda: self._life.on_period(
                        effect, answer.last_day, now, answer.provisional, answer.missing_years
                    ),
                )
            else:
                last_day = await workflow.execute_activity_method(
                    LifecycleActivities.last_working_day,
                    period,
                    start_to_close_timeout=CALENDAR_TIMEOUT,
                    summary=summary,
                )
                self._life.apply_whole(now, "公示期计算结果", lambda: self._life.on_period(effect, last_day, now))
        elif isinstance(effect, RescoreNeeded):
            try:
                rescored = await workflow.execute_activity_method(
                    LifecycleActivities.rescore,
                    RescoreRequest(submission_id=effect.submission_id, expert_points=effect.expert_points),
                    start_to_close_timeout=RESCORE_TIMEOUT,
                    summary=views.rescore_summary(effect.submission_id),
                )
            except ActivityError as exc:
                # The review stays blocked on a provisional total; staff see why in the timeline.
                self._life.record(workflow.now(), "rescore-failed", error=exc.cause or exc)
                return
            now = workflow.now()
            self._life.apply_whole(now, "专家评分后的重新计算结果", lambda: self._life.on_rescored(rescored, now))
        elif isinstance(effect, StartNational):
            await self._start_national(effect)
        else:
            s = self._life.state
            target = workflow_id(s.uscc, effect.designation)
            try:
                await workflow.get_external_workflow_handle(target).signal(
                    UnitLifecycleWorkflow.title_command, effect.command
                )
                self._life.record(
                    now,
                    "title-signalled",
                    basis=effect.clause,
                    target=labels.workflow_zh(target),
                    command=labels.zh(labels.COMMAND_ZH, effect.command.command),
                    reason=effect.command.reason or "",
                )
            except Exception as exc:  # noqa: BLE001  # no such workflow: the unit holds no such title, record it
                self._life.record(
                    now, "title-not-found", basis=effect.clause, target=labels.workflow_zh(target), error=exc
                )

    async def _start_national(self, effect: StartNational) -> None:
        """003 第九条: the national recommendation lives on in a workflow of its own, past this run's cycles."""
        s = self._life.state
        target = workflow_id(s.uscc, Designation.NATIONAL_RECOMMENDATION)
        inp = self._input.model_copy(
            update={
                "designation": Designation.NATIONAL_RECOMMENDATION,
                "enterprise_name": s.enterprise_name,
                "state": None,
                "pending": [],
                "auto_list": None,
                "national": effect,
            }
        )
        try:
            await workflow.start_child_workflow(
                UnitLifecycleWorkflow.run,
                inp,
                id=target,
                parent_close_policy=ParentClosePolicy.ABANDON,
                static_summary=views.national_summary(s),
            )
            self._life.record(workflow.now(), "national-started", effect.actor, target=target)
        except WorkflowAlreadyStartedError:  # a unit is recommended once; an earlier recommendation runs on
            self._life.record(workflow.now(), "national-already-running", effect.actor, target=target)

    # ----- the main loop --------------------------------------------------------------------

    def _handle(self, item: Inbound) -> str:
        """Apply one signalled input whole; one that cannot be applied is dropped with a recorded fault."""
        now = workflow.now()
        life = self._life
        if item.evaluation is not None:
            ev = item.evaluation
            life.holds_unfinished = self._patched(HOLD_UNFINISHED)
            life.orders_declarations = life.superseded(ev) and workflow.patched(ORDER_DECLARATIONS)
            life.keeps_registered_name = life.declared_under_another_name(ev) and workflow.patched(KEEP_REGISTERED_NAME)
            if isinstance(
                life.apply_whole(now, f"申报 {ev.submission_id} 的评价结果", lambda: life.on_evaluation(ev, now)), Fault
            ):
                life.state.submissions.append(ev.submission_id)  # a redelivery is not tried again
            return ev.correlation_id
        if item.notice is not None:
            n = item.notice
            if isinstance(life.apply_whole(now, _notice_zh(n), lambda: life.on_notice(n, now)), Fault):
                life.state.notices.append(n.notice_id)  # a redelivery is not tried again
            return n.correlation_id
        command = item.command
        assert command is not None
        source = labels.workflow_zh(command.source) if command.source else "外部"
        wanted = labels.zh(labels.COMMAND_ZH, command.command)
        try:
            life.apply_whole(now, f"{source}请求{wanted}", lambda: life.command(command, now))
        except ActionRefused as exc:
            refused = "national-command-refused" if command.command == "record_national" else "title-command-refused"
            life.record(now, refused, source=source, command=wanted, why=exc.message_zh)
        return command.source or self._correlation

    def _on_time(self, now: datetime) -> None:
        if isinstance(self._life.apply_whole(now, "到期提醒", lambda: self._life.on_time(now)), Fault):
            self._life.discard_due_alarms(now)  # or the same alarms would fail again at once, for ever

    def _time_for_new_run(self, item: Inbound) -> bool:
        # One run per cycle: a declaration that would start a second cycle in this run goes to a new run.
        return item.evaluation is not None and self._life.state.cycle > self._start_cycle

    async def _continue_as_new(self) -> None:
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._flush()
        inp = self._input.model_copy(
            update={"state": self._life.state, "pending": list(self._inbox), "auto_list": None, "national": None}
        )
        workflow.continue_as_new(inp)

    def _woken(self, alarm: datetime | None) -> Callable[[], bool]:
        return lambda: bool(self._inbox) or self._life.next_alarm() != alarm

    @workflow.run
    async def run(self, inp: LifecycleInput) -> None:
        if not self._collect:
            self._show()
        if inp.auto_list is not None and inp.state is None:
            self._life.auto_list(workflow.now(), inp.auto_list.actor, inp.auto_list.reason)
            await self._apply(self._correlation)
        if inp.national is not None and inp.state is None:
            self._life.national_recommended(workflow.now(), inp.national.actor, inp.national.reason)
            await self._apply(self._correlation)
        while True:
            alarm = self._life.next_alarm()
            wait = None if alarm is None else alarm - workflow.now()
            if self._collect and not self._inbox and (wait is None or wait > timedelta(0)):
                await self._flush()
                alarm = self._life.next_alarm()  # an update may have run while the record was written
                wait = None if alarm is None else alarm - workflow.now()
            if wait is None or wait > timedelta(0):
                with contextlib.suppress(TimeoutError):
                    # Wake for a signal, or when an update changed the earliest alarm.
                    await workflow.wait_condition(
                        self._woken(alarm), timeout=wait, timeout_summary=self._timer_summary()
                    )
            while self._inbox:
                if self._time_for_new_run(self._inbox[0]) or workflow.info().is_continue_as_new_suggested():
                    await self._continue_as_new()
                correlation = self._handle(self._inbox.pop(0))
                await self._apply(correlation)
            self._on_time(workflow.now())
            await self._apply(self._correlation)
            if workflow.info().is_continue_as_new_suggested():
                await self._continue_as_new()
