"""Async database engines and sessions for SQLite (default) and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession


class JSONText(str):
    """A JSON column's value that is JSON text already (e.g. a worker's answer): written as it is, not re-encoded."""

    __slots__ = ()


def compact_json(value: object) -> str:
    """How JSON columns are written: UTF-8 as it is and no spaces. Python's default (``\\uXXXX`` for every
    Chinese character, a space after each separator) stored an evaluation in 28–34 % more bytes."""
    if isinstance(value, JSONText):
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def make_engine(url: str, schema: str | None = None) -> AsyncEngine:
    """An engine for ``url``; SQLite gets WAL and a busy timeout so readers never block the writer.

    On PostgreSQL, ``schema`` puts the service's tables in a schema of their own (its search path), so
    that services sharing one database never meet each other's tables (two have an ``evaluations``).
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, json_serializer=compact_json)

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    if schema:
        return create_async_engine(
            url,
            pool_pre_ping=True,
            json_serializer=compact_json,
            connect_args={"server_settings": {"search_path": schema}},
        )
    return create_async_engine(url, pool_pre_ping=True, json_serializer=compact_json)


async def create_tables(engine: AsyncEngine, metadata: object = None) -> None:
    """Create the tables of ``metadata`` (default: every SQLModel table imported) if missing."""
    md = metadata if metadata is not None else SQLModel.metadata
    async with engine.begin() as conn:
        await conn.run_sync(md.create_all)  # type: ignore[attr-defined]


class Database:
    """An engine and its session factory; ``session()`` is the unit of work."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._factory = async_sessionmaker(engine, expire_on_commit=False, class_=AsyncSession)
        self._write_lock = asyncio.Lock() if engine.dialect.name == "sqlite" else None

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self._factory() as session:
            yield session

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncSession]:
        """A session for a write transaction: on SQLite one at a time in this process, first come first served.

        SQLite admits one writer; concurrent writers otherwise wait in its busy handler, whose sleeps grow
        to 100 ms long after the lock is free (half the workflow service's SQLite time, bench/FINDINGS.md 3).
        """
        if self._write_lock is None:
            async with self.session() as session:
                yield session
            return
        async with self._write_lock, self.session() as session:
            yield session

    async def ping(self) -> None:
        from sqlalchemy import text

        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self.engine.dispose()
