"""Scoring benchmark: prints evaluations/s and memory; a script, not a timed test.

    uv run python bench/scoring.py [--quick]

1. Single process, one core: durable_rules engine and the reference interpreter, per scheme.
2. Through the service's worker pool (EnginePool) with 1 and 2 worker processes.
3. RSS of a worker process before and after 100,000 evaluations (one kept durable_rules session per ruleset,
   each evaluation's facts retracted).
Inputs: the example declarations, varied per run so no two evaluations are identical.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from contracts.schemes import Scheme  # noqa: E402
from services.scoring.domain import reference  # noqa: E402
from services.scoring.domain.rulebook import RuleLibrary  # noqa: E402
from services.scoring.engine import RulesEngine  # noqa: E402
from services.scoring.worker import EnginePool  # noqa: E402

RULES = ROOT / "rules"
EXAMPLES = {s: json.loads((ROOT / "examples" / f"{s.value}-declaration.json").read_text()) for s in Scheme}
VARIED = {Scheme.GRADING: "renewable_energy_share", Scheme.GREEN_FACTORY: "green_material_amount",
          Scheme.BEAUTIFUL_FACTORY: "air_pollutant_ratio"}  # fmt: skip


def inputs(scheme: Scheme, i: int) -> tuple[date, dict[str, Any]]:
    decl = EXAMPLES[scheme]
    data = dict(decl["data"])
    key = VARIED[scheme]
    data[key] = round(float(data[key]) * (1 + (i % 97) / 1000), 6)
    return date.fromisoformat(decl["declared_on"]), data


def single_process(n: int) -> None:
    library = RuleLibrary.load(RULES)
    engine = RulesEngine(library)
    print(f"1. one process, one core ({n} evaluations per scheme)")
    for scheme in Scheme:
        batch = [inputs(scheme, i) for i in range(n)]
        engine.evaluate(scheme, *batch[0])
        t = time.perf_counter()
        for on, data in batch:
            engine.evaluate(scheme, on, data)
        durable = n / (time.perf_counter() - t)
        t = time.perf_counter()
        for on, data in batch:
            reference.evaluate(library, scheme, on, data)
        plain = n / (time.perf_counter() - t)
        print(f"   {scheme.value:<18} durable_rules {durable:8.0f}/s   reference {plain:8.0f}/s")


async def _pool_rate(pool: EnginePool, scheme: Scheme, n: int, in_flight: int) -> float:
    batch = [inputs(scheme, i) for i in range(n)]
    queue = iter(batch)

    async def worker() -> None:
        for on, data in queue:
            await pool.evaluate(scheme, on, data)

    t = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return n / (time.perf_counter() - t)


def worker_pool(n: int) -> None:
    print(f"2. the service's worker pool ({n} evaluations per scheme, 8 in flight)")
    for processes in (1, 2):
        pool = EnginePool(RULES, processes)
        asyncio.run(pool.warm_up())
        rates = {}
        for scheme in Scheme:
            asyncio.run(_pool_rate(pool, scheme, 50, 8))  # compile the rulesets in every worker
            rates[scheme] = asyncio.run(_pool_rate(pool, scheme, n, 8))
        pool.close()
        shown = "   ".join(f"{s.value} {r:6.0f}/s" for s, r in rates.items())
        print(f"   {processes} worker process{'es' if processes > 1 else ''}: {shown}")


def memory(n: int) -> None:
    print(f"3. RSS of the engine process over {n} evaluations (all schemes in turn)")
    engine = RulesEngine(RuleLibrary.load(RULES))
    proc = psutil.Process(os.getpid())
    schemes = list(Scheme)
    for i in range(300):  # warm: rulesets compiled, caches filled
        engine.evaluate(schemes[i % 3], *inputs(schemes[i % 3], i))
    before = proc.memory_info().rss
    t = time.perf_counter()
    for i in range(n):
        scheme = schemes[i % 3]
        engine.evaluate(scheme, *inputs(scheme, i))
        if (i + 1) % (n // 10) == 0:
            now = proc.memory_info().rss
            print(
                f"   {i + 1:>7} evaluations  RSS {now / 2**20:7.1f} MiB  ({time.perf_counter() - t:5.0f} s)", flush=True
            )
    after = proc.memory_info().rss
    print(f"   before {before / 2**20:.1f} MiB, after {after / 2**20:.1f} MiB: growth {(after - before) / before:+.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer evaluations (a smoke run)")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, python {sys.version.split()[0]}")
    single_process(300 if args.quick else 3000)
    worker_pool(300 if args.quick else 3000)
    memory(3000 if args.quick else 100_000)


if __name__ == "__main__":
    main()
