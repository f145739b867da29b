"""The lifecycle workflow's activities: the only place it touches the database, NATS and the calendar.

Each is idempotent: message ids derive from the workflow id and the step, task revision or alarm,
so a retried activity publishes duplicates JetStream drops, and projections only move forward.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from pydantic import BaseModel
from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from contracts import subjects
from contracts.envelope import Envelope, utcnow
from contracts.messages import DeadlineEvent, RescoreReply, RescoreRequest, TaskEvent, UnitChanged
from greenfab.db import Database
from greenfab.group_commit import GroupCommit
from greenfab.inputs import REPO_RULES
from services.workflow.calendar_store import CalendarStore
from services.workflow.domain.lifecycle import state_zh
from services.workflow.domain.state import SYSTEM, DeadlineFired, Rescored, TaskChanged, Transitioned
from services.workflow.model import EffectBatch, EffectBatches, PeriodRequest, UnitSummary, WorkingPeriod
from services.workflow.tables import EvaluationCopy, TaskProjection, UnitProjection

# Publishes an envelope to JetStream and waits for the server's ack.
Publish = Callable[[str, Envelope], Awaitable[None]]
# Core NATS request/reply: subject, request body → the reply's JSON.
Request = Callable[[str, BaseModel], Awaitable[dict[str, Any]]]


class LifecycleActivities:
    def __init__(self, db: Database, publish: Publish, request: Request, calendar: CalendarStore | None = None) -> None:
        self._db = db
        self._publish = publish
        self._request = request
        self._calendar = calendar or CalendarStore(REPO_RULES)
        # Local activities of many units record at once: their projections share transactions (group_commit.py).
        self._projections = GroupCommit(db, self._project_groups)

    @activity.defn
    async def record_effects(self, batch: EffectBatch) -> EffectBatch | None:
        """Project the unit and its tasks, then announce each effect (unit.changed, task.*, deadline.*).

        Returns the batch it recorded: run as a local activity, only its result is kept in the workflow's
        history (not its input), and audit's reconciliation reads the announcements from there.
        """
        await self._record([batch])
        return batch

    @activity.defn
    async def record_all(self, batches: EffectBatches) -> EffectBatches:
        """record_effects for every batch a workflow task made: one transaction for their projections, then
        their announcements in order. Returns what it recorded (kept in the history, read by audit)."""
        await self._record(batches.batches)
        return batches

    async def _record(self, batches: list[EffectBatch]) -> None:
        """Project every batch in one transaction (shared with the other units recording meanwhile), then
        announce their effects in order."""
        await self._projections(batches)
        for batch in batches:
            await self._announce(batch)

    async def _project_groups(self, s: AsyncSession, groups: list[list[EffectBatch]]) -> list[None]:
        for batches in groups:
            for batch in batches:
                await self._project(s, batch)
        return [None] * len(groups)

    async def _announce(self, batch: EffectBatch) -> None:
        u = batch.unit
        for effect in batch.effects:
            if isinstance(effect, Transitioned):
                await self._publish(subjects.UNIT_CHANGED, self._unit_changed(u, effect, batch.correlation_id))
            elif isinstance(effect, TaskChanged):
                t = effect.task
                await self._publish(
                    subjects.task_subject(effect.change),
                    TaskEvent(
                        id=f"{t.id}-r{t.rev}",
                        correlation_id=batch.correlation_id,
                        actor=effect.actor or t.decided_by or SYSTEM,
                        change=effect.change,
                        task_id=t.id,
                        kind=t.kind,
                        title_zh=t.title_zh,
                        role=t.role,
                        task_district=t.district,
                        status=t.status,
                        escalated=t.escalated,
                        due_at=t.due_at,
                        workflow_id=u.workflow_id,
                        uscc=u.uscc,
                        district=u.district,
                        designation=u.designation,
                        decision=t.decision,
                        reason=t.reason,
                        clause=t.clause,
                    ),
                )
            else:
                await self._publish(subjects.deadline_subject(effect.kind), self._deadline(u, effect, batch))

    def _unit_changed(self, u: UnitSummary, effect: Transitioned, correlation_id: str) -> UnitChanged:
        t = effect.transition
        return UnitChanged(
            id=f"{u.workflow_id}-{t.seq}",
            occurred_at=t.at,
            correlation_id=correlation_id,
            actor=t.actor,
            workflow_id=u.workflow_id,
            seq=t.seq,
            uscc=u.uscc,
            enterprise_name=u.enterprise_name,
            district=u.district,
            designation=u.designation,
            state=t.state,
            state_zh=state_zh(t.state),
            state_changed=t.state_changed,
            submission_id=t.submission_id,
            reason=t.reason,
            clause=t.clause,
            task_id=t.task_id,
            total=t.total,
        )

    def _deadline(self, u: UnitSummary, effect: DeadlineFired, batch: EffectBatch) -> DeadlineEvent:
        ob = effect.obligation
        label = f"upcoming-{effect.offset_days}" if effect.kind == "upcoming" else effect.kind
        d = effect.deadline
        return DeadlineEvent(
            id=f"{u.workflow_id}-{ob.key}-{ob.due_day.isoformat()}-{label}",
            correlation_id=batch.correlation_id,
            occurred_at=effect.fired_at or utcnow(),
            actor=SYSTEM,
            kind=effect.kind,
            offset_days=effect.offset_days,
            workflow_id=u.workflow_id,
            uscc=u.uscc,
            enterprise_name=u.enterprise_name,
            district=u.district,
            designation=u.designation,
            deadline=ob.deadline,
            deadline_zh=d.name_zh,
            owner=ob.owner,
            due_on=ob.due_day,
            due_at=effect.due_at,
            clause=d.basis,
            consequence_zh=d.consequence_zh,
            task_id=ob.task_id,
        )

    async def _project(self, s: AsyncSession, batch: EffectBatch) -> None:
        """The unit's and its tasks' rows as of ``batch``, forward only (a replayed batch changes nothing)."""
        u = batch.unit
        row = await s.get(UnitProjection, u.workflow_id)
        if row is None:
            row = UnitProjection(
                workflow_id=u.workflow_id,
                uscc=u.uscc,
                district=u.district,
                designation=u.designation.value,
                enterprise_name=u.enterprise_name,
                state=u.state,
                last_seq=-1,
            )
        fresh = u.seq >= row.last_seq
        moved = fresh and row.district != u.district
        if fresh:
            row.district = u.district  # the bureau may settle a disputed district
            row.enterprise_name, row.state, row.last_seq = u.enterprise_name, u.state, u.seq
            row.level, row.graded_on, row.listed_on = u.level, u.graded_on, u.listed_on
            row.national, row.publicity_ends_on = u.national, u.publicity_ends_on
            row.updated_at = utcnow()
        s.add(row)
        for effect in batch.effects:
            if not isinstance(effect, TaskChanged):
                continue
            t = effect.task
            task = await s.get(TaskProjection, t.id)
            if task is not None and task.rev >= t.rev:
                continue
            task = task or TaskProjection(
                task_id=t.id,
                workflow_id=u.workflow_id,
                uscc=u.uscc,
                enterprise_name=u.enterprise_name,
                unit_district=u.district,
                designation=u.designation.value,
                kind=t.kind,
                title_zh=t.title_zh,
                role=t.role,
                status=t.status,
                opened_at=t.opened_at,
                clause=t.clause,
            )
            task.task_district, task.status, task.claimed_by = t.district, t.status, t.claimed_by
            task.escalated, task.due_at, task.decisions = t.escalated, t.due_at, list(t.decisions)
            task.decision, task.reason, task.rev = t.decision, t.reason, t.rev
            task.decided_by = t.decided_by.subject if t.decided_by else None
            task.context = {**t.context, **({"item": t.item.model_dump(mode="json")} if t.item else {})}
            task.enterprise_name = u.enterprise_name
            s.add(task)
        if moved:
            # Every task of a unit whose district the bureau changed is now read under its new district.
            await s.exec(
                update(TaskProjection)
                .where(col(TaskProjection.workflow_id) == u.workflow_id)
                .values(unit_district=u.district)
            )

    @activity.defn
    async def working_period(self, req: PeriodRequest) -> WorkingPeriod:
        """The last of ``working_days`` working days from ``start`` (D-CALENDAR); provisional for a year with no
        holiday notice yet, never a failure."""
        period = self._calendar.calendar().working_days_from(req.start, req.working_days)
        return WorkingPeriod(
            last_day=period.last_day, provisional=period.provisional, missing_years=list(period.missing_years)
        )

    @activity.defn
    async def last_working_day(self, req: PeriodRequest) -> date:
        """The same day as working_period, for workflows recorded before it existed (they replay through this)."""
        return self._calendar.calendar().working_days_from(req.start, req.working_days).last_day

    @activity.defn
    async def rescore(self, request: RescoreRequest) -> Rescored:
        """Ask scoring to recompute the declaration with the experts' points."""
        reply = RescoreReply.model_validate(await self._request(subjects.SCORING_RESCORE, request))
        if reply.evaluation is None:
            # Scoring answered and refused: asking again gives the same answer.
            raise ApplicationError(
                f"scoring could not recompute {request.submission_id}: {reply.error}", non_retryable=True
            )
        ev = reply.evaluation
        # Task pages read the evaluation from this copy: keep it the recomputed one, expert points included.
        async with self._db.writing() as s:
            copy = await s.get(EvaluationCopy, request.submission_id)
            if copy is not None:
                copy.result = ev.model_dump(mode="json")
                s.add(copy)
                await s.commit()
        return Rescored(
            total=ev.total,
            level=ev.level,
            passed=ev.passed,
            provisional=ev.provisional,
            rulebook_version=ev.rulebook_version,
        )
