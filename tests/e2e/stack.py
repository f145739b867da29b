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

from tests.conftest import uscc
from tests.support.servers import free_port

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
    temporal_address: str | None = None  # an existing Temporal (e.g. a time-skipping test server)

    @property
    def nats_url(self) -> str:
        return f"nats://127.0.0.1:{self.ports['nats-port']}"

    def health(self) -> dict[str, bool]:
        """Each part's health right now, as `greenfab status` reads it."""
        from greenfab.stack import health_of, load_state

        return asyncio.run(health_of(load_state(self.data_dir)))

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service + '-port']}"

    def up(self, timeout: float = 90) -> float:
        """Start `greenfab up`; seconds until it reports every part healthy."""
        self.log = self.data_dir.parent / f"up-{time.monotonic_ns()}.log"
        argv = [sys.executable, "-m", "greenfab", "up", "--data-dir", str(self.data_dir)]
        for flag, port in self.ports.items():
            argv += [f"--{flag}", str(port)]
        if self.temporal_address:
            argv += ["--temporal-address", self.temporal_address]
        argv += ["--ready-timeout", str(max(60.0, timeout - 10))]
        env = {k: v for k, v in os.environ.items() if not k.startswith("GREENFAB_")}
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
        """SIGKILL the supervisor, as a crash would; its children die with it."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self._wait_ports_free()

    def stop(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(60)
        self._wait_ports_free()
        return int(self.proc.returncode)

    def _wait_ports_free(self, timeout: float = 20) -> None:
        from greenfab.stack import port_in_use

        ours = [p for f, p in self.ports.items() if not (self.temporal_address and f.startswith("temporal"))]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not any(port_in_use("127.0.0.1", p) for p in ours):
                return
            time.sleep(0.1)
        raise AssertionError("a child of greenfab up outlived it: ports still in use")

    def token(self, role: str, scope: str | None) -> str:
        """A token signed with the stack's own secret (as `greenfab token` makes; that command has its own test)."""
        from greenfab.auth import Principal, issue_token
        from greenfab.stack import auth_secret

        principal = Principal(role=role, subject=scope or role, scope=scope)
        return issue_token(auth_secret(self.data_dir), principal)

    def cli_token(self, role: str, scope: str) -> str:
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "greenfab",
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
