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


class GroupCommit(Generic[T, R]):
    def __init__(self, db: Database, apply: Apply[T, R], max_group: int = 200) -> None:
        self._db = db
        self._apply = apply
        self._max_group = max_group
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def __call__(self, item: T) -> R:
        """Write ``item`` with whatever else is waiting; its result once committed."""
        done: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_groups(), name="group-commit")
        # Shielded: a caller cancelled meanwhile does not cancel the others' transaction.
        return await asyncio.shield(done)

    async def _write_groups(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting[: self._max_group], self._waiting[self._max_group :]
            try:
                results = await self._commit([item for item, _ in group])
            except Exception:  # noqa: BLE001 - each write is tried alone below, and fails alone
                for item, done in group:
                    await self._alone(item, done)
                continue
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

    async def _commit(self, items: list[T]) -> list[R]:
        async with self._db.writing() as s:
            results = await self._apply(s, items)
            await s.commit()
        return results
