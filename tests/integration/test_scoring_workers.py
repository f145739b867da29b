"""The engine's worker processes (and anything else the pool started) never outlive the service that started them,
even when it is SIGKILLed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
SERVICE = """
import asyncio, sys, time
from pathlib import Path
from services.scoring.worker import EnginePool
pool = EnginePool(Path(sys.argv[1]), processes=2)
asyncio.run(pool.warm_up())
print(" ".join(str(p) for p in pool.pids()), flush=True)
time.sleep(120)
"""


def test_workers_exit_when_the_service_is_killed() -> None:
    service = subprocess.Popen(
        [sys.executable, "-c", SERVICE, str(ROOT / "rules")], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert service.stdout is not None
        workers = [int(p) for p in service.stdout.readline().split()]
        assert len(workers) == 2 and all(psutil.pid_exists(p) for p in workers)
        # Everything the service started (the workers and multiprocessing's resource tracker): none may be left.
        started = [p.pid for p in psutil.Process(service.pid).children(recursive=True)]
        assert set(workers) <= set(started)
        os.kill(service.pid, signal.SIGKILL)
        service.wait(10)
        deadline = time.monotonic() + 15
        while any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in started):
            assert time.monotonic() < deadline, "a process outlived the service that started it"
            time.sleep(0.2)
    finally:
        if service.poll() is None:
            service.kill()
            service.wait(10)
