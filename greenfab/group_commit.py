"""Group commit: writes that arrive while a transaction is open wait and go together in the next one.

Consumers handle many messages at once, and on SQLite their writes take turns (``Database.writing``). One
transaction per message made the write lock the bottleneck under load: each holds it across several thread
round trips of aiosqlite, stretched by a busy event loop (bench/FINDINGS.md 2.6). Here the first writer to
arrive opens a transaction for everything waiting, and the others ride along: one lock hold, one commit.

Each caller returns only after the commit that holds its write, so a consumer acks its message after the
commit: nothing lost. If a group fails, each of its writes is tried again on its own, so one bad message
fails alone and the others are not retried for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from greenfab.db import Database

T = TypeVar("T")
R = TypeVar("R")

# Writes every item of a group in the session (not committing); one result per item, in order.
Apply = Callable[[AsyncSession, list[T]], Awaitable[list[R]]]


class Grouped(Generic[T, R]):
    """The waiting and the writer of a group commit; ``_commit`` writes one group in one transaction."""

    max_group = 200
    # A failed group is tried again write by write, so one bad write fails alone. A subclass whose groups fail
    # only when its database does (nothing one write could break) answers every caller with that error at once.
    retry_alone = True

    def __init__(self) -> None:
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def __call__(self, item: T) -> R:
        """Write ``item`` with whatever else is waiting; its result once committed."""
        done: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_groups(), name="group-commit")
        # Shielded: a caller cancelled meanwhile does not cancel the others' transaction (its message, not acked,
        # is redelivered and then found on record).
        return await asyncio.shield(done)

    async def _commit(self, items: list[T]) -> list[R]:
        raise NotImplementedError

    async def _write_groups(self) -> None:
        group: list[tuple[T, asyncio.Future[R]]] = []
        try:
            while self._waiting:
                group, self._waiting = self._waiting[: self.max_group], self._waiting[self.max_group :]
                await self._write_group(group)
        except asyncio.CancelledError:
            # The writer is cancelled only when the service stops. Its callers wait on shielded futures, so they
            # would wait for ever: each is cancelled instead, its message stays unacked and is redelivered after
            # the restart (then found on record if this group's commit did land).
            for _, done in [*group, *self._waiting]:
                done.cancel()
            self._waiting = []
            raise

    async def _write_group(self, group: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._commit([item for item, _ in group])
        except Exception as exc:  # noqa: BLE001 - each write is tried alone below, or its caller told
            for item, done in group:
                if self.retry_alone:
                    await self._alone(item, done)
                elif not done.done():
                    done.set_exception(exc)
            return
        for (_, done), result in zip(group, results, strict=True):
            if not done.done():
                done.set_result(result)

    async def _alone(self, item: T, done: asyncio.Future[R]) -> None:
        try:
            result = (await self._commit([item]))[0]
        except Exception as exc:  # noqa: BLE001 - handed to its caller, whose message is retried
            if not done.done():
                done.set_exception(exc)
            return
        if not done.done():
            done.set_result(result)


class GroupCommit(Grouped[T, R]):
    """A group commit whose writes are applied in one session of ``db`` (its writer's turn) and committed."""

    def __init__(self, db: Database, apply: Apply[T, R], max_group: int = 200) -> None:
        super().__init__()
        self._db = db
        self._apply = apply
        self.max_group = max_group

    async def _commit(self, items: list[T]) -> list[R]:
        async with self._db.writing() as s:
            results = await self._apply(s, items)
            await s.commit()
        return results
