"""Schema migrations with Alembic: each service versions its own tables.

Every service keeps its revisions in ``services/<name>/migrations/versions`` and its version in
its own table, ``alembic_version_<name>``, so services can share one database (on PostgreSQL
each service also gets its own schema, see ``greenfab.db.make_engine``). At start-up a service
brings its database to head, or, when told not to migrate, refuses to start on a database that
is not at head. A database made by ``create_all`` before migrations existed is recognised by its
tables, checked against the first revision and stamped, never recreated.

On SQLite, Alembic runs in batch mode (a changed table is copied into a new one), and a versioned
database is first copied to ``<file>.before-<head>`` so a failed upgrade loses nothing; on
PostgreSQL the upgrade is one transaction, under an advisory lock so replicas migrate once.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, MetaData, create_engine, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from greenfab.messaging import StartupError

log = logging.getLogger(__name__)
T = TypeVar("T")


class MigrationError(StartupError):
    """The database cannot be brought to the code's schema; the message says why and what to do."""


ALEMBIC_DIR = Path(__file__).resolve().parent / "alembic"  # env.py and the revision template, for every service


@dataclass(frozen=True)
class Migrations:
    """One service's revisions (``versions``), the tables they build (``metadata``) and its version table."""

    service: str
    versions: Path
    metadata: MetaData

    @property
    def version_table(self) -> str:
        return f"alembic_version_{self.service}"

    def config(self, connection: Connection | None = None) -> Config:
        cfg = Config()
        cfg.set_main_option("script_location", str(ALEMBIC_DIR))
        cfg.set_main_option("version_locations", str(self.versions))
        cfg.set_main_option("path_separator", "os")
        cfg.set_main_option("file_template", "%%(rev)s_%%(slug)s")
        cfg.attributes["connection"] = connection
        cfg.attributes["migrations"] = self
        return cfg

    def scripts(self) -> ScriptDirectory:
        return ScriptDirectory.from_config(self.config())

    def head(self) -> str:
        heads = self.scripts().get_heads()
        if len(heads) != 1:
            raise MigrationError(
                f"{self.service}'s migrations have {len(heads)} heads ({', '.join(heads)}): two revisions were "
                f"added on the same parent; renumber one so that it follows the other (its down_revision)"
            )
        return heads[0]

    def first(self) -> str:
        bases = self.scripts().get_bases()
        if len(bases) != 1:
            raise MigrationError(f"{self.service}'s migrations must start from one first revision, not {bases}")
        return bases[0]

    def current(self, connection: Connection) -> str | None:
        context = MigrationContext.configure(connection, opts={"version_table": self.version_table})
        return context.get_current_revision()


def run_env() -> None:
    """The body of ``greenfab/alembic/env.py``: run Alembic on the connection and service greenfab hands it."""
    from alembic import context

    connection = context.config.attributes.get("connection")
    migrations: Migrations | None = context.config.attributes.get("migrations")
    if connection is None or migrations is None:
        raise RuntimeError("run migrations through `greenfab db`, which hands Alembic the service's connection")
    context.configure(
        connection=connection,
        target_metadata=migrations.metadata,
        version_table=migrations.version_table,
        render_as_batch=True,  # SQLite alters tables only by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _on_connection(
    engine: AsyncEngine, schema: str | None, work: Callable[[Connection], T], lock: str | None = None
) -> T:
    async with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            # Batch mode drops and re-creates tables; never let that cascade (no transaction is open yet).
            await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        elif lock:
            # Two replicas of a service starting together: one migrates, the other waits and finds head.
            await conn.execute(text("SELECT pg_advisory_lock(hashtext(:key))"), {"key": lock})
            if schema:
                await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            await conn.commit()
        try:
            result = await conn.run_sync(work)
            await conn.commit()
        finally:
            if lock and engine.dialect.name != "sqlite":
                await conn.rollback()
                await conn.execute(text("SELECT pg_advisory_unlock(hashtext(:key))"), {"key": lock})
                await conn.commit()
        return result


async def migrate(engine: AsyncEngine, migrations: Migrations, *, allowed: bool, schema: str | None = None) -> None:
    """Bring the database to head (stamping a create_all-era one first); not ``allowed``: refuse unless at head."""
    head = migrations.head()
    logging.getLogger("alembic").setLevel(logging.WARNING)  # our own lines say what it does, once

    def work(conn: Connection) -> None:
        current = migrations.current(conn)
        if current is None and _adopt_legacy(conn, migrations):
            current = migrations.first()
        if current == head:
            return
        known = {s.revision for s in migrations.scripts().walk_revisions()}
        if current is not None and current not in known:
            raise MigrationError(
                f"{migrations.service}'s database is at revision {current}, which this code does not know "
                f"(newer code has run on it); run that code, or restore the database"
            )
        if not allowed:
            raise MigrationError(
                f"{migrations.service}'s database is at revision {current or 'none (empty)'}, the code needs {head}; "
                f"migrations are switched off (GREENFAB_{migrations.service.upper()}_MIGRATE=false or --no-migrate): "
                f"run `greenfab db upgrade {migrations.service}` first"
            )
        if current is not None:
            _backup_sqlite(conn, head)
        log.info("%s: upgrading the database from %s to %s", migrations.service, current or "empty", head)
        cfg = migrations.config(conn)
        command.upgrade(cfg, "head")

    await _on_connection(engine, schema, work, lock=f"greenfab-migrate-{migrations.service}")


def _adopt_legacy(conn: Connection, migrations: Migrations) -> bool:
    """True if the database holds the service's tables from before migrations; stamps it at the first revision.

    Its tables and columns must be exactly those of the first revision: anything else is refused with
    the differences named, for an operator to look at, rather than guessed at.
    """
    if not set(inspect(conn).get_table_names()) - {migrations.version_table}:
        return False  # an empty database: nothing to adopt
    baseline = _first_revision_schema(migrations)
    present = set(inspect(conn).get_table_names()) & set(baseline)
    if not present:
        return False
    problems = [f"table {t} is missing" for t in sorted(set(baseline) - present)]
    for table in sorted(present):
        columns = {c["name"] for c in inspect(conn).get_columns(table)}
        if missing := baseline[table] - columns:
            problems.append(f"{table} lacks {', '.join(sorted(missing))}")
        if extra := columns - baseline[table]:
            problems.append(f"{table} has {', '.join(sorted(extra))}, unknown to revision {migrations.first()}")
    if problems:
        raise MigrationError(
            f"{migrations.service}'s database has tables but no version table ({migrations.version_table}), and they "
            f"differ from the first revision: {'; '.join(problems)}. Bring them to that revision's schema by hand "
            f"(services/{migrations.service}/migrations/versions), then start again; or start from an empty database"
        )
    log.info("%s: tables made before migrations found; stamping them at %s", migrations.service, migrations.first())
    command.stamp(migrations.config(conn), migrations.first())
    return True


def _first_revision_schema(migrations: Migrations) -> dict[str, set[str]]:
    """Table → column names as the first revision creates them (run on a scratch in-memory SQLite)."""
    engine = create_engine("sqlite://")
    try:
        with engine.connect() as conn:
            command.upgrade(migrations.config(conn), migrations.first())
            conn.commit()
            found = inspect(conn)
            return {
                t: {c["name"] for c in found.get_columns(t)}
                for t in found.get_table_names()
                if t != migrations.version_table
            }
    finally:
        engine.dispose()


def _backup_sqlite(conn: Connection, head: str) -> None:
    if conn.dialect.name != "sqlite":
        return  # PostgreSQL runs each upgrade in one transaction: a failure leaves the database as it was
    path = conn.exec_driver_sql("PRAGMA database_list").fetchone()[2]  # type: ignore[index]
    if not path:
        return
    target = Path(f"{path}.before-{head}")
    if target.exists():
        target.unlink()
    # VACUUM cannot run inside a transaction; what is open here (a legacy database's stamp) is complete.
    conn.commit()
    conn.exec_driver_sql(f"VACUUM INTO '{target}'")
    log.info("copied %s to %s before upgrading", path, target)


async def current_and_head(
    engine: AsyncEngine, migrations: Migrations, schema: str | None = None
) -> tuple[str | None, str]:
    """The database's revision (None: not versioned) and the code's head."""
    head = migrations.head()
    current = await _on_connection(engine, schema, migrations.current)
    return current, head


def pending_changes(conn: Connection, migrations: Migrations) -> list[Any]:
    """What autogenerate would write for the service's tables here: empty when the models and the database agree."""
    context = MigrationContext.configure(
        conn, opts={"version_table": migrations.version_table, "compare_type": True, "render_as_batch": True}
    )
    return list(compare_metadata(context, migrations.metadata))


def new_revision(migrations: Migrations, message: str, *, autogenerate: bool = True) -> Path:
    """Write the next revision of ``migrations`` (autogenerated against a scratch SQLite at head); its path.

    Numbered 0001, 0002, …; ruff formats the script when it is installed.
    """
    head = migrations.head() if migrations.scripts().get_heads() else "0000"
    rev_id = f"{int(head) + 1:04d}" if head.isdigit() else None
    with tempfile.TemporaryDirectory(prefix="gf-revision-") as scratch:
        engine = create_engine(f"sqlite:///{Path(scratch) / 'head.db'}")
        try:
            with engine.connect() as conn:
                cfg = migrations.config(conn)
                command.upgrade(cfg, "head")
                conn.commit()
                script = command.revision(cfg, message=message, autogenerate=autogenerate, rev_id=rev_id)
        finally:
            engine.dispose()
    if script is None or isinstance(script, list):
        raise MigrationError("alembic wrote no single revision")
    path = Path(script.path)
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff:
        subprocess.run([ruff, "check", "--fix", "--quiet", str(path)], check=False)
        subprocess.run([ruff, "format", "--quiet", str(path)], check=False)
    return path


def history(migrations: Migrations) -> list[tuple[str, str | None, str]]:
    """(revision, its parent, its message) from the first to head."""
    scripts = migrations.scripts()
    out = []
    for s in reversed(list(scripts.walk_revisions())):
        parent = (
            s.down_revision if isinstance(s.down_revision, str) or s.down_revision is None else str(s.down_revision)
        )
        out.append((s.revision, parent, (s.doc or "").strip()))
    return out
