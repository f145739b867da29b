"""Temporal's dev server for tests: a real server (not the time-skipping one) on free loopback ports.

Used where a test needs what only the real server does: updates end to end, list queries over search
attributes (TemporalReportedProblems for failing workflows), describe with pending workflow tasks.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

from greenfab_cli.stack import temporal_dynamic_config, tool_path
from tests.support.servers import _stop, free_port, wait_until


@dataclass
class TemporalDev:
    address: str
    proc: subprocess.Popen[bytes]

    def kill(self) -> None:
        """SIGKILL the server: every call to it fails from now on."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


@contextlib.contextmanager
def temporal_dev_server() -> Iterator[TemporalDev]:
    """``temporal server start-dev`` in memory, headless, configured as `greenfab up` configures it."""
    port = free_port()
    address = f"127.0.0.1:{port}"
    proc = subprocess.Popen(
        [
            tool_path("temporal"), "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", str(port),
            "--log-level", "error", *temporal_dynamic_config(),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip

    def serving() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"temporal dev server exited with {proc.returncode}")
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            pass
        # Its port accepts before the default namespace is ready; ask for the namespace itself.
        describe = [tool_path("temporal"), "operator", "namespace", "describe", "default", "--address", address]
        return subprocess.run(describe, capture_output=True, timeout=10).returncode == 0

    try:
        wait_until(serving, 30, "temporal dev server")
        yield TemporalDev(address, proc)
    finally:
        _stop(proc)
