"""CPU the services' event loop and HTTP parser cost: asyncio + h11 against uvloop + httptools.

    .venv/bin/python bench/event_loop.py [--transactions 2000] [--posts 2000] [--rounds 2]

Two measurements, each alternating the two set-ups round by round to share the machine's noise:

- a SQLite transaction through SQLAlchemy and aiosqlite (a SELECT by key, an INSERT of 500 bytes, a commit, in
  WAL mode): CPU of this process per transaction, on asyncio's loop and on uvloop's (aiosqlite runs each call in
  its thread and wakes the loop when it is done, which is where the loops differ);
- a FastAPI app behind uvicorn answering POSTs of a 1.4 kB JSON body, 8 in flight: CPU of the server process
  per POST with h11 on asyncio (uvicorn's pure-Python choice) and with httptools on uvloop (what
  `greenfab/service.py` runs).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx
import psutil
import uvloop
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import load_average
from tests.support.servers import free_port

SERVER = """
import asyncio, sys
import uvicorn, uvloop
from fastapi import FastAPI

app = FastAPI()

@app.post("/x")
async def x(body: dict) -> dict:
    return {"id": "abc", "n": len(body)}

fast, port = sys.argv[1] == "fast", int(sys.argv[2])
config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", http="httptools" if fast else "h11")
(uvloop.run if fast else asyncio.run)(uvicorn.Server(config).serve())
"""
BODY = {f"k{i}": "值" * 10 + str(i) for i in range(40)}


async def transactions(n: int) -> float:
    """CPU ms of this process per transaction."""
    folder = tempfile.mkdtemp(prefix="event-loop-")
    engine = create_async_engine(f"sqlite+aiosqlite:///{folder}/x.db")
    async with engine.begin() as c:
        await c.execute(text("pragma journal_mode=wal"))
        await c.execute(text("create table t (id integer primary key, v text)"))
    t0 = time.process_time()
    for i in range(n):
        async with engine.begin() as c:
            await c.execute(text("select * from t where id = :i"), {"i": i})
            await c.execute(text("insert into t (v) values (:v)"), {"v": "x" * 500})
    took = time.process_time() - t0
    await engine.dispose()
    return took / n * 1000


async def drive(port: int, n: int) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        sem = asyncio.Semaphore(8)

        async def one() -> None:
            async with sem:
                (await client.post("/x", json=BODY)).raise_for_status()

        await asyncio.gather(*(one() for _ in range(n)))


def posts(fast: bool, n: int) -> float:
    """Server CPU ms per POST."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, "fast" if fast else "plain", str(port)])
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.post(f"http://127.0.0.1:{port}/x", json=BODY).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        asyncio.run(drive(port, 50))  # warm
        proc = psutil.Process(server.pid)
        before = sum(proc.cpu_times()[:2])
        asyncio.run(drive(port, n))
        return (sum(proc.cpu_times()[:2]) - before) / n * 1000
    finally:
        server.terminate()
        server.wait(10)


def run_loop(fast: bool, make: Callable[[], Coroutine[Any, Any, float]]) -> float:
    return uvloop.run(make()) if fast else asyncio.run(make())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transactions", type=int, default=2000)
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print(f"load average {load_average()}")
    tx: dict[bool, list[float]] = {False: [], True: []}
    http: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(args.rounds):
        for fast in (False, True):
            tx[fast].append(run_loop(fast, lambda: transactions(args.transactions)))
            http[fast].append(posts(fast, args.posts))
    for fast, name in ((False, "asyncio + h11"), (True, "uvloop + httptools")):
        print(
            f"{name:20s} SQLite transaction {statistics.median(tx[fast]):.3f} ms CPU "
            f"({', '.join(f'{x:.3f}' for x in tx[fast])}); POST {statistics.median(http[fast]):.3f} ms server CPU "
            f"({', '.join(f'{x:.3f}' for x in http[fast])})"
        )
    print(f"load average {load_average()}")


if __name__ == "__main__":
    main()
