"""`greenfab history` and `greenfab audit verify | export | reconcile`: read the audit store directly.

An auditor checks the store itself, not what a running service says about it.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from contracts import labels
from contracts.audit import AuditRecord, Reconciliation
from greenfab.db import Database, make_engine
from greenfab.terminal import table
from services.audit import export, handlers

T = TypeVar("T")


def database_url(data_dir: Path, explicit: str | None) -> str:
    return explicit or f"sqlite+aiosqlite:///{(data_dir / 'audit.db').resolve()}"


def _with_db(url: str, work: Callable[[Database], Awaitable[T]]) -> T:
    if url.startswith("sqlite") and not Path(url.split("///", 1)[-1]).exists():
        where = url.split("///", 1)[-1]
        raise SystemExit(f"no audit store at {where}: start the stack (greenfab up) or pass --database-url")

    async def run() -> T:
        db = Database(make_engine(url))
        try:
            return await work(db)
        finally:
            await db.close()

    return asyncio.run(run())


def cmd_history(uscc: str, fmt: str, url: str) -> int:
    rows = _with_db(url, lambda db: handlers.timeline(db, uscc))
    if not rows:
        print(f"no audit records for {uscc}", file=sys.stderr)
        return 1
    records = [handlers.public(r) for r in rows]
    if fmt == "table":
        body = [[r.occurred_at[:19].replace("T", " "), r.summary_zh, _who(r), r.reason, r.clause] for r in records]
        print(table(body, ["时间 (UTC)", "事项", "操作人", "理由", "依据"]))
    else:
        sys.stdout.writelines(export.lines(rows, "jsonl" if fmt == "jsonl" else "csv"))
    return 0


def _who(r: AuditRecord) -> str:
    return labels.actor_zh(r.actor_role, r.actor_subject)


def cmd_export(fmt: str, url: str) -> int:
    rows = _with_db(url, handlers.all_rows)
    sys.stdout.writelines(export.lines(rows, "csv" if fmt == "csv" else "jsonl"))
    return 0


def cmd_verify(url: str) -> int:
    verdict = _with_db(url, handlers.verdict)
    for f in verdict.findings:
        print(f"{f.problem.upper():9} seq {f.seq}: {f.detail}")
    state = "intact" if verdict.intact else f"BROKEN ({len(verdict.findings)} finding(s))"
    print(f"{verdict.records} records, head seq {verdict.head_seq} hash {verdict.head_hash}: {state}")
    return 0 if verdict.intact else 1


def cmd_reconcile(uscc: str, url: str, temporal_address: str, namespace: str) -> int:
    from temporalio.client import Client

    from services.audit.temporal_history import reconcile_unit

    async def work(db: Database) -> list[Reconciliation]:
        try:
            client = await Client.connect(temporal_address, namespace=namespace)
        except RuntimeError as exc:  # the SDK reports every connection failure as a RuntimeError
            raise SystemExit(
                f"greenfab audit reconcile: cannot reach Temporal at {temporal_address} (namespace {namespace}): "
                f"{str(exc).split(': ', 1)[-1][:200]}. Is the stack running? Pass --temporal-address or --data-dir"
            ) from None
        return await reconcile_unit(db, client, uscc)

    results = _with_db(url, work)
    if not results:
        print(f"no lifecycle records for {uscc}", file=sys.stderr)
        return 1
    for r in results:
        print(json.dumps(r.model_dump(), ensure_ascii=False, indent=2))
    return 0 if all(r.agrees for r in results) else 1
