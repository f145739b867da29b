"""Shared fixtures: a real nats-server per session, a real PostgreSQL per session, databases per test."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from greenfab.auth import Principal, issue_token
from greenfab.db import Database, make_engine
from tests.support.servers import Nats, Postgres, nats_server, postgres_server

SECRET = secrets.token_urlsafe(48)


@pytest.fixture
def nats() -> Iterator[Nats]:
    """A fresh JetStream server per test: streams and consumers never leak between tests."""
    with nats_server() as server:
        yield server


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    with postgres_server() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Each database test runs on SQLite and on PostgreSQL (left empty afterwards for the next test)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    pg: Postgres = request.getfixturevalue("postgres")
    yield pg.url
    engine = make_engine(pg.url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(make_engine(database_url))
    yield db
    await db.close()


def token(role: str, scope: str | None, secret: str = SECRET) -> str:
    return issue_token(secret, Principal(role=role, subject=scope or role, scope=scope))


def uscc(n: int) -> str:
    """The n-th made-up enterprise USCC with a valid GB 32100 check character."""
    from stdnum.cn import uscc as stdnum_uscc

    body = f"91110108MA{n:07d}"
    return body + str(stdnum_uscc.calc_check_digit(body))
