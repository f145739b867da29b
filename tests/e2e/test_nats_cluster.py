"""NATS as a three-node cluster under `greenfab up --nats-cluster 3`, the services on PostgreSQL (issue 15, item 2).

1,000 declarations are posted while the leader of the submissions stream is SIGKILLed and, once it is
back, the leader of the evaluations stream is restarted: every declaration is evaluated once, each
unit has one workflow holding its one declaration, and nothing is dead-lettered. The slowest test of
the suite; it prints its timeline (posting, kill, restart, settled) so a slow run shows where the time went.
"""

from __future__ import annotations

import asyncio
import json
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

import httpx
import nats as nats_py
import psutil
import pytest
from sqlalchemy import text
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from contracts import subjects
from contracts.nats_roles import ROLES
from greenfab.db import make_engine
from tests.conftest import uscc
from tests.e2e.stack import Stack, declaration
from tests.support.servers import Postgres, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.cluster, pytest.mark.timeout(1800)]
N = 1000


@pytest.fixture
def cluster(tmp_path: Path, postgres: Postgres) -> Iterator[Stack]:
    stack = Stack(tmp_path / "data", nats_nodes=3, database_url=postgres.url)
    stack.up(timeout=180)
    try:
        yield stack
    finally:
        assert stack.stop() == 0
        asyncio.run(_drop_schemas(postgres))


async def _drop_schemas(postgres: Postgres) -> None:
    engine = make_engine(postgres.url)
    async with engine.begin() as conn:
        for name in ("intake", "scoring", "workflow", "notify", "audit"):
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    await engine.dispose()


def node_process(stack: Stack, node: str) -> psutil.Process:
    assert stack.proc is not None
    for child in psutil.Process(stack.proc.pid).children():
        if any(arg.endswith(f"{node}.conf") for arg in child.cmdline()):
            return child
    raise LookupError(node)


def leader(stack: Stack, stream: str) -> str:
    """The node leading ``stream``, once one does (right after a node dies the cluster may still be electing)."""
    return wait_until(lambda: asyncio.run(_leader(stack, stream)), 60, f"a leader of {stream}")


async def _leader(stack: Stack, stream: str) -> str | None:
    nc = await nats_py.connect(stack.nats_urls(), connect_timeout=2)
    try:
        info = await nc.jetstream(timeout=5).stream_info(stream)
        assert info.config.num_replicas == 3, info.config
        return str(info.cluster.leader) if info.cluster and info.cluster.leader else None
    finally:
        await nc.close()


def node_healthy(stack: Stack, node: str) -> bool:
    k = int(node.rsplit("-", 1)[1]) - 1
    r = httpx.get(f"http://127.0.0.1:{stack.ports['nats-monitor-port'] + k}/healthz", timeout=2)
    return r.status_code == 200


def test_a_thousand_declarations_survive_a_killed_and_a_restarted_nats_node(cluster: Stack) -> None:
    stack = cluster
    accepted: dict[str, str] = {}
    lock = threading.Lock()
    tokens = {uscc(i): stack.token("enterprise", uscc(i)) for i in range(N)}

    local = threading.local()
    clients: list[httpx.Client] = []

    def client() -> httpx.Client:  # one keep-alive connection per posting thread
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=stack.url("intake"), timeout=30)
            with lock:
                clients.append(local.client)
        return cast(httpx.Client, local.client)

    def submit(i: int) -> None:
        code = uscc(i)
        for attempt in range(5):  # intake commits first: only its own answer can be lost, and a retry is safe
            r = client().post(
                "/v1/declarations",
                json=declaration(i),
                headers={"Authorization": f"Bearer {tokens[code]}", "Idempotency-Key": f"cluster-{i}"},
            )
            if r.status_code in (200, 202):
                with lock:
                    accepted[code] = r.json()["id"]
                return
            time.sleep(0.5 * (attempt + 1))
        raise AssertionError(f"declaration {i}: {r.status_code} {r.text}")

    def mark(what: str) -> None:  # the run's timeline, shown with the result (or the failure)
        print(f"{time.monotonic() - t0:6.1f} s  {what} ({len(accepted)} accepted)", flush=True)

    killed = leader(stack, subjects.SUBMISSIONS.name)
    t0 = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(submit, i) for i in range(N)]
        wait_until(lambda: len(accepted) >= N // 3, 300, "a third posted")
        old = node_process(stack, killed)
        old.send_signal(signal.SIGKILL)  # the submissions stream's leader, mid-flight
        mark(f"SIGKILLed {killed}")
        # greenfab up restarts it; wait until it is back and current before touching another node
        wait_until(lambda: node_process(stack, killed).pid != old.pid and node_healthy(stack, killed), 120, killed)
        mark(f"{killed} back")
        restarted = leader(stack, subjects.EVALUATIONS.name)
        if restarted == killed:
            restarted = next(n for n in ("nats-1", "nats-2", "nats-3") if n != killed)
        wait_until(lambda: len(accepted) >= 2 * N // 3, 300, "two thirds posted")
        old = node_process(stack, restarted)
        old.send_signal(signal.SIGTERM)  # a restart: it stops and greenfab up starts it again
        mark(f"restarting {restarted}")
        for f in futures:
            f.result()
    for c in clients:
        c.close()
    posted_in = time.monotonic() - t0
    mark("all posted")
    wait_until(lambda: node_process(stack, restarted).pid != old.pid and node_healthy(stack, restarted), 120, "back")
    mark(f"{restarted} back")

    assert len(accepted) == N
    counts = settled(stack, 600)
    mark("settled")
    took = time.monotonic() - t0
    print(f"\n{N} declarations posted in {posted_in:.0f} s, all settled in {took:.0f} s; killed {killed}, "
          f"restarted {restarted}; {counts}")  # fmt: skip

    assert counts["evaluated"] == N and counts["scored"] == N and counts["units"] == N
    assert counts["failed units"] == 0
    assert counts[subjects.EVALUATIONS.name] == N, "each declaration evaluated once"
    assert counts[subjects.DEAD_LETTERS.name] == 0, "nothing dead-lettered"
    workflows = asyncio.run(_workflows(stack))
    assert workflows == {f"unit-{code}-annual-grading": [did] for code, did in accepted.items()}


def settled(stack: Stack, timeout: float) -> dict[str, int]:
    """The counts once every declaration is evaluated and graded and every durable consumer has nothing pending.

    Polled every 2 s (each look opens PostgreSQL and NATS connections: polling faster only takes CPU from the
    services being waited for); on a timeout the error says which consumers still hold what.
    """
    deadline = time.monotonic() + timeout
    counts: dict[str, int] = {}
    lagging: dict[str, str] = {}
    while time.monotonic() < deadline:
        try:
            counts, lagging = asyncio.run(_counts(stack))
        except (OSError, TimeoutError, nats_py.errors.Error) as exc:  # a node still coming back
            lagging = {"error": repr(exc)}
        else:
            if counts["evaluated"] >= N and counts["units"] >= N and not lagging:
                return counts
        time.sleep(2)
    raise TimeoutError(f"not settled after {timeout} s: {counts}; consumers still holding messages: {lagging}")


async def _counts(stack: Stack) -> tuple[dict[str, int], dict[str, str]]:
    """Rows in PostgreSQL, messages per stream, and the durable consumers that still hold messages."""
    assert stack.database_url
    engine = make_engine(stack.database_url)
    counts: dict[str, int] = {}
    lagging: dict[str, str] = {}
    async with engine.connect() as db:
        for name, query in (
            ("evaluated", "SELECT count(*) FROM intake.declarations WHERE evaluated_at IS NOT NULL AND error IS NULL"),
            ("scored", "SELECT count(*) FROM scoring.evaluations"),
            # One unit per declaration, in whatever state its result put it: under D-HOLD these declarations'
            # results go back to the enterprise (returned, missing inputs), so waiting for 'graded' waits for ever.
            ("units", "SELECT count(*) FROM workflow.units"),
            ("failed units", "SELECT count(*) FROM workflow.units WHERE state = 'evaluation_failed'"),
        ):
            counts[name] = int((await db.execute(text(query))).scalar_one())
    await engine.dispose()
    nc = await nats_py.connect(stack.nats_urls(), connect_timeout=2)
    try:
        js = nc.jetstream(timeout=5)
        for spec in subjects.ALL_STREAMS:
            counts[spec.name] = (await js.stream_info(spec.name)).state.messages
        for role in ROLES.values():
            for subject, durable in role.consumes:
                info = await js.consumer_info(_stream(subject), durable)
                if info.num_pending or info.num_ack_pending:
                    lagging[durable] = (
                        f"pending {info.num_pending}, unacked {info.num_ack_pending}, "
                        f"redelivered {info.num_redelivered}, leader {info.cluster.leader if info.cluster else '?'}"
                    )
        if counts[subjects.EVALUATIONS.name] > N:
            evaluations = await _subjects_ids(js, subjects.EVALUATIONS.name)
            counts["duplicates"] = sum(n - 1 for n in Counter(evaluations).values())
    finally:
        await nc.close()
    return counts, lagging


def _stream(subject: str) -> str:
    from contracts.nats_roles import stream_of

    return stream_of(subject)


async def _subjects_ids(js: Any, stream: str) -> list[str]:
    info = await js.stream_info(stream)
    return [
        json.loads((await js.get_msg(stream, seq)).data or b"")["submission_id"]
        for seq in range(info.state.first_seq, info.state.last_seq + 1)
    ]


async def _workflows(stack: Stack) -> dict[str, list[str]]:
    client = await Client.connect(f"127.0.0.1:{stack.ports['temporal-port']}", data_converter=pydantic_data_converter)
    # Temporal's visibility (what list_workflows reads) is written after the workflow, from a task queue of its
    # own: a unit whose workflow ran and projected its row can be missing from the list for a moment. Ask until
    # every unit is listed (or a minute passed); the comparison below then names any that never was.
    deadline = time.monotonic() + 60
    while True:
        ids = [wf.id async for wf in client.list_workflows('WorkflowType = "UnitLifecycleWorkflow"')]
        if len(ids) >= N or time.monotonic() > deadline:
            break
        await asyncio.sleep(1)
    gate = asyncio.Semaphore(16)

    async def submissions(wid: str) -> tuple[str, list[str]]:
        async with gate:
            snap = await client.get_workflow_handle(wid).query("snapshot")
            return wid, list(snap["submissions"])

    return dict(await asyncio.gather(*(submissions(w) for w in ids)))
