"""One message at a time per unit: a lock per workflow id, held while a consumer hands a message to it.

The evaluation consumer handles many messages at once (a Temporal start waits for the server, so one at a
time caps the rate at 1 / latency). Two messages about the same unit must still reach its workflow in the
order they were delivered: a handler takes the unit's lock before its first await, and asyncio wakes a
lock's waiters first come, first served. Locks of units nobody waits for are dropped, so the map stays as
small as the number of units in flight.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class UnitLocks:
    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]

    def __len__(self) -> int:
        return len(self._locks)
