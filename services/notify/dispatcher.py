"""The dispatcher: sends pending e-mail and webhook deliveries, retries with backoff, dead-letters.

Each due delivery is claimed (status `sending` with a lease) before it is sent, and marked `sent`
after; many are sent at once, each with its own timeout, so an unreachable server delays only
its own deliveries. A delivery left `sending` by a crash is taken again when its lease runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from sqlalchemy import update
from sqlmodel import col, select

from contracts.envelope import utcnow
from greenfab.db import Database
from services.notify.channels import SendFailed
from services.notify.domain import backoff_s
from services.notify.tables import DeliveryRow, RecipientRow

log = logging.getLogger(__name__)


class Channel(Protocol):
    async def send(self, d: DeliveryRow, to: RecipientRow) -> None: ...


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    base_s: float
    cap_s: float
    lease_s: float


class Dispatcher:
    def __init__(self, db: Database, channels: dict[str, Channel], policy: RetryPolicy, poll_s: float) -> None:
        self.db, self.channels, self.policy, self.poll_s = db, channels, policy, poll_s
        self.wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self._concurrency = asyncio.Semaphore(16)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="notify-dispatcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for t in list(self._sending):
            t.cancel()
        await asyncio.gather(*self._sending, return_exceptions=True)

    async def _loop(self) -> None:
        while True:
            try:
                for row in await self._claim():
                    task = asyncio.create_task(self._send(row))
                    self._sending.add(task)
                    task.add_done_callback(self._sending.discard)
            except Exception:
                log.exception("dispatcher: claiming deliveries failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.poll_s)
            self.wake.clear()

    async def _claim(self, limit: int = 64) -> list[DeliveryRow]:
        now = utcnow()
        async with self.db.session() as s:
            # `sending` rows are due again only when their lease (next_attempt_at) has run out.
            due = col(DeliveryRow.status).in_(("pending", "sending")) & (col(DeliveryRow.next_attempt_at) <= now)
            rows = list((await s.exec(select(DeliveryRow).where(due).order_by(col(DeliveryRow.id)).limit(limit))).all())
            claimed = []
            for row in rows:
                lease = now + timedelta(seconds=self.policy.lease_s)
                # Compare-and-set on status and time, so two dispatchers never take the same row.
                result = await s.exec(
                    update(DeliveryRow)
                    .where(col(DeliveryRow.id) == row.id)
                    .where(col(DeliveryRow.status) == row.status)
                    .where(col(DeliveryRow.next_attempt_at) == row.next_attempt_at)
                    .values(status="sending", next_attempt_at=lease)
                )
                if result.rowcount == 1:
                    claimed.append(row)
            await s.commit()
        return claimed

    async def _send(self, row: DeliveryRow) -> None:
        async with self._concurrency:
            error = ""
            try:
                async with self.db.session() as s:
                    to = await s.get(RecipientRow, (row.recipient_role, row.recipient))
                channel = self.channels.get(row.channel)
                if to is None or channel is None:
                    raise SendFailed(f"no {row.channel} address for recipient {row.recipient}")
                await channel.send(row, to)
            except SendFailed as exc:
                error = str(exc)
            except Exception as exc:  # a bug in a channel must still leave the delivery retrying, visibly
                log.exception("dispatcher: sending delivery %s failed", row.id)
                error = f"{type(exc).__name__}: {exc}"
            await self._finish(row, error)

    async def _finish(self, row: DeliveryRow, error: str) -> None:
        attempts = row.attempts + 1
        values: dict[str, object] = {"attempts": attempts}
        if not error:
            values.update(status="sent", sent_at=utcnow(), last_error="")
        elif attempts >= self.policy.max_attempts:
            values.update(status="dead", last_error=error)
            log.warning("delivery %s dead after %d tries: %s", row.id, attempts, error)
        else:
            wait = backoff_s(attempts, self.policy.base_s, self.policy.cap_s)
            values.update(status="pending", last_error=error, next_attempt_at=utcnow() + timedelta(seconds=wait))
        async with self.db.session() as s:
            await s.exec(update(DeliveryRow).where(col(DeliveryRow.id) == row.id).values(**values))
            await s.commit()
