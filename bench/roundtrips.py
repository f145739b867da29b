"""Counts what one grading declaration costs each service: SQL statements and commits, NATS
publishes and requests, Temporal RPCs, and the events in its unit's Temporal history.

    .venv/bin/python bench/roundtrips.py [--count 60] [--rate 5]

Starts its own `greenfab up` with `bench/instrument/sitecustomize.py` on every service's
PYTHONPATH (counters only: SQLAlchemy events, wrappers around nats-py's publish/request and
temporalio's RPC call), offers ``--count`` grading declarations (one new unit each) at a low rate,
waits until every unit took its first step and every consumer is drained, and divides. Idle
traffic (pull consumers' fetches while nothing arrives) is measured over a quiet window first and
subtracted. Writes `bench/results/roundtrips-<time>.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import nats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import ROOT, CpuWindow, load_average, machine, save_result, stack_processes, throwaway_stack
from bench.path import Load, Observed, history_profile, wait_drained
from contracts import subjects

SERVICES = ("intake", "scoring", "workflow", "notify", "audit")


def snapshot(folder: Path) -> dict[str, Counter[str]]:
    """Counters per service, summed over its processes (a restarted service has several files)."""
    out: dict[str, Counter[str]] = {s: Counter() for s in SERVICES}
    for path in folder.glob("*.json"):
        service = path.name.split("-", 1)[0]
        out[service].update(json.loads(path.read_text()))
    return out


def per_unit(
    before: dict[str, Counter[str]],
    after: dict[str, Counter[str]],
    idle: dict[str, dict[str, float]],
    seconds: float,
    n: int,
) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for service in SERVICES:
        keys = set(after[service]) | set(before[service])
        row = {}
        for key in sorted(keys):
            delta = after[service][key] - before[service][key] - idle[service].get(key, 0.0) * seconds
            if abs(delta) / n >= 0.05:
                row[key] = round(delta / n, 2)
        out[service] = row
    return out


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    counters = Path(tempfile.mkdtemp(prefix="greenfab-counters-"))
    os.environ["BENCH_COUNT_DIR"] = str(counters)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "bench" / "instrument"), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    result: dict[str, Any] = {"kind": "roundtrips", "machine": machine(), "args": vars(args)}
    with throwaway_stack() as stack:
        nc = await nats.connect(stack.nats_url)
        seen = Observed()
        await nc.subscribe(subjects.EVALUATION_COMPLETED, cb=seen.on_evaluation)
        await nc.subscribe(subjects.UNIT_CHANGED, cb=seen.on_unit)
        await nc.subscribe(subjects.SUBMISSION_RECEIVED, cb=seen.on_submission)
        subject_counts: Counter[str] = Counter()

        async def any_message(msg: Any) -> None:
            subject_counts[msg.subject] += 1

        await nc.subscribe("greenfab.>", cb=any_message)
        load = Load(stack, first=1)
        try:
            await load.fixed_rate("warm-up", 1, 3)
            await wait_drained(load, seen, nc, 120)
            await asyncio.sleep(1.5)
            quiet_start = snapshot(counters)
            await asyncio.sleep(args.idle)
            quiet_end = snapshot(counters)
            idle = {s: {k: (quiet_end[s][k] - quiet_start[s][k]) / args.idle for k in quiet_end[s]} for s in SERVICES}
            before = quiet_end
            subject_counts.clear()
            cpu = CpuWindow(stack_processes(stack))
            quiet_cpu = CpuWindow(cpu.procs)
            quiet_cpu.start()
            await asyncio.sleep(args.idle)
            quiet_cpu.stop()
            t0 = time.monotonic()
            cpu.start()
            result["load_average_start"] = load_average()
            await load.fixed_rate("count", args.rate, args.count / args.rate)
            drained = await wait_drained(load, seen, nc, 600)
            await asyncio.sleep(1.5)
            cpu.stop()
            result["load_average_end"] = load_average()
            seconds = time.monotonic() - t0 + 1.0
            after = snapshot(counters)
            units = [s.uscc for s in load.sent if s.phase == "count" and s.status == 202]
            history = await history_profile(stack, units[: min(5, len(units))])
        finally:
            await load.close()
            await nc.drain()
    n = len(units)
    result["declarations"] = n
    result["cpu_ms_per_declaration"] = {
        k: round((v - quiet_cpu.seconds.get(k, 0.0) / quiet_cpu.wall * cpu.wall) / n * 1000, 1)
        for k, v in cpu.seconds.items()
    }
    result["drained_after_s"] = drained
    result["idle_per_s"] = {s: {k: round(v, 2) for k, v in idle[s].items() if v} for s in SERVICES}
    result["per_declaration"] = per_unit(before, after, idle, seconds, n)
    result["messages_per_declaration"] = {k: round(v / n, 2) for k, v in sorted(subject_counts.items())}
    result["history"] = history
    return result


def show(result: dict[str, Any]) -> None:
    print(f"\nper grading declaration (mean of {result['declarations']}), idle traffic subtracted:")
    for service, row in result["per_declaration"].items():
        print(f"  {service}:")
        for key, value in row.items():
            print(f"    {key:<48} {value:6.2f}")
    print("  messages on NATS subjects (core view, each stored message once plus re-publishes):")
    for subject, value in result["messages_per_declaration"].items():
        print(f"    {subject:<48} {value:6.2f}")
    unit = result["history"]["units"][0]
    print(f"  Temporal history of one unit: {unit['events']} events, {unit['bytes']} bytes: {unit['by_type']}")
    print(f"  CPU ms per declaration (idle subtracted): {result['cpu_ms_per_declaration']}")
    print(f"  load average {result['load_average_start']} → {result['load_average_end']}")
    print(f"  idle, per second: { {s: r for s, r in result['idle_per_s'].items() if r} }")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=60, help="declarations to count over")
    parser.add_argument("--rate", type=float, default=5.0, help="declarations per second")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of quiet to measure idle traffic")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(main_async(args))
    show(result)
    if not args.no_save:
        print(f"saved {save_result('roundtrips', result)}")


if __name__ == "__main__":
    main()
