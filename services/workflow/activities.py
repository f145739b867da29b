"""The lifecycle workflow's activities: the only place it touches the database and NATS.

Each is idempotent: the message id is derived from the workflow id and step, so a retried
activity publishes a duplicate JetStream drops, and the projection only moves forward.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from temporalio import activity

from contracts import subjects
from contracts.envelope import Actor, Envelope
from contracts.messages import DeadlineDue, UnitChanged
from greenfab.db import Database
from services.workflow.model import STATE_ZH, DeadlineRecord, TransitionRecord
from services.workflow.tables import UnitProjection

ACTOR = Actor(role="system", subject="workflow")


# Publishes an envelope to JetStream and waits for the server's ack.
Publish = Callable[[str, Envelope], Awaitable[None]]


class LifecycleActivities:
    def __init__(self, db: Database, publish: Publish) -> None:
        self._db = db
        self._publish = publish

    @activity.defn
    async def record_transition(self, rec: TransitionRecord) -> None:
        t, inp = rec.transition, rec.input
        async with self._db.session() as s:
            row = await s.get(UnitProjection, rec.workflow_id)
            if row is None:
                row = UnitProjection(
                    workflow_id=rec.workflow_id,
                    uscc=inp.uscc,
                    district=inp.district,
                    designation=inp.designation.value,
                    enterprise_name=inp.enterprise_name,
                    state=t.state,
                    last_seq=t.seq,
                )
            elif t.seq > row.last_seq:
                row.state, row.last_seq, row.updated_at = t.state, t.seq, t.at
            s.add(row)
            await s.commit()
        await self._publish(
            subjects.UNIT_CHANGED,
            UnitChanged(
                id=f"{rec.workflow_id}-{t.seq}",
                occurred_at=t.at,
                correlation_id=rec.correlation_id,
                actor=ACTOR,
                workflow_id=rec.workflow_id,
                uscc=inp.uscc,
                district=inp.district,
                designation=inp.designation,
                state=t.state,
                state_zh=STATE_ZH.get(t.state, t.state),
                submission_id=t.submission_id,
                reason=t.reason,
                total=t.total,
            ),
        )

    @activity.defn
    async def deadline_due(self, rec: DeadlineRecord) -> None:
        await self._publish(
            subjects.DEADLINE_DUE,
            DeadlineDue(
                id=f"{rec.workflow_id}-due-{rec.deadline.key}-{rec.due_at.isoformat()}",
                correlation_id=rec.correlation_id,
                actor=ACTOR,
                workflow_id=rec.workflow_id,
                uscc=rec.input.uscc,
                district=rec.input.district,
                deadline=rec.deadline.key,
                due_at=rec.due_at,
                clause=rec.deadline.basis,
            ),
        )
