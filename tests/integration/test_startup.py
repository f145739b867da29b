"""A service that cannot start says why and exits non-zero; it never half-starts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil

from tests.conftest import SECRET
from tests.support.servers import Nats, free_port, start_service


def run_service(name: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("GREENFAB_")}
    return subprocess.run(
        [sys.executable, "-m", f"services.{name}"],
        env={**base, "GREENFAB_STARTUP_TIMEOUT_S": "1", **env},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )


def test_unreachable_nats_is_named_and_exits_non_zero(tmp_path: Path) -> None:
    port = free_port()
    out = run_service(
        "intake",
        {
            "GREENFAB_AUTH_SECRET": SECRET,
            "GREENFAB_NATS_URL": f"nats://127.0.0.1:{port}",
            "GREENFAB_INTAKE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'i.db'}",
            "GREENFAB_INTAKE_HTTP_PORT": str(free_port()),
        },
        tmp_path,
    )
    assert out.returncode == 3
    assert f"intake: cannot reach NATS at nats://127.0.0.1:{port}" in out.stderr


def test_unreachable_temporal_is_named_and_exits_non_zero(tmp_path: Path, nats: Nats) -> None:
    port = free_port()
    out = run_service(
        "workflow",
        {
            "GREENFAB_AUTH_SECRET": SECRET,
            "GREENFAB_NATS_URL": nats.url,
            "GREENFAB_TEMPORAL_ADDRESS": f"127.0.0.1:{port}",
            "GREENFAB_WORKFLOW_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'w.db'}",
            "GREENFAB_WORKFLOW_HTTP_PORT": str(free_port()),
        },
        tmp_path,
    )
    assert out.returncode == 3
    assert f"workflow: cannot reach Temporal at 127.0.0.1:{port}" in out.stderr


def test_a_weak_or_missing_secret_is_refused_by_name(tmp_path: Path) -> None:
    for secret in ({}, {"GREENFAB_AUTH_SECRET": "changeme"}):
        out = run_service("notify", secret, tmp_path)
        assert out.returncode == 2
        assert "notify: invalid settings: GREENFAB_AUTH_SECRET" in out.stderr


def test_sigterm_stops_the_service_cleanly_and_its_engine_worker_with_it(tmp_path: Path, nats: Nats) -> None:
    """uvicorn re-raises the SIGTERM it caught; the service must still run its stop (drain, close, pool)."""
    proc = start_service(
        "scoring",
        free_port(),
        tmp_path,
        GREENFAB_AUTH_SECRET=SECRET,
        GREENFAB_NATS_URL=nats.url,
        GREENFAB_SCORING_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 's.db'}",
    )
    workers = psutil.Process(proc.pid).children(recursive=True)
    try:
        assert workers, "the scoring service runs its engine in a worker process"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        _, alive = psutil.wait_procs(workers, timeout=10)
        assert not alive, f"left running after the service stopped: {[p.cmdline() for p in alive]}"
    finally:
        if proc.poll() is None:
            proc.kill()
        for worker in workers:
            if worker.is_running():
                worker.kill()
