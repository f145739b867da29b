"""`greenfab up` rotates each process's log past its limit while the process keeps writing to it."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from greenfab_cli.stack import Child

WRITER = """
import pathlib, sys, time
sys.stdout.write(("x" * 99 + "\\n") * 3000)
sys.stdout.flush()
go = pathlib.Path(sys.argv[1])
while not go.exists():
    time.sleep(0.02)
sys.stdout.write("after rotation\\n")
sys.stdout.flush()
"""


def test_a_log_past_its_limit_is_kept_once_and_the_writer_carries_on_at_the_start(tmp_path: Path) -> None:
    log, go = tmp_path / "logs" / "svc.log", tmp_path / "go"
    child = Child("svc", [sys.executable, "-c", WRITER, str(go)], dict(os.environ), log)
    child.start()
    try:
        deadline = time.monotonic() + 30
        while (not log.exists() or log.stat().st_size < 300_000) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not child.rotate_log(limit=1_000_000), "under the limit: left alone"
        assert child.rotate_log(limit=100_000)
        assert (tmp_path / "logs" / "svc.log.1").stat().st_size == 300_000 and log.stat().st_size == 0
        go.touch()
        assert child.proc is not None and child.proc.wait(30) == 0
        assert log.read_bytes() == b"after rotation\n", "appended at the start of the emptied file, no hole"
    finally:
        child.stop()
