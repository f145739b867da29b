"""The audit export's speed against the raw ceiling of reading the same rows.

    .venv/bin/python bench/audit_export.py                  # 5,000 records (about 55 MB of JSON Lines)
    .venv/bin/python bench/audit_export.py --records 1000   # smaller
    .venv/bin/python bench/audit_export.py --keep DIR       # keep the database (e.g. to profile with py-spy)

Fills a fresh SQLite audit store through the audit service's own append path (``Chain.append``, one
commit a record, as the consumer writes them) with messages shaped like the stack's: every third an
evaluation with 25 items of Chinese explanation (about 11 kB, as scoring sends them), the others unit
steps and tasks (about 1 kB). Then it reads the whole export through audit's HTTP app (in process,
so no socket is timed), JSON Lines and CSV, ``--repeat`` times each, and compares with the ceiling:
the same rows read with sqlite3 alone and joined into one text, with no HTTP and no formatting.
Prints MB/s for each. The machine is shared: the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import load_average
from greenfab.auth import Principal, issue_token
from greenfab.db import Database, create_tables, make_engine
from services.audit import api
from services.audit.handlers import Chain
from services.audit.tables import AuditBase

SECRET = "bench-audit-export-" + "0123456789abcdef" * 2  # signs this run's auditor token only
DISTRICTS = ("海淀区", "朝阳区", "顺义区", "大兴区", "昌平区")


def uscc(n: int) -> str:
    return f"91110108MA{n:07d}"[:17] + "X"


def message(n: int) -> dict[str, Any]:
    """The n-th message: an evaluation every third, else a unit step."""
    code = uscc(n // 3)
    base: dict[str, Any] = {
        "id": f"bench-{n}",
        "occurred_at": f"2026-01-01T00:{n // 3600 % 60:02d}:{n // 60 % 60:02d}.{n % 60:06d}+00:00",
        "correlation_id": f"c-{n // 3}",
        "uscc": code,
        "district": DISTRICTS[n % len(DISTRICTS)],
        "enterprise_name": f"北京基准测试企业{n // 3}有限公司",
    }
    if n % 3 == 0:
        items = [
            {
                "id": f"GR-{i}", "name_zh": f"指标{i}：单位产品综合能耗", "points": "3.5", "max": "5",
                "status": "scored",
                "explanation": "单位产品综合能耗优于行业基准值，按D-IND插值得分；" * 6,
                "basis": "003 附表 第十六条；D-IND", "inputs": {"energy": 1.23, "benchmark": 1.5}, "missing": [],
            }
            for i in range(25)
        ]  # fmt: skip
        evaluation = {"scheme": "grading", "edition": "2025", "rulebook_version": "0" * 64, "as_of": "2025-10-08",
                      "items": items, "total": "81.11", "provisional": False, "level": 3,
                      "verdict_zh": "三级"}  # fmt: skip
        return {**base, "type": "evaluation.completed", "actor": {"role": "system", "subject": "scoring"},
                "submission_id": f"s-{n}", "scheme": "grading", "evaluation": evaluation}  # fmt: skip
    return {**base, "type": "unit.changed", "actor": {"role": "system", "subject": "workflow"},
            "workflow_id": f"unit-{code}-annual-grading", "seq": n % 3, "state": "graded",
            "state_zh": "已分级", "reason": "分级结果公开（003 第十九条）" * 8, "clause": "003 第十九条"}  # fmt: skip


async def fill(db: Database, records: int) -> float:
    await create_tables(db.engine, AuditBase.metadata)
    chain = Chain(db)
    t = time.perf_counter()
    for n in range(records):
        await chain.append(message(n))
    return time.perf_counter() - t


def ceiling(path: Path) -> tuple[float, int]:
    """Seconds to read every row's columns with sqlite3 and join them into text: no HTTP, no formatting."""
    t = time.perf_counter()
    with sqlite3.connect(path) as conn:
        text = "\n".join("\t".join(map(str, row)) for row in conn.execute("SELECT * FROM audit_log ORDER BY seq"))
    return time.perf_counter() - t, len(text.encode())


async def export(db: Database, fmt: str) -> tuple[float, int]:
    auditor = issue_token(SECRET, Principal(role="auditor", subject="bench-auditor", scope=None))
    transport = httpx.ASGITransport(app=api.build_app(db, SECRET))
    async with httpx.AsyncClient(transport=transport, base_url="http://audit", timeout=600) as c:
        t = time.perf_counter()
        size = 0
        async with c.stream(
            "GET", "/v1/audit/export", params={"format": fmt}, headers={"authorization": f"Bearer {auditor}"}
        ) as r:
            r.raise_for_status()
            async for chunk in r.aiter_bytes():
                size += len(chunk)
        return time.perf_counter() - t, size


async def main_async(args: argparse.Namespace) -> None:
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="greenfab-audit-export-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "audit.db"
    db = Database(make_engine(f"sqlite+aiosqlite:///{path}"))
    try:
        if not path.exists() or args.refill:
            path.unlink(missing_ok=True)
            took = await fill(db, args.records)
            print(f"{args.records:,} records appended in {took:.1f} s ({path}, {path.stat().st_size / 1e6:.1f} MB)")
        raw = [ceiling(path) for _ in range(args.repeat)]
        best_raw = min(t for t, _ in raw)
        print(f"load average {load_average()}")
        mb = raw[0][1] / 1e6
        print(f"  ceiling (sqlite3 read + join)  {mb:6.1f} MB  best {best_raw:6.2f} s  {mb / best_raw:7.1f} MB/s")
        for fmt in ("jsonl", "csv"):
            runs = [await export(db, fmt) for _ in range(args.repeat)]
            best = min(t for t, _ in runs)
            size = runs[0][1]
            print(f"  GET /v1/audit/export {fmt:<5}     {size / 1e6:6.1f} MB  best {best:6.2f} s"
                  f"  {size / 1e6 / best:7.1f} MB/s  ({best / best_raw:.1f}× the ceiling's time)")  # fmt: skip
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3, help="exports of each format (the best is printed)")
    parser.add_argument("--keep", help="a folder to keep (and reuse) the database in")
    parser.add_argument("--refill", action="store_true", help="with --keep: fill it again")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
