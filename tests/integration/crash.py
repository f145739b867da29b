"""Functions the crash test sends to the engine's worker process (importable there by name)."""

from __future__ import annotations

import os
from typing import Any


def die(scheme: str, as_of: str, data: dict[str, Any]) -> dict[str, Any]:
    os._exit(139)  # as a segfault in durable_rules' C core would


def die_on_marker(scheme: str, as_of: str, data: dict[str, Any]) -> bytes:
    """The real evaluation, except that a declaration marked ``crash`` kills the worker (as a segfault would)."""
    if data.get("crash"):
        os._exit(139)
    from services.scoring.worker import evaluate_in_worker

    return evaluate_in_worker(scheme, as_of, {k: v for k, v in data.items() if k != "crash"})


def slow(scheme: str, as_of: str, data: dict[str, Any]) -> bytes:
    """The real evaluation after ``data["sleep"]`` seconds (so that calls are in flight when a test strikes); a
    declaration marked ``close_pipe`` first shuts the worker's end of its socket (the caller sees it close while
    the worker lives on, stuck, until the caller kills it), one marked ``crash`` kills the worker."""
    import socket
    import stat
    import time

    time.sleep(float(data.get("sleep", 0)))
    if data.get("close_pipe"):
        for fd in map(int, os.listdir("/proc/self/fd")):
            try:
                if stat.S_ISSOCK(os.fstat(fd).st_mode):
                    socket.socket(fileno=os.dup(fd)).shutdown(socket.SHUT_RDWR)
            except OSError:
                continue
        time.sleep(30)
    return die_on_marker(scheme, as_of, {k: v for k, v in data.items() if k not in ("sleep", "close_pipe")})


def pid(*_: Any) -> int:
    """The worker's process id."""
    return os.getpid()


def _refuse() -> None:
    raise RuntimeError("this argument cannot be read in the worker")


class Unreadable:
    """Pickled by the caller, but unpickling it in the worker raises (as a function it cannot import would)."""

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return (_refuse, ())
