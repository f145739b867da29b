"""Where each process's CPU goes on the declaration path: py-spy on every service under load.

    .venv/bin/python bench/profile.py [--rate 25] [--seconds 40] [--native] [--perf]

py-spy is not a project dependency: `uv pip install --python .venv/bin/python py-spy`.
Starts its own `greenfab up`, offers grading declarations at ``--rate`` per second, and after
``--warm`` seconds records every service process (and the scoring engine's worker) with
`py-spy record --format raw` for ``--seconds``; with ``--perf`` also `perf record` of the Temporal
dev server (Go). Prints, per process, the CPU it used, the share of its on-CPU samples that run
under each library (inclusive: a sample inside SQLAlchemy called from a handler counts for both),
the top leaf functions, and the project's own frames by inclusive share. The raw stacks stay in
`bench/results/profile-<time>/` for flame graphs (e.g. speedscope.app or inferno-flamegraph).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import nats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import RESULTS, CpuWindow, load_average, machine, stack_processes, throwaway_stack
from bench.path import Load, Observed, wait_drained
from contracts import subjects

# Inclusive categories: a sample counts for each whose marker appears in any of its frames.
CATEGORIES = {
    "sqlite (sqlalchemy + aiosqlite)": ("sqlalchemy/", "aiosqlite/", "sqlmodel/", "sqlite3"),
    "pydantic": ("pydantic/", "pydantic_core"),
    "faststream": ("faststream/",),
    "nats-py": ("nats/aio", "nats/js"),
    "temporalio": ("temporalio/",),
    "http (uvicorn, starlette, fastapi)": ("uvicorn/", "starlette/", "fastapi/", "h11/", "httptools"),
    "durable_rules": ("durable/", "rules.cpython", "durable_rules"),
    "sqlite waiting for the write lock (--native)": ("sqlite3InvokeBusyHandler",),
    "sqlite3_step (--native)": ("sqlite3_step",),
    "json": ("json/", "_json"),
    "logging": ("logging/",),
    "jwt/auth": ("jwt/", "greenfab/auth.py"),
    "asyncio loop itself": ("asyncio/base_events.py",),
}
OWN = ("services/", "greenfab/", "contracts/")
# Leaves where a thread waits, not works: py-spy's idle detection does not see them here.
IDLE = (
    "_connection_worker_thread (aiosqlite/core.py:59)",  # tx.get(): the connection thread waits for work
    "Condition.wait (threading.py",
    "Event.wait (threading.py",
    "EpollSelector.select (selectors.py",
    "_PollLikeSelector.select (selectors.py",
    "_worker (concurrent/futures/thread.py:81)",
    "Connection._recv (multiprocessing/connection.py",
    "Connection._poll (multiprocessing/connection.py",
    "wait (multiprocessing/connection.py",
    "Queue.get (multiprocessing/queues.py",
    "_wait_for_tstate_lock (threading.py",
    "select (selectors.py",
    "epoll_wait",
    "futex",
)


def parse_raw(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text(errors="replace").splitlines():
        frames, _, count = line.rpartition(" ")
        if frames and count.isdigit():
            stacks.append((frames.split(";"), int(count)))
    return stacks


def _idle(frames: list[str]) -> bool:
    """Waiting, judged by the innermost Python frame (with --native the C frames below it vary)."""
    python = [f for f in frames if ".py:" in f]
    leaf = python[-1] if python else frames[-1]
    return any(leaf.startswith(i) or i in leaf for i in IDLE)


def summarise(stacks: list[tuple[list[str], int]], rate: int) -> dict[str, Any]:
    every = sum(c for _, c in stacks)
    stacks = [(f, c) for f, c in stacks if not _idle(f)]
    total = sum(c for _, c in stacks) or 1
    inclusive: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for frames, count in stacks:
        text = ";".join(frames)
        for name, markers in CATEGORIES.items():
            if any(m in text for m in markers):
                inclusive[name] += count
        leaves[frames[-1]] += count
        for frame in set(frames):
            if any(f"({m}" in frame for m in OWN):
                own[frame] += count
    return {
        "samples": every,
        "busy_samples": total,
        "busy_seconds": round(total / rate, 1),
        "inclusive_share": {k: round(v / total, 3) for k, v in inclusive.most_common()},
        "top_leaves": [(k, round(v / total, 3)) for k, v in leaves.most_common(12)],
        "top_own_frames": [(k, round(v / total, 3)) for k, v in own.most_common(15)],
    }


def perf_top(data: Path) -> list[tuple[str, float]]:
    out = subprocess.run(
        [
            "perf",
            "report",
            "-i",
            str(data),
            "--stdio",
            "--no-children",
            "--sort",
            "dso,sym",
            "--percent-limit",
            "0.7",
            "-g",
            "none",
        ],
        capture_output=True,
        text=True,
    ).stdout
    rows = []
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0].endswith("%") and not line.startswith("#"):
            rows.append((" ".join(parts[1:]), float(parts[0].rstrip("%"))))
    return rows[:25]


def start(argv: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def summaries(folder: Path, rate: int) -> dict[str, Any]:
    out: dict[str, Any] = {path.stem: summarise(parse_raw(path), rate) for path in sorted(folder.glob("*.txt"))}
    if (folder / "temporal.perf").exists():
        out["temporal (perf)"] = perf_top(folder / "temporal.perf")
    return out


async def main_async(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        raise SystemExit("py-spy not found: uv pip install --python .venv/bin/python py-spy")
    result: dict[str, Any] = {"kind": "profile", "machine": machine(), "args": vars(args), "processes": {}}
    with throwaway_stack() as stack:
        nc = await nats.connect(stack.nats_url)
        seen = Observed()
        await nc.subscribe(subjects.EVALUATION_COMPLETED, cb=seen.on_evaluation)
        await nc.subscribe(subjects.UNIT_CHANGED, cb=seen.on_unit)
        load = Load(stack, first=1)
        try:
            await load.fixed_rate("warm-up", 1, 3)
            await wait_drained(load, seen, nc, 120)
            procs = stack_processes(stack)
            driving = asyncio.create_task(load.fixed_rate("profile", args.rate, args.warm + args.seconds))
            await asyncio.sleep(args.warm)
            cpu = CpuWindow(procs)
            cpu.start()
            result["load_average_start"] = load_average()
            recorders = {}
            for name, proc in procs.items():
                if name in ("bench", "nats", "temporal"):
                    continue
                argv = [spy, "record", "--pid", str(proc.pid), "--duration", str(int(args.seconds))]
                argv += ["--rate", str(args.sample_rate), "--format", "raw", "--output", str(folder / f"{name}.txt")]
                argv += ["--native"] if args.native else []
                argv += ["--nonblocking"] if args.nonblocking else []
                recorders[name] = start(argv)
            if args.perf:
                temporal = procs["temporal"].pid
                argv = ["perf", "record", "-F", "99", "-g", "-p", str(temporal), "-o", str(folder / "temporal.perf")]
                recorders["temporal"] = start([*argv, "--", "sleep", str(int(args.seconds))])
            for name, rec in recorders.items():
                _, err = await asyncio.to_thread(rec.communicate)
                if rec.returncode:
                    print(f"  {name}: recorder exited {rec.returncode}: {err.decode()[-300:]}")
            cpu.stop()
            result["load_average_end"] = load_average()
            result["cpu_share_of_one_core"] = cpu.shares()
            await driving
            drained = await wait_drained(load, seen, nc, 600)
            result["drained_after_s"] = drained
        finally:
            await load.close()
            await nc.drain()
    found = await asyncio.to_thread(summaries, folder, args.sample_rate)
    result["temporal_perf_top"] = found.pop("temporal (perf)", [])
    result["processes"] = found
    return result


def show(result: dict[str, Any]) -> None:
    print(f"\nCPU over the window (share of one core): {result['cpu_share_of_one_core']}")
    print(f"load average {result['load_average_start']} → {result['load_average_end']}")
    for name, p in result["processes"].items():
        print(f"\n{name}: {p['busy_seconds']} s busy in the window ({p['busy_samples']} of {p['samples']} samples)")
        print("  inclusive: " + ", ".join(f"{k} {v:.0%}" for k, v in p["inclusive_share"].items() if v >= 0.02))
        print("  top leaves:")
        for frame, share in p["top_leaves"][:8]:
            print(f"    {share:5.1%}  {frame[:150]}")
        print("  own frames (inclusive):")
        for frame, share in p["top_own_frames"][:10]:
            print(f"    {share:5.1%}  {frame[:150]}")
    if "temporal_perf_top" in result:
        print("\ntemporal (perf: its own code vs the kernel; the binary has no symbols):")
    for sym, share in result.get("temporal_perf_top", [])[:25]:
        print(f"  {share:5.1f}%  {sym[:140]}")
    print(f"\ndrained {result.get('drained_after_s')} s after the load ended")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=25.0, help="declarations per second offered")
    parser.add_argument("--warm", type=float, default=10.0, help="seconds of load before recording")
    parser.add_argument("--seconds", type=float, default=40.0, help="seconds recorded")
    parser.add_argument("--sample-rate", type=int, default=50, help="py-spy samples per second")
    parser.add_argument("--native", action="store_true", help="py-spy --native (C frames too)")
    parser.add_argument("--nonblocking", action="store_true", help="py-spy --nonblocking (less overhead)")
    parser.add_argument("--perf", action="store_true", help="also perf-record the Temporal dev server")
    args = parser.parse_args()
    folder = RESULTS / f"profile-{time.strftime('%Y%m%d-%H%M%S')}"
    folder.mkdir(parents=True)
    result = asyncio.run(main_async(args, folder))
    show(result)
    (folder / "summary.json").write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n")
    print(f"saved {folder}")


if __name__ == "__main__":
    main()
