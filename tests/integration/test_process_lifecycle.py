"""Every child dies with its parent, whatever kills the parent: no engine worker or resource tracker under init."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import psutil

from tests.conftest import SECRET
from tests.support.servers import Nats, free_port, start_service, wait_until


def gone(pids: list[int]) -> bool:
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    return not alive


def test_sigkill_of_the_scoring_service_leaves_no_process_behind(nats: Nats, tmp_path: Path) -> None:
    proc = start_service(
        "scoring",
        free_port(),
        tmp_path,
        ready_timeout=90,  # two engine workers load the rules before the service answers
        GREENFAB_NATS_URL=nats.url,
        GREENFAB_AUTH_SECRET=SECRET,
        GREENFAB_SCORING_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'scoring.db'}",
        GREENFAB_SCORING_PROCESSES="2",
    )
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
        names = [" ".join(c.cmdline()) for c in children]
        # The engine workers and multiprocessing's resource tracker: what used to be left running under init.
        assert sum("multiprocessing" in n for n in names) >= 3, names
        assert any("resource_tracker" in n for n in names), names
        pids = [c.pid for c in children]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    started = time.monotonic()
    wait_until(lambda: gone(pids), 10, "the scoring service's children to die with it")
    assert time.monotonic() - started < 5
