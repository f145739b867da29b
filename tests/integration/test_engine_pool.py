"""The engine pool's failure paths against real worker processes: a worker killed with several calls in flight, its
socket closed under it, rules it cannot load, callers that give up, reload and close while calls are in flight.

Every call is answered (scored, or a named error): none is left waiting.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import psutil
import pytest

from contracts.evaluation import Evaluation
from contracts.schemes import Scheme
from services.scoring.worker import EngineCrashed, EnginePool, run_batch_in_worker
from tests.integration import crash

RULES = Path(__file__).resolve().parents[2] / "rules"
ON = date(2025, 10, 8)
GOOD = {"plot_ratio": 2, "plot_ratio_requirement": 1}


@pytest.fixture
async def pool(request: pytest.FixtureRequest) -> AsyncIterator[EnginePool]:
    processes = getattr(request, "param", 1)
    engine = EnginePool(RULES, processes)
    await engine.warm_up()
    try:
        yield engine
    finally:
        engine.close()


def scored(result: Any) -> bool:
    return isinstance(result, Evaluation) and next(i for i in result.items if i.id == "GR-1").points == 2


def gone(pids: list[int], within: float = 10) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in pids):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("pool", [1, 2], indirect=True)
async def test_a_worker_killed_with_calls_in_flight_is_restarted_and_every_call_is_scored(pool: EnginePool) -> None:
    before = pool.pids()
    calls = [
        asyncio.ensure_future(pool.evaluate(Scheme.GRADING, ON, {**GOOD, "sleep": 0.15}, fn=crash.slow))
        for _ in range(12)
    ]
    await asyncio.sleep(0.3)  # the first batch is being worked on, the next waits in the socket
    victim = before[0]
    os.kill(victim, signal.SIGKILL)
    results = await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 60)
    assert all(scored(r) for r in results), results
    assert victim not in pool.pids() and len(pool.pids()) == len(before)
    assert pool.started == len(before) + 1
    assert gone([victim])
    assert scored(await pool.evaluate(Scheme.GRADING, ON, GOOD))


async def test_a_call_that_kills_its_worker_fails_alone_among_many_in_flight(pool: EnginePool) -> None:
    calls = [
        pool.evaluate(Scheme.GRADING, ON, {**GOOD, "sleep": 0.02, "crash": i == 7}, fn=crash.slow) for i in range(20)
    ]
    results = await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 60)
    assert isinstance(results[7], EngineCrashed) and "crashed twice on this declaration" in str(results[7])
    assert all(scored(r) for i, r in enumerate(results) if i != 7), results
    assert pool.started == 3  # the first worker, its replacement after the batch, and after the retry alone


async def test_a_worker_whose_socket_closes_is_replaced_and_the_call_that_did_it_fails(pool: EnginePool) -> None:
    (first,) = pool.pids()
    calls = [
        pool.evaluate(Scheme.GRADING, ON, {**GOOD, "sleep": 0.02, "close_pipe": i == 3}, fn=crash.slow)
        for i in range(6)
    ]
    results = await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 60)
    assert isinstance(results[3], EngineCrashed)
    assert all(scored(r) for i, r in enumerate(results) if i != 3), results
    assert gone([first]), "the worker that could no longer be heard was left running"
    assert scored(await pool.evaluate(Scheme.GRADING, ON, GOOD))


async def test_run_retries_once_then_names_the_request(pool: EnginePool) -> None:
    with pytest.raises(EngineCrashed, match="crashed twice on this request"):
        await pool.run(crash.die, "grading", ON.isoformat(), {})
    assert await pool.run(crash.pid) in pool.pids()
    answers = await pool.run(run_batch_in_worker, crash.die_on_marker, [("grading", ON.isoformat(), GOOD)] * 2)
    assert [Evaluation.model_validate_json(a).items[0].points for a in answers] == [2, 2]


async def test_callers_that_give_up_do_not_wedge_the_worker(pool: EnginePool) -> None:
    calls = [
        asyncio.ensure_future(pool.evaluate(Scheme.GRADING, ON, {**GOOD, "sleep": 0.1}, fn=crash.slow))
        for _ in range(8)
    ]
    await asyncio.sleep(0.05)
    for call in calls:
        call.cancel()
    await asyncio.gather(*calls, return_exceptions=True)
    assert scored(await asyncio.wait_for(pool.evaluate(Scheme.GRADING, ON, GOOD), 30))
    assert pool.started == 1


async def test_reload_lets_calls_in_flight_finish_on_the_old_workers(pool: EnginePool) -> None:
    old = pool.pids()
    calls = [pool.evaluate(Scheme.GRADING, ON, {**GOOD, "sleep": 0.05}, fn=crash.slow) for _ in range(8)]
    running = asyncio.ensure_future(asyncio.gather(*calls))
    await asyncio.sleep(0.1)
    pool.reload()
    assert all(scored(r) for r in await asyncio.wait_for(running, 60))
    await pool.warm_up()
    assert set(pool.pids()).isdisjoint(old)
    assert await pool.run(crash.pid) in pool.pids()
    assert gone(old), "a worker replaced by reload() was left running"


async def test_close_answers_every_call_in_flight_and_stops_the_workers() -> None:
    pool = EnginePool(RULES, 2)
    await pool.warm_up()
    workers = pool.pids()
    calls = [
        asyncio.ensure_future(pool.evaluate(Scheme.GRADING, ON, {**GOOD, "sleep": 0.2}, fn=crash.slow))
        for _ in range(40)
    ]
    await asyncio.sleep(0.1)
    pool.close()
    results = await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 10)
    assert all(isinstance(r, RuntimeError) and "closed" in str(r) for r in results), results
    assert gone(workers)
    with pytest.raises(RuntimeError, match="closed"):
        await pool.evaluate(Scheme.GRADING, ON, GOOD)


async def test_rules_a_worker_cannot_load_fail_the_calls_without_a_restart_loop(tmp_path: Path) -> None:
    pool = EnginePool(tmp_path, 1)  # an empty rules folder: the worker dies while starting
    try:
        with pytest.raises(RuntimeError, match="exited while starting"):
            await pool.warm_up()
        with pytest.raises(EngineCrashed):
            await asyncio.wait_for(pool.evaluate(Scheme.GRADING, ON, GOOD), 60)
        started = pool.started
        await asyncio.sleep(1)
        assert pool.started == started <= 3, "a worker that cannot start was started again and again"
    finally:
        pool.close()


async def test_a_call_that_cannot_cross_the_pipe_fails_alone_and_the_worker_lives_on(pool: EnginePool) -> None:
    calls = [pool.evaluate(Scheme.GRADING, ON, GOOD) for _ in range(5)]
    unpicklable = pool.run(crash.pid, lambda: 0)  # refused here: a lambda cannot be pickled
    results = await asyncio.wait_for(asyncio.gather(unpicklable, *calls, return_exceptions=True), 60)
    assert isinstance(results[0], Exception) and not isinstance(results[0], EngineCrashed)
    assert all(scored(r) for r in results[1:]), results
    with pytest.raises(RuntimeError, match="cannot be read in the worker"):  # refused there, said to the caller
        await asyncio.wait_for(pool.run(crash.pid, crash.Unreadable()), 60)
    assert scored(await pool.evaluate(Scheme.GRADING, ON, GOOD))
    assert pool.started == 1
