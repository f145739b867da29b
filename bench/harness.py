"""What the stack benchmarks share: a throwaway `greenfab up`, its processes, declarations, percentiles.

The stack is the real one (`tests/e2e/stack.py` drives it the same way in the end-to-end tests):
`greenfab up` in a temporary data folder on free loopback ports, stopped and removed afterwards.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from greenfab.auth import Principal, issue_token  # noqa: E402
from greenfab_cli.stack import auth_secret  # noqa: E402
from tests.conftest import uscc  # noqa: E402
from tests.e2e.stack import Stack  # noqa: E402

RESULTS = ROOT / "bench" / "results"

__all__ = ["RESULTS", "ROOT", "Stack", "throwaway_stack", "uscc"]


@contextlib.contextmanager
def throwaway_stack(keep: bool = False, env: dict[str, str] | None = None) -> Iterator[Stack]:
    """`greenfab up` in a fresh temporary folder; stopped (and the folder removed unless ``keep``) on exit.

    ``env``: GREENFAB_* settings for the services (the stack drops the caller's own GREENFAB_* variables)."""
    folder = Path(tempfile.mkdtemp(prefix="greenfab-bench-"))
    stack = Stack(folder / "data", env=dict(env or {}))
    descendants: list[psutil.Process] = []
    try:
        took = stack.up(timeout=180)
        print(f"stack up in {took:.1f} s (data in {stack.data_dir})", flush=True)
        assert stack.proc is not None
        descendants = psutil.Process(stack.proc.pid).children(recursive=True)
        yield stack
    finally:
        if stack.proc is not None:
            stack.stop()
        _, alive = psutil.wait_procs(descendants, timeout=10)
        for proc in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                print(f"left running after the stack stopped, killed: {proc.pid} {' '.join(proc.cmdline())[:120]}")
                proc.kill()
        if keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def enterprise_token(stack: Stack, code: str) -> str:
    return issue_token(auth_secret(stack.data_dir), Principal(role="enterprise", subject=code, scope=code))


def grading_declaration(n: int) -> dict[str, Any]:
    """The example grading declaration for the n-th made-up enterprise (one unit each)."""
    example = json.loads((ROOT / "examples" / "grading-declaration.json").read_text())
    example["uscc"] = uscc(n)
    example["enterprise_name"] = f"北京基准测试企业{n}有限公司"
    example["data"] = dict(example["data"])
    return dict(example)


# ----- processes ----------------------------------------------------------------------------


def _label(proc: psutil.Process) -> str | None:
    try:
        argv = proc.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    text = " ".join(argv)
    if "nats-server" in text:
        return "nats"
    if "temporal" in Path(argv[0]).name and "start-dev" in text:
        return "temporal"
    for name in ("scoring", "intake", "workflow", "notify", "audit", "console"):
        if f"services.{name}" in text:
            return name
    if "multiprocessing" in text and "spawn" in text:
        return "engine-worker"
    return None


def stack_processes(stack: Stack) -> dict[str, psutil.Process]:
    """Every process of the stack by role (the engine workers are children of scoring)."""
    assert stack.proc is not None
    found: dict[str, psutil.Process] = {}
    for child in psutil.Process(stack.proc.pid).children(recursive=True):
        label = _label(child)
        if label is None:
            continue
        key = label
        i = 2
        while key in found:
            key, i = f"{label}-{i}", i + 1
        found[key] = child
    found["greenfab-up"] = psutil.Process(stack.proc.pid)  # the supervisor
    found["bench"] = psutil.Process(os.getpid())
    return found


def cpu_seconds(procs: dict[str, psutil.Process]) -> dict[str, float]:
    out = {}
    for name, proc in procs.items():
        with contextlib.suppress(psutil.NoSuchProcess):
            t = proc.cpu_times()
            out[name] = t.user + t.system
    return out


def rss_mib(procs: dict[str, psutil.Process]) -> dict[str, float]:
    out = {}
    for name, proc in procs.items():
        with contextlib.suppress(psutil.NoSuchProcess):
            out[name] = round(proc.memory_info().rss / 2**20, 1)
    return out


@dataclass
class CpuWindow:
    """CPU each process used between ``start()`` and ``stop()``, as a share of one core."""

    procs: dict[str, psutil.Process]
    t0: float = 0.0
    before: dict[str, float] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    wall: float = 0.0

    def start(self) -> None:
        self.t0, self.before = time.monotonic(), cpu_seconds(self.procs)

    def stop(self) -> None:
        after = cpu_seconds(self.procs)
        self.wall = time.monotonic() - self.t0
        self.seconds = {k: round(after[k] - self.before.get(k, 0.0), 2) for k in after}

    def shares(self) -> dict[str, float]:
        return {k: round(v / self.wall, 3) for k, v in self.seconds.items()} if self.wall else {}


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> dict[str, Any]:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, cwd=ROOT
    )
    return {
        "cores": os.cpu_count(),
        "python": sys.version.split()[0],
        "commit": commit.stdout.strip() + ("+dirty" if dirty.stdout.strip() else ""),
        "load_average_at_start": load_average(),
    }


# ----- figures ------------------------------------------------------------------------------


def percentiles(values: Sequence[float]) -> dict[str, float | None]:
    """p50, p95, p99 and max of ``values`` (None when empty)."""
    if not values:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(values)
    q = [ordered[0]] * 99 if len(ordered) == 1 else statistics.quantiles(ordered, n=100, method="inclusive")
    return {"n": len(ordered), "p50": q[49], "p95": q[94], "p99": q[98], "max": ordered[-1]}


def fmt_latency(p: dict[str, float | None]) -> str:
    def one(x: float | None) -> str:
        if x is None:
            return "-"
        return f"{x * 1000:.0f} ms" if x < 1 else f"{x:.1f} s"

    return " / ".join(one(p[k]) for k in ("p50", "p95", "p99"))


def save_result(kind: str, result: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n")
    return path
