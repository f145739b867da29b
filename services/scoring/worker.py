"""The engine's worker process: restarted when it dies; the evaluation it was on is retried once.

durable_rules' C core can segfault; in a child process that costs one retry, not the service.
A worker dies with the service, however the service dies (SIGKILL included): the kernel sends it
SIGKILL when its parent goes (PR_SET_PDEATHSIG), and multiprocessing's resource tracker, which
the workers keep open, then sees its pipe close and exits too. Nothing is left under init.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import logging
import multiprocessing
import os
import pickle
import signal
import threading
import time
from collections import deque
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from contracts.evaluation import Evaluation
from contracts.schemes import Scheme

log = logging.getLogger(__name__)

_engine: Any = None
_rules_dir: str = ""
_advisor: Any = None
_replayers: dict[str, Any] = {}
PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """In a child process: be killed when ``parent`` exits, or exit now if it already has."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)


def exit_with_parent() -> None:
    """In a worker of a pool that may be started from any thread (the what-if's): exit when the process
    that started it is gone. A thread watching the parent id, since PR_SET_PDEATHSIG (die_with_parent)
    follows the parent's *thread*, and such pools start their workers from whichever thread submits first.
    """
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _init(rules_dir: str, parent: int) -> None:
    global _engine, _rules_dir
    die_with_parent(parent)
    from services.scoring.engine import RulesEngine

    _engine = RulesEngine.from_dir(Path(rules_dir))
    _rules_dir = rules_dir
    settle()


def settle() -> None:
    """Once the rules are loaded: keep them out of the garbage collector's full passes (gc.freeze).

    The rule library is a large graph of pydantic models that lives as long as the worker; without
    this every full collection walks it again (about 5 % of an evaluation's time in py-spy).
    """
    gc.collect()
    gc.freeze()


def evaluate_in_worker(
    scheme: str, as_of: str, data: dict[str, Any], expert_points: dict[str, str] | None = None
) -> str:
    """Runs in the worker: one evaluation, returned as its JSON text.

    One string crosses the pipe (pickled in one piece); the scoring service stores and publishes it without
    reading it (handlers.Announcement), so the service's own share of an evaluation stays small.
    """
    points = {k: Decimal(v) for k, v in (expert_points or {}).items()}
    result: Evaluation = _engine.evaluate(Scheme(scheme), date.fromisoformat(as_of), data, points)
    return result.model_dump_json()


class Failed:
    """In a batch's answer: the exception one call raised (the others' answers are unaffected)."""

    def __init__(self, error: BaseException) -> None:
        try:
            pickle.dumps(error)
        except Exception:  # noqa: BLE001 - it must cross the pipe: keep what it said
            error = RuntimeError(f"{type(error).__name__}: {error}")
        self.error = error


def run_batch_in_worker(fn: Any, calls: list[tuple[Any, ...]]) -> list[Any]:
    """Runs in the worker: ``fn(*args)`` for each call of a batch; an exception answers its call only."""
    out: list[Any] = []
    for args in calls:
        try:
            out.append(fn(*args))
        except Exception as exc:  # noqa: BLE001 - answered to its own caller, as if it had run alone
            out.append(Failed(exc))
    return out


def advise_in_worker(
    scheme: str, as_of: str, data: dict[str, Any], level: int | None, target: str | None
) -> dict[str, Any]:
    """Runs in the worker: the advisor over this worker's engine (its proposals are scored by durable_rules)."""
    global _advisor
    from services.scoring.advice_data import AdviceData
    from services.scoring.advisor import Advisor

    if _advisor is None:
        _advisor = Advisor(_engine.library, AdviceData.load(Path(_rules_dir)), _engine)
    advice = _advisor.advise(
        Scheme(scheme), date.fromisoformat(as_of), data, level=level, target=Decimal(target) if target else None
    )
    return dict(advice.model_dump(mode="json"))


def replay_in_worker(snapshot: dict[str, Any], as_of: str, data: dict[str, Any]) -> dict[str, Any]:
    """Runs in the worker: the declaration scored by durable_rules under exactly the snapshot's rules."""
    from services.scoring.editions import Snapshot
    from services.scoring.engine import RulesEngine

    snap = Snapshot.model_validate(snapshot)
    if snap.version not in _replayers:
        _replayers[snap.version] = RulesEngine(snap.library())
    result: Evaluation = _replayers[snap.version].evaluate(snap.scheme, date.fromisoformat(as_of), data)
    return result.model_dump(mode="json")


class EngineCrashed(RuntimeError):
    """The worker died twice on the same evaluation."""


def _settle(future: asyncio.Future[Any], answer: Any) -> None:
    if future.done():  # its caller gave up (cancelled)
        return
    if isinstance(answer, Failed):
        future.set_exception(answer.error)
    else:
        future.set_result(answer)


# Calls sent to a worker in one round trip, at most. Calls that arrive in the same turn of the event loop are
# shared out over the free slots (BATCHES_PER_WORKER per worker); one evaluation alone goes at once.
MAX_BATCH = 16
BATCHES_PER_WORKER = 2


class EnginePool:
    """One or more worker processes with the engine loaded; safe to call from asyncio.

    Evaluations waiting for a worker go to it together, in one round trip: the process pool's cost per
    task (a pickle each way, its queue threads, a wake-up of the event loop) was about 400 µs of the
    service's CPU per evaluation, which two workers share, so two workers gave no more than one.
    """

    def __init__(self, rules_dir: Path, processes: int = 1) -> None:
        self._rules_dir = str(rules_dir)
        self._processes = processes
        self._pool = self._new_pool()
        self._waiting: deque[tuple[Any, tuple[Any, ...], asyncio.Future[Any]]] = deque()
        self._in_flight = 0
        self._kick_planned = False
        self._tasks: set[asyncio.Future[None]] = set()
        self._alone = asyncio.Lock()  # calls retried one at a time after a crash

    def _new_pool(self) -> ProcessPoolExecutor:
        # Concurrency hazard: PR_SET_PDEATHSIG fires when the *thread* that started the worker exits. Workers
        # are started by submit(), so submit only from the event loop's thread, which lives as long as we do.
        return ProcessPoolExecutor(
            max_workers=self._processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init,
            initargs=(self._rules_dir, os.getpid()),
        )

    async def evaluate(
        self,
        scheme: Scheme,
        as_of: date,
        data: dict[str, Any],
        fn: Any = evaluate_in_worker,
        expert_points: Mapping[str, Decimal] | None = None,
    ) -> Evaluation:
        """Evaluate in a worker; if the worker dies, restart it and try once more."""
        raw = await self.evaluate_json(scheme, as_of, data, fn, expert_points)
        if isinstance(raw, str | bytes):
            return Evaluation.model_validate_json(raw)
        return Evaluation.model_validate(raw)

    async def evaluate_json(
        self,
        scheme: Scheme,
        as_of: date,
        data: dict[str, Any],
        fn: Any = evaluate_in_worker,
        expert_points: Mapping[str, Decimal] | None = None,
    ) -> Any:
        """The worker's answer as it sent it (the evaluation's JSON text, from ``evaluate_in_worker``), unread:
        for a caller that stores and forwards it, which reading it into an Evaluation would only slow."""
        points = {k: str(v) for k, v in (expert_points or {}).items()}
        args = (scheme.value, as_of.isoformat(), data) + ((points,) if points else ())
        return await self._call(fn, args)

    def _call(self, fn: Any, args: tuple[Any, ...]) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._waiting.append((fn, args, future))
        if not self._kick_planned:
            # After the callers that are ready in this turn of the loop have queued theirs too.
            self._kick_planned = True
            loop.call_soon(self._kick)
        return future

    def _kick(self) -> None:
        self._kick_planned = False
        slots = self._processes * BATCHES_PER_WORKER
        while self._waiting and self._in_flight < slots:
            fn = self._waiting[0][0]
            # The waiting calls shared out over the free slots: one batch of all of them would keep every other
            # worker idle, and leave the one busy with nothing queued behind it while its answers are read.
            size = min(MAX_BATCH, -(-len(self._waiting) // (slots - self._in_flight)))
            batch: list[tuple[Any, tuple[Any, ...], asyncio.Future[Any]]] = []
            while self._waiting and self._waiting[0][0] is fn and len(batch) < size:
                batch.append(self._waiting.popleft())
            self._in_flight += 1
            task = asyncio.ensure_future(self._send(fn, batch))
            self._tasks.add(task)  # the loop keeps only a weak reference to a task
            task.add_done_callback(self._tasks.discard)

    async def _send(self, fn: Any, batch: list[tuple[Any, tuple[Any, ...], asyncio.Future[Any]]]) -> None:
        loop = asyncio.get_running_loop()
        pool = self._pool
        try:
            answers = await loop.run_in_executor(pool, run_batch_in_worker, fn, [args for _, args, _ in batch])
        except BrokenProcessPool:
            log.error("scoring worker died (try 1 of 2, %d calls in its batch); restarting it", len(batch))
            self._restart(pool)
            answers = None
        except Exception as exc:  # noqa: BLE001 - e.g. the pool was shut down (reload, close): every call of the batch fails
            for _, _, future in batch:
                _settle(future, Failed(exc))
            return
        except BaseException:
            for _, _, future in batch:
                future.cancel()
            raise
        finally:
            self._in_flight -= 1
            self._kick()
        if answers is None:
            # Which call crashed is unknown: retry each alone, one at a time, so only that one fails twice.
            for _, args, future in batch:
                async with self._alone:
                    answer = await self._alone_once(fn, args)
                _settle(future, answer)
            return
        for (_, _, future), answer in zip(batch, answers, strict=True):
            _settle(future, answer)

    async def _alone_once(self, fn: Any, args: tuple[Any, ...]) -> Any:
        loop = asyncio.get_running_loop()
        pool = self._pool
        try:
            return (await loop.run_in_executor(pool, run_batch_in_worker, fn, [args]))[0]
        except BrokenProcessPool:
            log.error("scoring worker died (try 2 of 2); restarting it")
            self._restart(pool)
            return Failed(
                EngineCrashed("the rules engine process crashed twice on this declaration; it was not scored")
            )

    def _restart(self, pool: ProcessPoolExecutor) -> None:
        if self._pool is pool:
            pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()

    async def run(self, fn: Any, *args: Any) -> Any:
        """``fn(*args)`` in a worker (a module-level function); restarted and tried once more if the worker dies."""
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            pool = self._pool
            try:
                return await loop.run_in_executor(pool, fn, *args)
            except BrokenProcessPool:
                log.error("scoring worker died (try %d of 2); restarting it", attempt)
                self._restart(pool)
        raise EngineCrashed("the rules engine process crashed twice on this request")

    def reload(self) -> None:
        """New workers that read the rules folder again (after a publication); work in flight finishes on the old."""
        old, self._pool = self._pool, self._new_pool()
        old.shutdown(wait=False, cancel_futures=False)

    async def warm_up(self) -> None:
        """Start the workers now (from the event loop's thread) rather than on the first declaration."""
        futures = [asyncio.wrap_future(self._pool.submit(_noop)) for _ in range(self._processes)]
        await asyncio.wait_for(asyncio.gather(*futures), 60)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _noop() -> None:
    return None
