"""The outbox relay: publishes committed events to JetStream, oldest first, until each is acked.

A crash between commit and publish leaves the row unpublished; the next relay run sends it.
A crash between publish and marking it sent re-sends it with the same ``Nats-Msg-Id``, which
JetStream drops inside its duplicate window, and consumers are idempotent beyond it.

A row is deleted once JetStream has acked it: the stream holds the event from then on, and a sent
row kept for ever was a second copy of every submission (about 2 kB a unit) that nothing read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from faststream.nats import NatsBroker
from sqlmodel import col, delete, select, update

from greenfab.db import Database
from greenfab.messaging import stream_of
from services.intake.tables import OutboxMessage

log = logging.getLogger(__name__)


class OutboxRelay:
    """Runs until cancelled; ``wake()`` after a commit publishes at once instead of at the next poll."""

    def __init__(self, db: Database, broker: NatsBroker, poll_s: float, batch: int = 100) -> None:
        self._db = db
        self._broker = broker
        self._poll_s = poll_s
        self._batch = batch
        self._wakeup = asyncio.Event()

    def wake(self) -> None:
        self._wakeup.set()

    async def run(self) -> None:
        while True:
            try:
                sent = await self.publish_pending()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay pass failed; retrying")
                sent = 0
            if sent < self._batch:
                self._wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), self._poll_s)

    async def publish_pending(self) -> int:
        """Publish one batch of unpublished events, oldest first; how many went out."""
        async with self._db.session() as s:
            rows = (
                await s.exec(
                    select(OutboxMessage)
                    .where(col(OutboxMessage.published_at).is_(None))
                    .order_by(col(OutboxMessage.seq))
                    .limit(self._batch)
                )
            ).all()
        if not rows:
            return 0
        # The batch is sent at once, in commit order, and its acks awaited together: one publish round trip and
        # one commit per batch, not per event (per event, a relay under a burst of declarations fell minutes
        # behind). An event whose publish failed is retried on the next pass and may then land after later ones;
        # nothing downstream relies on the order between events (each consumer handles a batch at once).
        outcomes = await asyncio.gather(*(self._send(row) for row in rows), return_exceptions=True)
        sent = [row.seq for row, outcome in zip(rows, outcomes, strict=True) if outcome is None]
        failed = [(row, o) for row, o in zip(rows, outcomes, strict=True) if isinstance(o, Exception)]
        async with self._db.writing() as s:
            tries = col(OutboxMessage.attempts) + 1
            if sent:
                await s.exec(delete(OutboxMessage).where(col(OutboxMessage.seq).in_(sent)))
            for row, exc in failed:
                one = update(OutboxMessage).where(col(OutboxMessage.seq) == row.seq)
                await s.exec(one.values(attempts=tries, last_error=f"{type(exc).__name__}: {exc}"))
            await s.commit()
        if failed:
            row, exc = failed[0]
            log.warning("outbox: publishing %s (and %d more) failed: %s", row.message_id, len(failed) - 1, exc)
        return len(sent)

    async def _send(self, row: OutboxMessage) -> None:
        await self._broker.publish(
            row.payload,
            row.subject,
            headers={"Nats-Msg-Id": row.message_id},
            correlation_id=row.payload.get("correlation_id"),
            stream=stream_of(row.subject),
            timeout=10,
        )
