"""What the workflow worker spends on one unit, by replaying a recorded history many times.

    .venv/bin/python bench/worker_cost.py [--count 200]

A new unit's first workflow task, and every task of a unit evicted from the worker's cache, builds
a workflow instance and replays its history. This replays a saved annual-grading history
(tests/replay/histories) ``--count`` times through temporalio's Replayer with each runner the service
offers (``GREENFAB_TEMPORAL_SANDBOX``: strict, shared-imports, off), alternating rounds to share the noise,
and times decoding the workflow's input alone (the whole policy travels in it). CPU time of this
process per replayed workflow; medians of the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, WorkflowRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import ROOT, load_average, machine, save_result
from services.workflow.bootstrap import workflow_runner
from services.workflow.model import LifecycleInput
from services.workflow.settings import SandboxMode
from services.workflow.workflows import UnitLifecycleWorkflow

HISTORIES = ROOT / "tests" / "replay" / "histories"


def grading_history() -> WorkflowHistory:
    path = sorted(HISTORIES.glob("*@*annual-grading.json"))[0]
    return WorkflowHistory.from_json(path.stem.split("@", 1)[1], path.read_text(encoding="utf-8"))


async def replay_cpu_ms(history: WorkflowHistory, runner: WorkflowRunner, count: int) -> float:
    replayer = Replayer(
        workflows=[UnitLifecycleWorkflow], data_converter=pydantic_data_converter, workflow_runner=runner
    )

    async def histories() -> AsyncIterator[WorkflowHistory]:
        for _ in range(count):
            yield WorkflowHistory(history.workflow_id, history.events)

    t = time.process_time()
    async with replayer.workflow_replay_iterator(histories()) as results:
        async for result in results:
            if result.replay_failure is not None:
                raise result.replay_failure
    return (time.process_time() - t) / count * 1000


def input_decode_ms(history: WorkflowHistory, count: int) -> tuple[float, int]:
    payload: Payload = history.events[0].workflow_execution_started_event_attributes.input.payloads[0]
    converter = pydantic_data_converter.payload_converter
    t = time.process_time()
    for _ in range(count):
        converter.from_payloads([payload], [LifecycleInput])
    return (time.process_time() - t) / count * 1000, payload.ByteSize()


async def main_async(count: int, rounds: int) -> dict[str, object]:
    history = grading_history()
    modes: tuple[SandboxMode, ...] = ("strict", "shared-imports", "off")
    for mode in modes:
        await replay_cpu_ms(history, workflow_runner(mode), 5)  # imports, caches
    rounds_ms: dict[str, list[float]] = {mode: [] for mode in modes}
    for _ in range(rounds):
        for mode in modes:
            rounds_ms[mode].append(await replay_cpu_ms(history, workflow_runner(mode), count))
    decode_ms, size = input_decode_ms(history, count * 5)
    return {
        "kind": "worker-cost",
        "machine": machine(),
        "history_events": len(history.events),
        "cpu_ms_per_workflow": {
            **{mode: round(statistics.median(ms), 2) for mode, ms in rounds_ms.items()},
            "rounds": rounds_ms,
        },
        "input": {"bytes": size, "decode_cpu_ms": round(decode_ms, 3)},
        "load_average_end": load_average(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=200, help="workflows replayed per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(main_async(args.count, args.rounds))
    cpu = result["cpu_ms_per_workflow"]
    assert isinstance(cpu, dict)
    print(f"a {result['history_events']}-event grading history, replayed (CPU ms per workflow, median of rounds):")
    for mode in ("strict", "shared-imports", "off"):
        note = "  (the service's default)" if mode == "off" else ""
        print(f"  GREENFAB_TEMPORAL_SANDBOX={mode:<15} {cpu[mode]:6.2f}{note}")
    print(f"  decoding the input alone: {result['input']}  (load {result['load_average_end']})")
    if not args.no_save:
        print(f"saved {save_result('worker-cost', result)}")


if __name__ == "__main__":
    main()
