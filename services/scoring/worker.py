"""The engine's worker processes: restarted when one dies; the evaluations it was on are retried once.

durable_rules' C core can segfault; in a child process that costs one retry, not the service.
A worker dies with the service, however the service dies (SIGKILL included): the kernel sends it
SIGKILL when its parent goes (PR_SET_PDEATHSIG), and multiprocessing's resource tracker, which
the workers keep open, then sees its pipe close and exits too. Nothing is left under init.

What runs in a worker is here (``_serve`` and the ``*_in_worker`` functions); the caller's end of a worker,
its process and socket, is services/scoring/worker_link.py; EnginePool shares calls out over the workers
and decides what a worker's death means for each call.
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
import socket
import threading
import time
from collections import deque
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO, cast

from contracts.evaluation import Evaluation
from contracts.schemes import Scheme
from services.scoring.worker_link import BUFFER, WorkerLink, frame, read_frame

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
) -> bytes:
    """Runs in the worker: one evaluation, returned as its JSON (UTF-8 bytes, as pydantic-core writes them).

    Bytes, not text: the scoring service stores and publishes them without reading them (handlers.Announcement),
    and a text would be decoded by pydantic here and encoded again for the pipe, then decoded in the service
    (35 µs for a green-factory evaluation's 33 kB of mixed Chinese, in the process its workers cannot help).
    """
    points = {k: Decimal(v) for k, v in (expert_points or {}).items()}
    result: Evaluation = _engine.evaluate(Scheme(scheme), date.fromisoformat(as_of), data, points)
    return result.__pydantic_serializer__.to_json(result)


class Failed:
    """In a batch's answer: the exception one call raised (the others' answers are unaffected)."""

    def __init__(self, error: BaseException) -> None:
        try:
            pickle.dumps(error)
        except Exception:  # noqa: BLE001 - it must cross the pipe: keep what it said
            error = RuntimeError(f"{type(error).__name__}: {error}")
        self.error = error


def _answer(fn: Any, args: tuple[Any, ...]) -> Any:
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - answered to its own caller, as if it had run alone
        return Failed(exc)


def run_batch_in_worker(fn: Any, calls: list[tuple[Any, ...]]) -> list[Any]:
    """Runs in the worker: ``fn(*args)`` for each call of a batch; an exception answers its call only."""
    return [_answer(fn, args) for args in calls]


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


class Call:
    """One call waiting for, or in, a worker: ``fn(*args)`` there, answered to ``future``."""

    __slots__ = ("args", "crashed", "fn", "future", "what")

    def __init__(self, fn: Any, args: tuple[Any, ...], future: asyncio.Future[Any], what: str) -> None:
        self.fn = fn
        self.args = args
        self.future = future
        self.what = what  # named in its EngineCrashed
        self.crashed = 0  # times a worker died with this call unanswered


def _settle(future: asyncio.Future[Any], answer: Any) -> None:
    if future.done():  # its caller gave up (cancelled)
        return
    if isinstance(answer, Failed):
        future.set_exception(answer.error)
    else:
        future.set_result(answer)


def _serve(sock: socket.socket, rules_dir: str, parent: int) -> None:
    """A worker process's life: load the rules, say so (its pid), then answer each batch the caller sends, in
    order, until the caller closes its end (or dies: see die_with_parent)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the service, which stops its workers
    _init(rules_dir, parent)
    reader = cast(BinaryIO, sock.makefile("rb", buffering=BUFFER))
    try:
        sock.sendall(frame(os.getpid()))
        while True:
            try:
                count, pickled = read_frame(reader)
            except EOFError:
                return
            try:
                calls = pickle.loads(pickled)  # noqa: S301 - sent by the process that started this one
            except Exception as exc:  # noqa: BLE001 - e.g. a function this process cannot import: said to each call
                answers = [Failed(exc)] * count
            else:
                answers = [_answer(fn, args) for fn, args in calls]
            try:
                data = frame(answers)
            except Exception:  # noqa: BLE001 - an answer that cannot cross the pipe fails its own call only
                data = frame([_crossable(a) for a in answers])
            sock.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        return  # the caller is gone


def _crossable(answer: Any) -> Any:
    try:
        pickle.dumps(answer)
    except Exception as exc:  # noqa: BLE001 - said, not sent
        return Failed(RuntimeError(f"the engine's answer could not be sent back: {type(exc).__name__}: {exc}"))
    return answer


# Calls sent to a worker in one frame, at most, and frames a worker may have unanswered: one it works on and one
# waiting in its socket, so it never waits for the caller. The rest wait here, for whichever worker answers first
# (on this machine one core can be slower than the other for seconds). Calls that arrive in the same turn of the
# event loop are shared out over the free frames; one evaluation alone goes at once.
MAX_BATCH = 16
BATCHES_PER_WORKER = 2


class EnginePool:
    """One or more worker processes with the engine loaded; safe to call from asyncio (one event loop).

    Each worker is a process with a socket that the event loop reads itself (services/scoring/worker_link.py):
    calls go to the worker with the fewest unanswered, several to a frame. A worker that dies is restarted; the
    calls it had not answered are retried one at a time, each alone in a worker, so only a call that kills a worker
    twice fails (EngineCrashed). Through concurrent.futures' process pool the service spent 60-170 µs of its own CPU
    per evaluation (its queue threads, a pickle per call, a thread-safe wake-up of the loop per answer), which with
    two workers on two cores is CPU the workers do not get.
    """

    def __init__(self, rules_dir: Path, processes: int = 1) -> None:
        self._rules_dir = str(rules_dir)
        self._processes = processes
        self._loop: asyncio.AbstractEventLoop | None = None
        self._links: list[WorkerLink | None] = [None] * processes
        self._retiring: list[WorkerLink] = []  # replaced by reload(), finishing what they were sent
        self._waiting: deque[Call] = deque()
        self._suspects: deque[Call] = deque()  # calls a dead worker had not answered, to retry alone
        self._solo: int | None = None  # the worker the suspects are retried in, one at a time
        self._kick_planned = False
        self._closed = False
        self._started = 0  # worker processes started, restarts included

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
        """The worker's answer as it sent it (the evaluation's JSON as UTF-8 bytes, from ``evaluate_in_worker``),
        unread: for a caller that stores and forwards it, which reading it into an Evaluation would only slow."""
        points = {k: str(v) for k, v in (expert_points or {}).items()}
        args = (scheme.value, as_of.isoformat(), data) + ((points,) if points else ())
        return await self._call(fn, args)

    def _call(self, fn: Any, args: tuple[Any, ...], what: str = "declaration") -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        if self._closed:
            raise RuntimeError("the engine pool is closed")
        if loop is not self._loop:
            self._bind(loop)
        future: asyncio.Future[Any] = loop.create_future()
        self._waiting.append(Call(fn, args, future, what))
        self._plan_kick()
        return future

    def _bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """First use, or a pool used again from a new event loop (its old one closed): workers read by this one."""
        if self._loop is not None:
            self._fail_all(RuntimeError("the engine pool's event loop was replaced"))
            for link in self._all_links():
                link.close(wait=1)
            self._links = [None] * self._processes
            self._retiring.clear()
            self._solo = None
        self._loop = loop

    def _plan_kick(self) -> None:
        if not self._kick_planned:
            # After the callers that are ready in this turn of the loop have queued theirs too.
            self._kick_planned = True
            assert self._loop is not None
            self._loop.call_soon(self._kick)

    def _link(self, slot: int) -> WorkerLink:
        """The worker in ``slot``, started if there is none (first use, or it died)."""
        link = self._links[slot]
        if link is None or link.dead:
            assert self._loop is not None
            link = WorkerLink(
                self._loop,
                _serve,
                (self._rules_dir, os.getpid()),
                self._answered,
                self._died,
                name=f"scoring-engine-{slot}",
            )
            self._links[slot] = link
            self._started += 1
        return link

    def _load(self, slot: int) -> int:
        link = self._links[slot]
        return 0 if link is None or link.dead else link.outstanding

    def _kick(self) -> None:
        self._kick_planned = False
        if self._closed:
            return
        if self._suspects or self._solo is not None:
            self._kick_suspects()
        while self._waiting:
            free = [
                (slot, BATCHES_PER_WORKER - (len(link.sent) if link is not None and not link.dead else 0))
                for slot, link in enumerate(self._links)
                if slot != self._solo
            ]
            free = [(slot, n) for slot, n in free if n > 0]
            if not free:
                return
            slot = min(free, key=lambda f: self._load(f[0]))[0]
            # The waiting calls shared out over the free frames: one frame of all of them would keep every other
            # worker idle, and leave this one with nothing queued behind it while its answers are read.
            size = min(MAX_BATCH, -(-len(self._waiting) // sum(n for _, n in free)))
            batch: list[Call] = []
            while self._waiting and len(batch) < size:
                call = self._waiting.popleft()
                if not call.future.done():  # a caller that gave up before its call was sent
                    batch.append(call)
            if batch:
                self._send(self._link(slot), batch)

    def _send(self, link: WorkerLink, batch: list[Call]) -> None:
        try:
            link.send(batch, [(c.fn, c.args) for c in batch])
        except Exception:  # noqa: BLE001 - something in the batch cannot be pickled: found and answered alone
            for call in reversed(batch):
                try:
                    pickle.dumps((call.fn, call.args))
                except Exception as exc:  # noqa: BLE001 - the caller's error, answered to that caller
                    _settle(call.future, Failed(exc))
                else:
                    self._waiting.appendleft(call)

    def _kick_suspects(self) -> None:
        """Retry the calls a dead worker had not answered, each alone in one worker (the others carry on)."""
        if self._solo is None:
            self._solo = min(range(self._processes), key=self._load)
        link = self._links[self._solo]
        if link is not None and not link.dead and link.sent:
            return  # still answering what it was sent before (or the suspect before)
        while self._suspects:
            call = self._suspects.popleft()
            if not call.future.done():
                link = self._link(self._solo)
                self._send(link, [call])
                if link.sent:
                    return
        self._solo = None

    def _answered(self, link: WorkerLink, batch: list[Call], answers: list[Any]) -> None:
        for call, answer in zip(batch, answers, strict=True):
            _settle(call.future, answer)
        if link in self._retiring and not link.sent:
            self._retiring.remove(link)
            link.hang_up()  # it has answered everything: it exits
        self._kick()

    def _died(self, link: WorkerLink, unanswered: list[list[Call]]) -> None:
        calls = [call for batch in unanswered for call in batch if not call.future.done()]
        log.error(
            "scoring worker %s died (%s) with %d calls unanswered; %s",
            link.pid,
            link.process.exitcode,
            len(calls),
            "restarting it" if link in self._links else "it was being replaced",
        )
        multiprocessing.active_children()  # reaps workers that are gone
        if link in self._retiring:
            self._retiring.remove(link)
        if link in self._links:
            slot = self._links.index(link)
            self._links[slot] = None
            if not self._closed and link.was_ready:
                # Started now, so it is ready again by the next call. One that died while starting (rules it
                # cannot load) is started again only when a call needs it, not in a loop.
                self._link(slot)
        for call in calls:
            call.crashed += 1
            if call.crashed >= 2:
                what = call.what
                _settle(
                    call.future,
                    Failed(EngineCrashed(f"the rules engine process crashed twice on this {what}; it was not scored"
                                         if what == "declaration" else
                                         f"the rules engine process crashed twice on this {what}")),
                )  # fmt: skip
            else:
                # Which call killed it is unknown: each is retried alone, so only that one fails twice.
                self._suspects.append(call)
        if not self._closed:
            self._kick()

    async def run(self, fn: Any, *args: Any) -> Any:
        """``fn(*args)`` in a worker (a module-level function); if the worker dies, restarted and tried once more."""
        return await self._call(fn, args, "request")

    def reload(self) -> None:
        """New workers that read the rules folder again (after a publication); work in flight finishes on the old."""
        old = [link for link in self._links if link is not None and not link.dead]
        self._links = [None] * self._processes
        for link in old:
            if link.sent:
                self._retiring.append(link)
            else:
                link.hang_up()
        if self._loop is not None and not self._loop.is_closed():
            for slot in range(self._processes):
                self._link(slot)  # loading the new rules now, not on the next declaration
            self._plan_kick()

    async def warm_up(self) -> None:
        """Start the workers now (from the event loop's thread) and wait until each has loaded the rules."""
        loop = asyncio.get_running_loop()
        if self._closed:
            raise RuntimeError("the engine pool is closed")
        if loop is not self._loop:
            self._bind(loop)
        links = [self._link(slot) for slot in range(self._processes)]
        await asyncio.wait_for(asyncio.gather(*(asyncio.shield(link.ready) for link in links)), 60)

    def pids(self) -> list[int]:
        """The worker processes' ids (those started and not known to be dead)."""
        return [link.pid for link in self._links if link is not None and not link.dead and link.pid is not None]

    @property
    def started(self) -> int:
        """Worker processes started so far, restarts included."""
        return self._started

    def close(self) -> None:
        """Stop the workers; every call not yet answered fails (RuntimeError), none is left waiting."""
        if self._closed:
            return
        self._closed = True
        self._fail_all(RuntimeError("the engine pool was closed before this call was answered"))
        links = self._all_links()
        for link in links:
            link.hang_up()  # all at once, then each waited for (briefly: nobody reads what it is working on)
        for link in links:
            link.close()
        self._links = [None] * self._processes
        self._retiring.clear()
        multiprocessing.active_children()  # reaps the workers that died or were replaced before

    def _all_links(self) -> list[WorkerLink]:
        return [link for link in self._links if link is not None] + self._retiring

    def _fail_all(self, error: BaseException) -> None:
        calls = list(self._waiting) + list(self._suspects)
        for link in self._all_links():
            calls += [call for batch in link.sent for call in batch]
        self._waiting.clear()
        self._suspects.clear()
        for call in calls:
            if not call.future.done() and not call.future.get_loop().is_closed():
                call.future.set_exception(error)
                call.future.exception()  # retrieved: its caller may be gone
