"""The workflow service's unit directory alone: its real request/reply responder over its projection table.

Intake asks it (NATS ``greenfab.workflow.units``) which units an enterprise has before it takes a
notice. Tests of intake run it beside intake without Temporal: in-process (``unit_directory``), or as
a process (``python -m tests.support.directory NATS_URL DATABASE_URL READY_FILE``) until it is terminated;
it creates READY_FILE once it answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from greenfab.db import Database, create_tables, make_engine
from greenfab.messaging import make_broker
from services.workflow import consumers
from services.workflow.tables import UnitProjection, WorkflowBase


@contextlib.asynccontextmanager
async def unit_directory(nats_url: str, database_url: str, units: list[UnitProjection]) -> AsyncIterator[None]:
    """The responder, answering from a projection table holding ``units``."""
    db = Database(make_engine(database_url))
    await create_tables(db.engine, WorkflowBase.metadata)
    async with db.session() as s:
        s.add_all(units)
        await s.commit()
    broker = make_broker([nats_url], "test-unit-directory", 5)
    consumers.register_requests(broker, db)
    await broker.start()
    try:
        yield
    finally:
        await broker.stop()
        await db.close()


async def _serve(nats_url: str, database_url: str, ready: Path) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with unit_directory(nats_url, database_url, []):
        ready.touch()  # noqa: ASYNC240  # one empty file, once
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(_serve(sys.argv[1], sys.argv[2], Path(sys.argv[3])))
