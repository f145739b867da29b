"""Running a service process: start its dependencies (or exit naming the one that failed), serve HTTP, stop cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Protocol

import uvicorn
import uvloop
from pydantic import ValidationError

from greenfab.http_server import HeadDeadlineProtocol
from greenfab.messaging import StartupError

EXIT_CONFIG = 2
EXIT_DEPENDENCY = 3


class Service(Protocol):
    """What a service's composition root builds."""

    @property
    def name(self) -> str: ...
    @property
    def app(self) -> Any: ...

    async def start(self) -> None: ...
    async def stop(self) -> None: ...


async def bounded(what: str, step: Awaitable[Any], seconds: float = 15.0) -> None:
    """Await one shutdown step, but never hang a stop on it: log and move on after ``seconds``."""
    try:
        await asyncio.wait_for(step, seconds)
    except TimeoutError:
        logging.getLogger(__name__).warning("shutdown: %s took over %.0f s; moving on", what, seconds)


async def stop_broker(broker: Any) -> None:
    """Stop a FastStream broker (drain), bounded; if draining hangs, close the connection outright."""
    connection = broker._connection  # noqa: SLF001 - kept to close it if drain hangs
    try:
        await asyncio.wait_for(broker.stop(), 15)
    except TimeoutError:
        logging.getLogger(__name__).warning("shutdown: draining NATS took over 15 s; closing the connection")
        if connection is not None and not connection.is_closed:
            await connection.close()


def configure_logging() -> None:
    logging.basicConfig(
        level=os.environ.get("GREENFAB_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


class _Server(uvicorn.Server):
    """uvicorn's server, except that a SIGTERM or SIGINT only ends serving.

    uvicorn re-raises the signal it caught once serving ends, and the default handler then kills
    the process before ``serve`` can stop the service: NATS is never drained, the Temporal worker
    never shut down, and the scoring engine's worker process is orphaned.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.handle_exit, sig, None)
        try:
            yield
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)


async def serve(service: Service, host: str, port: int) -> int:
    """Start ``service``, serve its HTTP app until SIGINT/SIGTERM, stop it; the exit code."""
    try:
        await service.start()
    except StartupError as exc:
        print(f"{service.name}: {exc}", file=sys.stderr, flush=True)
        await service.stop()
        return EXIT_DEPENDENCY
    # httptools, not h11: uvicorn's C parser (0.42 against 0.60 ms of CPU per POST, README "Speed on declaration day"),
    # with a deadline for each request's head (greenfab/http_server.py).
    config = uvicorn.Config(
        service.app, host=host, port=port, lifespan="off", log_level="warning", http=HeadDeadlineProtocol
    )
    server = _Server(config)
    try:
        await server.serve()
    finally:
        await service.stop()
    return 0 if server.started else EXIT_DEPENDENCY


def _env_name(loc: tuple[int | str, ...]) -> str:
    """The environment variable behind a settings error, as the operator must spell it."""
    field = str(loc[0]) if loc else "?"
    return field.upper() if field.upper().startswith("GREENFAB_") else f"GREENFAB_{field.upper()}"


def main(name: str, build: Callable[[], Awaitable[tuple[Service, str, int]]]) -> None:
    """Entry point shared by the five services; settings errors name the variable and exit 2."""
    configure_logging()

    async def _run() -> int:
        try:
            service, host, port = await build()
        except ValidationError as exc:
            problems = "; ".join(f"{_env_name(e['loc'])}: {e['msg']}" for e in exc.errors())
            print(f"{name}: invalid settings: {problems}", file=sys.stderr, flush=True)
            return EXIT_CONFIG
        return await serve(service, host, port)

    # uvloop: libuv's loop does the same work with less CPU (a SQLite transaction through aiosqlite, which wakes
    # the loop from its thread, 0.71 against 0.85-0.94 ms; README "Speed on declaration day").
    code = uvloop.run(_run())
    sys.stdout.flush()
    sys.stderr.flush()
    # Temporal's worker can abort at interpreter exit (sdk-python #300): leave without finalisers.
    os._exit(code)
