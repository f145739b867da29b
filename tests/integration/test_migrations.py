"""Schema migrations on SQLite and PostgreSQL: head matches the models, data survives upgrades, and a
database made by create_all before migrations is recognised and stamped, never recreated."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from alembic import command
from sqlalchemy import JSON, Boolean, Connection, Date, DateTime, Integer, MetaData, Table, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from greenfab.db import make_engine
from greenfab.migrations import MigrationError, Migrations, history, migrate, new_revision, pending_changes
from greenfab_cli.db_cli import migrating_services, migrations_of
from tests.support.servers import Postgres

T = TypeVar("T")
SERVICES = migrating_services()
each_service = pytest.mark.parametrize("service", SERVICES)


async def on(engine: AsyncEngine, work: Callable[[Connection], T]) -> T:
    async with engine.connect() as conn:
        result = await conn.run_sync(work)
        await conn.commit()
        return result


def sample_value(column: Any, n: int) -> Any:
    """A value of the column's type that makes a round trip visible (Chinese text, a nested JSON)."""
    kind = column["type"]
    if isinstance(kind, Boolean):
        return True
    if isinstance(kind, Integer):
        return 1000 + n
    if isinstance(kind, JSON):
        return {"n": n, "名称": "北京示例", "items": [1, 2.5, None]}
    if isinstance(kind, DateTime):
        return datetime(2025, 10, 8, 9, 30, n % 60, tzinfo=UTC)
    if isinstance(kind, Date):
        return date(2025, 10, 8)
    length = getattr(kind, "length", None) or 200
    return f"值{n}-{column['name']}"[:length]


def fill(conn: Connection, rows_per_table: int = 3) -> dict[str, list[dict[str, Any]]]:
    """Insert rows into every table of the service (bar the version table) and read them back as stored."""
    stored = {}
    md = MetaData()
    md.reflect(conn)
    for name, table in md.tables.items():
        if name.startswith("alembic_version"):
            continue
        columns = inspect(conn).get_columns(name)
        for n in range(rows_per_table):
            conn.execute(table.insert().values({c["name"]: sample_value(c, n) for c in columns}))
        stored[name] = read(conn, table)
    return stored


def read(conn: Connection, table: Table) -> list[dict[str, Any]]:
    order = list(table.primary_key.columns) or list(table.columns)
    return [dict(r._mapping) for r in conn.execute(select(table).order_by(*order))]


def still_there(conn: Connection, before: dict[str, list[dict[str, Any]]]) -> None:
    md = MetaData()
    md.reflect(conn)
    for name, rows in before.items():
        after = read(conn, md.tables[name])
        assert [{k: r[k] for k in rows[0]} for r in after] == rows, f"{name} changed"


@each_service
async def test_the_head_revision_builds_exactly_the_models_tables(service: str, database_url: str) -> None:
    """A model changed without a revision fails here: autogenerate must find nothing to write."""
    migrations = migrations_of(service)
    engine = make_engine(database_url)
    try:
        await migrate(engine, migrations, allowed=True)
        assert await on(engine, lambda c: pending_changes(c, migrations)) == []
    finally:
        await engine.dispose()


@each_service
async def test_data_written_at_the_first_revision_survives_the_upgrade_to_head(service: str, database_url: str) -> None:
    migrations = migrations_of(service)
    engine = make_engine(database_url)
    try:

        def at_first_revision_with_data(conn: Connection) -> dict[str, list[dict[str, Any]]]:
            command.upgrade(migrations.config(conn), migrations.first())
            return fill(conn)

        before = await on(engine, at_first_revision_with_data)
        assert all(len(rows) == 3 for rows in before.values()) and before
        await migrate(engine, migrations, allowed=True)
        assert await on(engine, migrations.current) == migrations.head()
        await on(engine, lambda c: still_there(c, before))
    finally:
        await engine.dispose()


@each_service
async def test_a_database_made_by_create_all_is_stamped_not_recreated(service: str, database_url: str) -> None:
    migrations = migrations_of(service)
    engine = make_engine(database_url)
    try:
        await on(engine, lambda c: made_by_create_all(c, migrations))
        before = await on(engine, fill)
        assert await on(engine, migrations.current) is None
        await migrate(engine, migrations, allowed=True)
        assert await on(engine, migrations.current) == migrations.head()
        await on(engine, lambda c: still_there(c, before))
    finally:
        await engine.dispose()


@each_service
async def test_a_create_all_database_that_differs_from_the_first_revision_is_refused_by_name(
    service: str, database_url: str
) -> None:
    migrations = migrations_of(service)
    engine = make_engine(database_url)
    try:
        await on(engine, lambda c: made_by_create_all(c, migrations))
        table, dropped = await on(engine, a_plain_column)
        await on(engine, lambda c: c.execute(text(f"ALTER TABLE {table} DROP COLUMN {dropped}")))  # an older model
        with pytest.raises(MigrationError, match=f"{table} lacks {dropped}"):
            await migrate(engine, migrations, allowed=True)
        assert await on(engine, migrations.current) is None, "nothing stamped"
    finally:
        await engine.dispose()


@each_service
async def test_told_not_to_migrate_it_refuses_a_database_behind_the_code(service: str, tmp_path: Path) -> None:
    migrations = migrations_of(service)
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'behind.db'}")
    try:
        with pytest.raises(MigrationError, match=f"greenfab db upgrade {service}") as refused:
            await migrate(engine, migrations, allowed=False)
        assert f"GREENFAB_{service.upper()}_MIGRATE=false" in str(refused.value)
        assert await on(engine, lambda c: inspect(c).get_table_names()) == []
        await migrate(engine, migrations, allowed=True)
        await migrate(engine, migrations, allowed=False)  # at head: starts
    finally:
        await engine.dispose()


@each_service
async def test_a_new_revision_made_the_documented_way_applies_with_the_data_intact(
    service: str, database_url: str, tmp_path: Path
) -> None:
    """`greenfab db revision` on a changed model: autogenerated in batch mode, applied over rows on both databases."""
    real = migrations_of(service)
    versions = tmp_path / "versions"
    shutil.copytree(real.versions, versions)
    changed = MetaData()
    for table in real.metadata.tables.values():
        table.to_metadata(changed)
    target = sorted(changed.tables.values(), key=lambda t: t.name)[0]
    target.append_column(_column("added_by_test"))
    draft = Migrations(service, versions, changed)
    path = new_revision(draft, "add a column")
    assert path.parent == versions and "batch_alter_table" in path.read_text() and "added_by_test" in path.read_text()

    engine = make_engine(database_url)
    try:
        await migrate(engine, real, allowed=True)
        before = await on(engine, fill)
        await migrate(engine, draft, allowed=True)
        assert await on(engine, draft.current) == draft.head() != real.head()
        await on(engine, lambda c: still_there(c, before))
        columns = await on(engine, lambda c: [x["name"] for x in inspect(c).get_columns(target.name)])
        assert "added_by_test" in columns
        assert await on(engine, lambda c: pending_changes(c, draft)) == []
    finally:
        await engine.dispose()


def _column(name: str) -> Any:
    from sqlalchemy import Column, String

    return Column(name, String(20), nullable=True)


def made_by_create_all(conn: Connection, migrations: Migrations) -> None:
    """The tables as create_all made them before migrations: the first revision's, with no version table."""
    command.upgrade(migrations.config(conn), migrations.first())
    conn.execute(text(f"DROP TABLE {migrations.version_table}"))


def a_plain_column(conn: Connection) -> tuple[str, str]:
    """(table, column) of a column no key or index uses, which SQLite can drop in place."""
    found = inspect(conn)
    for table in sorted(found.get_table_names()):
        keyed = set(found.get_pk_constraint(table)["constrained_columns"])
        for index in found.get_indexes(table):
            keyed |= {str(c) for c in index["column_names"]}
        for unique in found.get_unique_constraints(table):
            keyed |= set(unique["column_names"])
        for column in found.get_columns(table):
            if column["name"] not in keyed:
                return table, column["name"]
    raise AssertionError("no plain column")


async def test_services_sharing_one_postgresql_database_keep_their_tables_apart(postgres: Postgres) -> None:
    """Scoring and workflow both have an `evaluations` table: each service gets its own schema and version table."""
    engines = {name: make_engine(postgres.url, name) for name in SERVICES}
    try:
        for name, engine in engines.items():
            await migrate(engine, migrations_of(name), allowed=True, schema=name)
        for name, engine in engines.items():
            tables = set(await on(engine, lambda c: inspect(c).get_table_names()))
            assert tables == {*migrations_of(name).metadata.tables, f"alembic_version_{name}"}
            migrations = migrations_of(name)
            assert await on(engine, lambda c, m=migrations: pending_changes(c, m)) == []  # type: ignore[misc]
    finally:
        for name, engine in engines.items():
            async with engine.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
            await engine.dispose()


def test_a_service_told_not_to_migrate_refuses_to_start_on_an_empty_database(tmp_path: Path) -> None:
    from tests.conftest import SECRET
    from tests.integration.test_startup import run_service
    from tests.support.servers import free_port

    env = {
        "GREENFAB_AUTH_SECRET": SECRET,
        "GREENFAB_NATS_URL": f"nats://127.0.0.1:{free_port()}",
        "GREENFAB_AUDIT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}",
        "GREENFAB_AUDIT_HTTP_PORT": str(free_port()),
        "GREENFAB_AUDIT_MIGRATE": "false",
    }
    out = run_service("audit", env, tmp_path)
    assert out.returncode == 3
    from services.audit.migrations import MIGRATIONS

    head = history(MIGRATIONS)[-1][0]
    assert f"audit: audit's database is at revision none (empty), the code needs {head}" in out.stderr
    assert "run `greenfab db upgrade audit` first" in out.stderr


async def test_two_replicas_starting_together_on_postgresql_migrate_once(postgres: Postgres) -> None:
    engines = [make_engine(postgres.url, "replicas") for _ in range(3)]
    migrations = migrations_of("intake")
    try:
        await asyncio.gather(*(migrate(e, migrations, allowed=True, schema="replicas") for e in engines))
        assert await on(engines[0], migrations.current) == migrations.head()
        await migrate(engines[1], migrations, allowed=False, schema="replicas")  # the lock was released
    finally:
        async with engines[0].begin() as conn:
            await conn.execute(text('DROP SCHEMA IF EXISTS "replicas" CASCADE'))
        for engine in engines:
            await engine.dispose()


def test_greenfab_db_reports_then_upgrades_a_stack_s_databases(tmp_path: Path) -> None:
    from tests.unit.test_cli_stack_lookup import greenfab

    data = tmp_path / "data"
    empty = greenfab("db", "current", "--data-dir", str(data), cwd=tmp_path, state=tmp_path)
    assert empty.returncode == 0 and empty.stdout.count("no database yet") == len(SERVICES), empty.stdout
    up = greenfab("db", "upgrade", "--data-dir", str(data), cwd=tmp_path, state=tmp_path)
    assert up.returncode == 0, up.stderr
    now = greenfab("db", "current", "--data-dir", str(data), cwd=tmp_path, state=tmp_path)
    assert now.returncode == 0 and now.stdout.count("up to date") == len(SERVICES), now.stdout
    listed = greenfab("db", "history", "intake", cwd=tmp_path, state=tmp_path)
    assert "0001" in listed.stdout and "initial schema" in listed.stdout
    unknown = greenfab("db", "upgrade", "nosuch", "--data-dir", str(data), cwd=tmp_path, state=tmp_path)
    assert unknown.returncode == 2 and "nosuch" in unknown.stderr
