"""The engine's figures for issue 14 item 3: evaluations/s per scheme on one core, and 2 workers against 1.

    .venv/bin/python bench/engine.py [--count 1000] [--rounds 1] [--pool-count 1000] [--in-flight 8]
                                     [--pool-rounds 3] [--parts 1,2,3] [--no-save]

1. One process: ``RulesEngine.evaluate`` (durable_rules) and the reference interpreter, per scheme,
   over ``--count`` varied example declarations (bench/scoring.py's inputs). Shown per wall second
   and per CPU second of the process: on a shared machine the CPU figure is what one core does, the
   wall figure what this process was given. For the beautiful factory, GoRules zen-engine (the Rust
   engine's Python binding) too, in the same rounds, on the same declarations: bench/zen's decision
   graph of the same rulebook edition (tests/unit/test_zen_differential.py holds it to our engine's
   points item by item), loaded once, ``ZenDecision.evaluate`` per declaration (the binding's
   synchronous call, its fastest: ``ZenEngine.evaluate`` through a loader and ``evaluate_batch`` took
   twice as long). Without zen-engine installed, the issue's figure stands in for it.
2. The service's worker pool (`EnginePool.evaluate_json`, as the scoring service calls it: the
   worker's JSON, unread; ``--in-flight`` calls at a time) with 1 and 2 worker processes, per scheme,
   measured one right after the other for ``--pool-rounds`` rounds: the ratio 2 ÷ 1 per round, its
   median and spread, beside the same ratio for the workers evaluating on their own (no calls through
   the pool: what two processes give over one on this machine at that moment, the pool's ceiling),
   and the caller's own CPU per evaluation (the service process's share, which its workers cannot
   take off it: with two workers on two cores it must stay small). The 2-worker figure needs two
   idle cores (the caller's event loop is a third process): on a loaded machine the ratio says more
   about the load than the pool, and the ceiling shows by how much.
3. The scoring service's handler with one worker (``handlers.score_submission``: the pool, the row in
   SQLite, the evaluation.completed message's bytes as NATS would be sent them, NATS itself left out):
   the service process's CPU per evaluation, which is what bounds two workers on two cores.

Prints the load average with each figure and writes `bench/results/engine-<time>.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import load_average, machine, save_result
from bench.scoring import RULES, inputs
from bench.zen import jdm
from contracts.schemes import Scheme
from services.scoring.domain import reference
from services.scoring.domain.rulebook import RuleLibrary
from services.scoring.engine import RulesEngine
from services.scoring.worker import EnginePool, settle

# zen-engine 2.1.3 (Rust) on the 22 beautiful-factory items as issue 14 states it, measured by the author on
# another machine: kept as a second reference beside zen-engine measured in the same run.
ZEN_BEAUTIFUL_PER_S = 1825


def _rates(run: Any, batch: list[Any], scheme: Scheme) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    for on, data in batch:
        run(scheme, on, data)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return len(batch) / wall, len(batch) / cpu


def one_process(count: int, rounds: int = 1) -> dict[str, Any]:
    library = RuleLibrary.load(RULES)
    engine = RulesEngine(library)
    settle()  # as a worker process does once its rules are loaded (gc.freeze)
    out: dict[str, Any] = {}
    zen = _zen_decision()
    print(
        f"1. one process ({count} evaluations per scheme, best of {rounds} round(s), engine and reference alternating"
        + (", zen-engine after them for the beautiful factory)" if zen else ")")
    )
    print(f"   {'scheme':<18} {'durable_rules /s (wall, CPU)':>30} {'µs (CPU)':>9} {'reference /s (CPU)':>19}  load")
    zen_runs: list[tuple[float, float, float]] = []
    for scheme in Scheme:
        batch = [inputs(scheme, i) for i in range(count)]
        timed_zen = zen is not None and scheme is Scheme.BEAUTIFUL_FACTORY
        texts = [(on, json.dumps(data)) for on, data in batch] if timed_zen else []  # zen also reads JSON text
        for on, data in batch[:50]:  # rulesets compiled, caches warm
            engine.evaluate(scheme, on, data)
            if timed_zen:
                zen.evaluate(data)
        # Best of the rounds: this VM's speed moves by ±30 % within a minute at the same load average.
        runs = []
        for _ in range(rounds):
            runs.append((*_rates(engine.evaluate, batch, scheme),
                         _rates(lambda s, d, x: reference.evaluate(library, s, d, x), batch, scheme)[1]))  # fmt: skip
            if timed_zen:
                # The same declarations in, each item's status and points and the total out (bench/zen/jdm.py).
                zen_runs.append((*_rates(lambda s, d, x: zen.evaluate(x), batch, scheme),
                                 _rates(lambda s, d, x: zen.evaluate(x), texts, scheme)[1]))  # fmt: skip
        wall, cpu = max(r[0] for r in runs), max(r[1] for r in runs)
        ref_cpu = max(r[2] for r in runs)
        load = load_average()[0]
        out[scheme.value] = {"wall_per_s": round(wall), "cpu_per_s": round(cpu), "reference_cpu_per_s": round(ref_cpu),
                             "load_average": load, "rounds_cpu_per_s": [round(r[1]) for r in runs]}  # fmt: skip
        print(f"   {scheme.value:<18} {wall:14.0f} {cpu:14.0f} {1e6 / cpu:9.0f} {ref_cpu:19.0f}  {load:.1f}")
    beautiful = out[Scheme.BEAUTIFUL_FACTORY.value]["cpu_per_s"]
    if zen_runs:
        batch = [inputs(Scheme.BEAUTIFUL_FACTORY, i) for i in range(count)]
        out["zen_engine"] = zen_figures(zen_runs, beautiful, _zen_own_us(zen, batch))
    else:
        out["zen_engine"] = {"installed": False, "issue_reference_per_s": ZEN_BEAUTIFUL_PER_S}
        print("   zen-engine is not installed (uv sync installs the dev group): the issue's figure stands in for it")
    print(f"   beautiful factory against zen-engine's {ZEN_BEAUTIFUL_PER_S}/s (issue 14's figure, the issue author's "
          f"machine): {beautiful / ZEN_BEAUTIFUL_PER_S:.2f}×")  # fmt: skip
    return out


def _zen_decision() -> Any:
    """bench/zen's decision graph loaded into zen-engine once, or None when zen-engine is not installed."""
    try:
        return jdm.decision()
    except ImportError:
        return None


def _zen_own_us(zen: Any, batch: list[Any]) -> float:
    """The median of zen-engine's own timer over the batch (its response's ``performance``, wall time inside the
    graph's evaluation): what its binding adds per call (a tokio runtime made per call, the context and the
    response converted) is the difference from its CPU µs. Read in a pass of its own, outside the timed rounds."""
    units = {"ns": 1e-3, "µs": 1.0, "ms": 1e3, "s": 1e6}
    own = []
    for _, data in batch:
        shown = re.fullmatch(r"([\d.]+)\s*(ns|µs|ms|s)", zen.evaluate(data)["performance"])  # e.g. "421.3µs"
        assert shown is not None
        own.append(float(shown[1]) * units[shown[2]])
    return statistics.median(own)


def zen_figures(runs: list[tuple[float, float, float]], ours_cpu_per_s: float, own_us: float) -> dict[str, Any]:
    """zen-engine's best round, printed beside ours; ``runs``: (wall /s, CPU /s, CPU /s with JSON text in) per round;
    ``own_us``: its own timer's median per evaluation (_zen_own_us)."""
    from importlib.metadata import version

    wall, cpu, text_cpu = (max(r[n] for r in runs) for n in range(3))
    load = load_average()[0]
    print(f"   {'zen-engine ' + version('zen-engine'):<18} {wall:14.0f} {cpu:14.0f} {1e6 / cpu:9.0f} "
          f"{'':>19}  {load:.1f}   (beautiful factory; the declaration as JSON text: {text_cpu:.0f}/s)")  # fmt: skip
    print(f"   beautiful factory against zen-engine measured in this run: {ours_cpu_per_s / cpu:.2f}×")
    print(f"   (zen-engine's own timer, the graph alone without its binding's call: median {own_us:.0f} µs, "
          f"{1e6 / own_us:.0f}/s; ours against that: {ours_cpu_per_s * own_us / 1e6:.2f}×)")  # fmt: skip
    return {
        "installed": True,
        "version": version("zen-engine"),
        "graph": str(jdm.path_for(jdm.EDITION).relative_to(jdm.ROOT)),
        "api": "ZenDecision.evaluate(dict), the decision created once",
        "wall_per_s": round(wall),
        "cpu_per_s": round(cpu),
        "cpu_us": round(1e6 / cpu, 1),
        "json_text_cpu_per_s": round(text_cpu),
        "rounds_cpu_per_s": [round(r[1]) for r in runs],
        "own_timer_median_us": round(own_us, 1),
        "load_average": load,
        "ours_over_zen": round(ours_cpu_per_s / cpu, 2),
        "issue_reference_per_s": ZEN_BEAUTIFUL_PER_S,
        "ours_over_issue_reference": round(ours_cpu_per_s / ZEN_BEAUTIFUL_PER_S, 2),
    }


async def _pool_rate(pool: EnginePool, scheme: Scheme, count: int, in_flight: int) -> tuple[float, float]:
    """Evaluations/s through the pool, and the caller's own CPU µs per evaluation (its share of every call)."""
    queue = iter([inputs(scheme, i) for i in range(count)])

    async def worker() -> None:
        for on, data in queue:
            # What the scoring service asks for: the worker's JSON text, stored and forwarded unread.
            await pool.evaluate_json(scheme, on, data)

    t, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return count / (time.perf_counter() - t), (time.process_time() - cpu) / count * 1e6


def raw_seconds(scheme: str, count: int) -> float:
    """Runs in a pool's worker: ``count`` evaluations there, one after another, as its calls run them
    (``evaluate_in_worker``, the answer's JSON included) but with no call crossing the pipe; the seconds taken."""
    from services.scoring.worker import evaluate_in_worker

    batch = [(on.isoformat(), data) for on, data in (inputs(Scheme(scheme), i) for i in range(count))]
    t = time.perf_counter()
    for on, data in batch:
        evaluate_in_worker(scheme, on, data)
    return time.perf_counter() - t


async def _raw_rate(pool: EnginePool, processes: int, scheme: Scheme, count: int) -> float:
    """The machine's own ceiling: each worker evaluating on its own at once, evaluations/s over all of them."""
    t = time.perf_counter()
    await asyncio.gather(*(pool.run(raw_seconds, scheme.value, count) for _ in range(processes)))
    return processes * count / (time.perf_counter() - t)


async def _pools(count: int, in_flight: int, rounds: int) -> dict[str, list[dict[str, Any]]]:
    """Per scheme and round, 1 worker and 2 workers measured one right after the other (the order alternating
    between rounds): this VM's speed moves by a third within a minute, so a ratio is only taken within a round.
    Each round also measures the same workers evaluating on their own, without the pool's calls (the ceiling:
    what two processes give over one on these two cores at that moment)."""
    one, two = EnginePool(RULES, 1), EnginePool(RULES, 2)
    try:
        await asyncio.gather(one.warm_up(), two.warm_up())
        for scheme in Scheme:
            for pool, processes in ((one, 1), (two, 2)):
                await _pool_rate(pool, scheme, 20 * processes, in_flight)  # every worker compiles its rulesets
        out: dict[str, list[dict[str, Any]]] = {scheme.value: [] for scheme in Scheme}
        for n in range(rounds):
            for scheme in Scheme:
                order = [(one, "one", 1), (two, "two", 2)]
                measured: dict[str, Any] = {}
                for pool, name, processes in order if n % 2 == 0 else order[::-1]:
                    rate, cpu = await _pool_rate(pool, scheme, count, in_flight)
                    measured[name] = round(rate)
                    measured[f"caller_cpu_us_{name}"] = round(cpu)
                    measured[f"load_{name}"] = load_average()[0]
                    measured[f"raw_{name}"] = round(await _raw_rate(pool, processes, scheme, count // 2))
                measured["ratio"] = round(measured["two"] / measured["one"], 2)
                measured["raw_ratio"] = round(measured["raw_two"] / measured["raw_one"], 2)
                out[scheme.value].append(measured)
                print(f"   round {n + 1} {scheme.value:<18} 1 worker {measured['one']:6}/s   2 workers "
                      f"{measured['two']:6}/s   {measured['ratio']:.2f}× (the workers on their own: "
                      f"{measured['raw_one']:5} → {measured['raw_two']:5}/s, {measured['raw_ratio']:.2f}×)   "
                      "caller's CPU "
                      f"{measured['caller_cpu_us_one']:4} / {measured['caller_cpu_us_two']:4} µs per evaluation   "
                      f"load {measured['load_one']:.1f} / {measured['load_two']:.1f}")  # fmt: skip
        return out
    finally:
        one.close()
        two.close()


async def _handled(
    db: Any, pool: EnginePool, publish: Any, scheme: Scheme, numbers: Iterator[int], in_flight: int
) -> None:
    """``score_submission`` for each of ``numbers`` (bench/scoring.py's inputs), ``in_flight`` at a time."""
    from contracts.envelope import Actor
    from contracts.messages import SubmissionReceived
    from services.scoring import handlers

    async def caller() -> None:
        for n in numbers:
            on, data = inputs(scheme, n)
            event = SubmissionReceived(
                correlation_id=f"c-{n}", actor=Actor(role="system", subject="bench"),
                submission_id=f"{scheme.value}-{n}", scheme=scheme, uscc="91110000000000000X",
                enterprise_name="示例", district="大兴区", declared_on=on, data=data,
            )  # fmt: skip
            await handlers.score_submission(db, pool, event, publish)

    await asyncio.gather(*(caller() for _ in range(in_flight)))


async def _service(count: int, in_flight: int) -> dict[str, tuple[float, float]]:
    from greenfab.db import Database, create_tables, make_engine
    from services.scoring.tables import ScoringBase

    async def publish(message: Any) -> None:
        # What reaches NATS: the message's bytes (faststream encodes a dict with json.dumps when given one).
        body = getattr(message, "body", None)
        if body is None:
            json.dumps(message.model_dump(mode="json")).encode()

    rates: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite+aiosqlite:///{tmp}/scoring.db")
        await create_tables(engine, ScoringBase.metadata)
        db = Database(engine)
        pool = EnginePool(RULES, 1)
        try:
            await pool.warm_up()
            for scheme in Scheme:
                await _handled(db, pool, publish, scheme, iter(range(20)), in_flight)  # rulesets compiled
                t, cpu = time.perf_counter(), time.process_time()
                await _handled(db, pool, publish, scheme, iter(range(20, count + 20)), in_flight)
                rates[scheme.value] = (count / (time.perf_counter() - t), (time.process_time() - cpu) / count * 1e6)
        finally:
            pool.close()
            await engine.dispose()
    return rates


def service(count: int) -> dict[str, Any]:
    print(f"3. the scoring service's handler, 1 worker ({count} evaluations per scheme, 8 in flight, SQLite, no NATS)")
    rates = asyncio.run(_service(count, 8))
    load = load_average()[0]
    out: dict[str, Any] = {"load_average": load}
    for scheme in Scheme:
        rate, cpu = rates[scheme.value]
        out[scheme.value] = {"per_s": round(rate), "service_cpu_us": round(cpu)}
        print(f"   {scheme.value:<18} {rate:6.0f}/s   service process's CPU {cpu:5.0f} µs per evaluation")
    print(f"   (load {load:.1f})")
    return out


def workers(count: int, in_flight: int, rounds: int) -> dict[str, Any]:
    print(f"2. the service's worker pool ({count} evaluations per scheme and pool, {in_flight} in flight, "
          f"{rounds} rounds of 1 and 2 workers one after the other)")  # fmt: skip
    measured = asyncio.run(_pools(count, in_flight, rounds))
    out: dict[str, Any] = {"in_flight": in_flight, "rounds": measured}
    print("   2 workers ÷ 1 per round, median (lowest–highest):")
    for scheme in Scheme:
        ratios = sorted(r["ratio"] for r in measured[scheme.value])
        raw = sorted(r["raw_ratio"] for r in measured[scheme.value])
        loads = [r[f"load_{k}"] for r in measured[scheme.value] for k in ("one", "two")]
        out[scheme.value] = {"ratio_median": statistics.median(ratios), "ratio_min": ratios[0],
                             "ratio_max": ratios[-1], "raw_ratio_median": statistics.median(raw),
                             "load_min": min(loads), "load_max": max(loads)}  # fmt: skip
        print(f"   {scheme.value:<18} {statistics.median(ratios):.2f}× ({ratios[0]:.2f}–{ratios[-1]:.2f}); "
              f"the workers on their own {statistics.median(raw):.2f}× ({raw[0]:.2f}–{raw[-1]:.2f}); "
              f"load {min(loads):.1f}–{max(loads):.1f}")  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=1, help="part 1: rounds per scheme, the best is shown")
    parser.add_argument("--pool-count", type=int, default=1000)
    parser.add_argument("--in-flight", type=int, default=8, help="pool calls in flight (the consumer pulls 16)")
    parser.add_argument("--pool-rounds", type=int, default=3, help="part 2: rounds of 1 and 2 workers, interleaved")
    parser.add_argument("--parts", default="1,2,3", help="which parts to run, e.g. 1,3 (2 needs two idle cores)")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    result: dict[str, Any] = {"kind": "engine", "machine": machine()}
    if "1" in parts:
        result["one_process"] = one_process(args.count, args.rounds)
    if "2" in parts:
        result["workers"] = workers(args.pool_count, args.in_flight, args.pool_rounds)
    if "3" in parts:
        result["service"] = service(args.pool_count)
    if not args.no_save:
        print(f"saved {save_result('engine', result)}")


if __name__ == "__main__":
    main()
