"""The outbox relay: publishes committed events to JetStream, in order, until each is acked.

A crash between commit and publish leaves the row unpublished; the next relay run sends it.
A crash between publish and marking it sent re-sends it with the same ``Nats-Msg-Id``, which
JetStream drops inside its duplicate window, and consumers are idempotent beyond it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from faststream.nats import NatsBroker
from sqlmodel import col, select

from contracts.envelope import utcnow
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
        sent = 0
        for row in rows:
            try:
                await self._broker.publish(
                    row.payload,
                    row.subject,
                    headers={"Nats-Msg-Id": row.message_id},
                    correlation_id=row.payload.get("correlation_id"),
                    stream=stream_of(row.subject),
                    timeout=10,
                )
            except Exception as exc:  # noqa: BLE001 - recorded on the row and retried next pass
                async with self._db.session() as s:
                    fresh = await s.get(OutboxMessage, row.seq)
                    if fresh is not None:
                        fresh.attempts += 1
                        fresh.last_error = f"{type(exc).__name__}: {exc}"
                        s.add(fresh)
                        await s.commit()
                log.warning("outbox: publishing %s failed: %s", row.message_id, exc)
                break  # keep order: nothing later goes out before this one
            async with self._db.session() as s:
                fresh = await s.get(OutboxMessage, row.seq)
                if fresh is not None:
                    fresh.published_at = utcnow()
                    fresh.attempts += 1
                    s.add(fresh)
                    await s.commit()
            sent += 1
        return sent
