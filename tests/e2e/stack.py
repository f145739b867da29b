"""Driving a real `greenfab up` (every part a real process) from tests."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from tests.conftest import uscc
from tests.support.servers import free_port, free_port_run

PORT_FLAGS = (
    "nats-port", "nats-monitor-port", "temporal-port", "temporal-ui-port",
    "intake-port", "workflow-port", "notify-port", "scoring-port", "audit-port", "console-port",
)  # fmt: skip


@dataclass
class Stack:
    data_dir: Path
    ports: dict[str, int] = field(default_factory=lambda: {flag: free_port() for flag in PORT_FLAGS})
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    nats_nodes: int = 1  # 3: `greenfab up --nats-cluster 3`
    database_url: str | None = None  # `greenfab up --database-url`
    temporal_address: str | None = None  # an existing Temporal (e.g. a time-skipping test server)
    env: dict[str, str] = field(default_factory=dict)  # GREENFAB_* settings for every service (others are dropped)

    def __post_init__(self) -> None:
        if self.nats_nodes > 1:
            for flag in ("nats-port", "nats-monitor-port", "nats-cluster-port"):
                self.ports[flag] = free_port_run(self.nats_nodes)

    def all_ports(self) -> list[int]:
        """Every port the stack listens on (a cluster's nodes count up from the flags' ports)."""
        nodes = ("nats-port", "nats-monitor-port", "nats-cluster-port")
        extra = [self.ports[f] + k for f in nodes if f in self.ports for k in range(1, self.nats_nodes)]
        # A Temporal given by address (e.g. a time-skipping test server) is not the stack's to wait for.
        own = [p for f, p in self.ports.items() if not (self.temporal_address and f.startswith("temporal"))]
        return [*own, *extra]

    def nats_urls(self, user: str = "admin") -> list[str]:
        """Every node's URL, as ``user`` (each service has its own user; see greenfab.nats_config)."""
        import json

        password = json.loads((self.data_dir / "nats-server" / "credentials.json").read_text())[user]
        return [f"nats://{user}:{password}@127.0.0.1:{self.ports['nats-port'] + k}" for k in range(self.nats_nodes)]

    @property
    def nats_url(self) -> str:
        """The stack's (first) NATS node as its admin user."""
        return self.nats_urls()[0]

    def health(self) -> dict[str, bool]:
        """Each part's health right now, as `greenfab status` reads it."""
        from greenfab_cli.stack import health_of, load_state

        return asyncio.run(health_of(load_state(self.data_dir)))

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service + '-port']}"

    def up(self, timeout: float = 90) -> float:
        """Start `greenfab up`; seconds until it reports every part healthy."""
        self.log = self.data_dir.parent / f"up-{time.monotonic_ns()}.log"
        argv = [sys.executable, "-m", "greenfab_cli", "up", "--data-dir", str(self.data_dir)]
        for flag, port in self.ports.items():
            argv += [f"--{flag}", str(port)]
        if self.nats_nodes > 1:
            argv += ["--nats-cluster", str(self.nats_nodes)]
        if self.database_url:
            argv += ["--database-url", self.database_url]
        if self.temporal_address:
            argv += ["--temporal-address", self.temporal_address]
        argv += ["--ready-timeout", str(max(60.0, timeout - 10))]
        env = {k: v for k, v in os.environ.items() if not k.startswith("GREENFAB_")} | self.env
        env["XDG_STATE_HOME"] = str(self.data_dir.parent / "state")  # its running-stack record stays in the test
        t0 = time.monotonic()
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
        while time.monotonic() - t0 < timeout:
            text = self.log.read_text(errors="replace")
            if "greenfab is up" in text:
                return time.monotonic() - t0
            if self.proc.poll() is not None:
                raise AssertionError(f"greenfab up exited {self.proc.returncode}:\n{text}")
            time.sleep(0.1)
        raise AssertionError(f"greenfab up not ready in {timeout} s:\n{self.log.read_text(errors='replace')}")

    def kill(self) -> None:
        """SIGKILL the supervisor, as a crash would; its children, and theirs, die with it."""
        assert self.proc is not None
        family = self._descendants()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self._wait_ports_free()
        self._wait_gone(family)

    def stop(self) -> int:
        assert self.proc is not None
        family = self._descendants()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(60)
        self._wait_ports_free()
        self._wait_gone(family)
        return int(self.proc.returncode)

    def _descendants(self) -> list[psutil.Process]:
        assert self.proc is not None
        try:
            return list(psutil.Process(self.proc.pid).children(recursive=True))
        except psutil.NoSuchProcess:
            return []

    @staticmethod
    def _wait_gone(family: list[psutil.Process], timeout: float = 20) -> None:
        """Every process the stack had started (engine workers and multiprocessing's tracker too) has exited."""
        _, alive = psutil.wait_procs(family, timeout=timeout)
        left = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        if left:
            names = [" ".join(p.cmdline()) for p in left]
            for p in left:
                p.kill()  # the test fails, but leaves nothing running
            raise AssertionError(f"left behind by greenfab up: {names}")

    def _wait_ports_free(self, timeout: float = 20) -> None:
        from greenfab_cli.stack import port_in_use

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not any(port_in_use("127.0.0.1", p) for p in self.all_ports()):
                return
            time.sleep(0.1)
        raise AssertionError("a child of greenfab up outlived it: ports still in use")

    def token(self, role: str, scope: str | None) -> str:
        """A token signed with the stack's own secret (as `greenfab token` makes; that command has its own test)."""
        from greenfab.auth import Principal, issue_token
        from greenfab_cli.stack import auth_secret

        principal = Principal(role=role, subject=scope or role, scope=scope)
        return issue_token(auth_secret(self.data_dir), principal)

    def cli_token(self, role: str, scope: str) -> str:
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "greenfab_cli",
                "token",
                "--data-dir",
                str(self.data_dir),
                "--role",
                role,
                "--scope",
                scope,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout.strip()

    def client(self, service: str, role: str, scope: str | None) -> httpx.Client:
        return httpx.Client(
            base_url=self.url(service), headers={"Authorization": f"Bearer {self.token(role, scope)}"}, timeout=10
        )


def declaration(n: int) -> dict[str, object]:
    return {
        "scheme": "grading",
        "uscc": uscc(n),
        "enterprise_name": f"北京示例企业{n}有限公司",
        "district": "海淀",
        "declared_on": "2025-10-08",
        "data": {"plot_ratio": 1.5, "plot_ratio_requirement": 1.0, "renewable_energy_share": 0.15},
    }
