"""Real servers for tests, from the installed wheels and Debian's PostgreSQL, on free loopback ports.

Each starts in a temporary folder and is stopped (and its folder removed) by its context manager.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

from greenfab_cli.stack import tool_path

T = TypeVar("T")

_handed_out: set[int] = set()


def free_port() -> int:
    """A loopback port free now, below the kernel's ephemeral range.

    Port 0 would hand out an ephemeral port, and the kernel gives those same numbers to
    outgoing connections' source ports (and the Temporal dev server to its own services), so a
    server restarted on its port can find it taken. Ports below the range are never taken that way.
    """
    low = _ephemeral_low()
    rng = random.Random()
    for _ in range(1000):
        port = rng.randrange(20000, low)
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port in 20000–{low}")


def free_port_run(count: int) -> int:
    """The first of ``count`` consecutive free loopback ports (a NATS cluster's nodes count up from one)."""
    for _ in range(200):
        first = free_port()
        rest = list(range(first + 1, first + count))
        if any(p in _handed_out for p in rest):
            continue
        taken = False
        for port in rest:
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    taken = True
                    break
        if not taken and first + count <= _ephemeral_low():
            _handed_out.update(rest)
            return first
    raise RuntimeError(f"no {count} consecutive free ports")


def _ephemeral_low() -> int:
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return max(low, 20001)


def wait_until(check: Callable[[], T | None], timeout: float, what: str) -> T:
    """Poll ``check`` until it returns something truthy, and return that; errors count as not yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except AssertionError:
            raise  # the process died: waiting longer cannot help
        except Exception:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{what} not ready after {timeout} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Nats:
    url: str
    port: int
    monitor_port: int
    store: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                tool_path("nats-server"), "-js", "-sd", str(self.store), "-a", "127.0.0.1",
                "-p", str(self.port), "-m", str(self.monitor_port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip

        def ready() -> bool:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.monitor_port}/healthz?js-enabled-only=true", timeout=1
            ) as r:
                return bool(r.status == 200)

        wait_until(ready, 20, "nats-server")

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)


@contextlib.contextmanager
def nats_server() -> Iterator[Nats]:
    with tempfile.TemporaryDirectory(prefix="gf-nats-") as store:
        port = free_port()
        server = Nats(f"nats://127.0.0.1:{port}", port, free_port(), Path(store))
        server.start()
        try:
            yield server
        finally:
            server.stop()


@dataclass
class Postgres:
    url: str
    port: int


def _pg_bin(name: str) -> str:
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"PostgreSQL's {name} is not installed (apt-get install postgresql); the test command installs it")
    return found


@contextlib.contextmanager
def postgres_server() -> Iterator[Postgres]:
    """A throwaway PostgreSQL cluster: initdb in a temp folder, started on a free port, removed after."""
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    tmp = Path(tempfile.mkdtemp(prefix="gf-pg-"))
    if as_root:
        shutil.chown(tmp, "postgres", "postgres")
    data = tmp / "data"
    port = free_port()
    try:
        subprocess.run(
            [
                *prefix,
                _pg_bin("initdb"),
                "-D",
                str(data),
                "-U",
                "greenfab",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        subprocess.run(
            [
                *prefix, _pg_bin("pg_ctl"), "-D", str(data), "-l", str(tmp / "log"), "-w", "-t", "30", "start",
                "-o", f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        subprocess.run(
            [*prefix, _pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "greenfab", "greenfab"],
            check=True,
        )
        yield Postgres(f"postgresql+asyncpg://greenfab@127.0.0.1:{port}/greenfab", port)
    finally:
        subprocess.run(
            [*prefix, _pg_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        shutil.rmtree(tmp, ignore_errors=True)


def python() -> str:
    return sys.executable


def start_service(
    name: str, port: int, workdir: Path, ready_timeout: float = 60, **settings: str
) -> subprocess.Popen[bytes]:
    """A real service process (`python -m services.NAME`, cwd ``workdir``), returned once its /healthz answers.

    ``settings`` are its GREENFAB_* variables; none are inherited from the test's own environment.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("GREENFAB_")}
    env.update(settings, GREENFAB_LOG_LEVEL="WARNING")
    env[f"GREENFAB_{name.upper()}_HTTP_PORT"] = str(port)
    proc = subprocess.Popen([sys.executable, "-m", f"services.{name}"], env=env, cwd=workdir)

    def ready() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"{name} exited with {proc.returncode}")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
            return bool(r.status == 200)

    try:
        wait_until(ready, ready_timeout, name)
    except BaseException:
        _stop(proc)  # a service that never became ready is not left running
        raise
    return proc


def start_intake(nats_url: str, secret: str, workdir: Path, port: int) -> subprocess.Popen[bytes]:
    """A real intake process (SQLite in ``workdir``) on ``port``."""
    return start_service(
        "intake",
        port,
        workdir,
        GREENFAB_NATS_URL=nats_url,
        GREENFAB_AUTH_SECRET=secret,
        GREENFAB_INTAKE_DATABASE_URL=f"sqlite+aiosqlite:///{workdir / 'intake.db'}",
        GREENFAB_INTAKE_EVIDENCE_DIR=str(workdir / "evidence"),
    )
