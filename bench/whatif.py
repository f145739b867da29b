"""What-if benchmark: a synthetic registry rescored under draft editions; prints units/s and the per-scheme split.

    uv run python bench/whatif.py [--units 100000] [--processes 2] [--registry PATH]

1. The registry: generated once (greenfab registry generate) and kept in .data/bench/.
2. One core, per scheme, on a sample: the batch path (both editions of a unit) against what it stands
   in for, durable_rules and the reference interpreter scoring one edition, and against the raw
   ceiling underneath it (reading the JSON line and touching every input).
3. The whole registry with a draft for every scheme (level 4 at 88, the green-factory pass mark at
   82, the beautiful factory's BF-1 full marks at 45 %), in worker processes, with a progress bar:
   wall time, units/s and the CPU seconds the workers used.
Machine load is printed first: on a shared machine the wall time depends on it, CPU time less so.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from contracts.schemes import Scheme  # noqa: E402
from services.scoring.batch import BatchScorer  # noqa: E402
from services.scoring.domain import reference  # noqa: E402
from services.scoring.domain.rulebook import Edition, RuleLibrary  # noqa: E402
from services.scoring.editions import parse_draft  # noqa: E402
from services.scoring.engine import RulesEngine  # noqa: E402
from services.scoring.whatif import Rescorer, build_report, rescore_all  # noqa: E402

RULES = ROOT / "rules"


def drafts(library: RuleLibrary) -> dict[Scheme, Edition]:
    """A draft for each scheme, each changing what a bureau might."""
    out = {}
    for scheme, change in (
        (Scheme.GRADING, lambda e: e["levels"]["thresholds"][0].update(min_total=88)),
        (Scheme.GREEN_FACTORY, lambda e: e["passing"].update(min_total=82)),
        (Scheme.BEAUTIFUL_FACTORY, lambda e: e.update(items=[tighter_bf1(e["items"][0]), *e["items"][1:]])),
    ):
        raw = yaml.safe_load((RULES / scheme.value / "rulebook.yaml").read_text(encoding="utf-8"))
        edition = raw["editions"][-1]
        edition["edition"] = "bench-draft"
        change(edition)
        out[scheme] = parse_draft(raw, "bench").edition("bench-draft")
    return out


def tighter_bf1(item: dict[str, Any]) -> dict[str, Any]:
    """BF-1's full marks at 45 % of the standard instead of 50 % (4 points from 45 % to 70 %)."""
    bf1 = json.loads(json.dumps(item, default=str))  # a copy: YAML anchors share the item between editions
    bf1["cases"][0]["when"]["air_pollutant_ratio"] = {"lte": 0.45}
    bf1["cases"][1]["when"]["air_pollutant_ratio"] = {"gt": 0.45, "lte": 0.7}
    return dict(bf1)


def registry(path: Path, units: int, processes: int) -> Path:
    if path.exists() and sum(1 for _ in path.open(encoding="utf-8")) == units:
        print(f"registry: {path} ({units} units, kept from an earlier run)")
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    greenfab = Path(sys.executable).parent / "greenfab"
    subprocess.run(
        [
            str(greenfab),
            "registry",
            "generate",
            "--units",
            str(units),
            "--seed",
            "1",
            "-o",
            str(path),
            "--processes",
            str(processes),
        ],
        check=True,
    )
    print(f"registry: generated {units} units in {time.perf_counter() - started:.0f} s → {path}")
    return path


def cpu_ms(work: Any, items: list[Any]) -> float:
    """CPU milliseconds per item (CPU, not wall: a shared machine's load changes the wall clock far more)."""
    started = time.process_time()
    for x in items:
        work(x)
    return (time.process_time() - started) / max(1, len(items)) * 1000


def one_core(lines: list[str], library: RuleLibrary, draft: dict[Scheme, Edition], sample: int) -> None:
    print(f"\n2. one core, per scheme ({sample} units each; CPU ms per unit, units/s of CPU)")
    units = [json.loads(line) for line in lines]
    rescorer = Rescorer(library, draft)
    engine, scorer = RulesEngine(library), BatchScorer(library)
    for scheme in Scheme:
        batch = [u for u in units if u["scheme"] == scheme.value][:sample]
        raw = [json.dumps(u) for u in batch]
        few = batch[: max(1, sample // 5)]

        def one(fn: Any, u: dict[str, Any], scheme: Scheme = scheme) -> None:
            with contextlib.suppress(ValueError):  # a unit the engine refuses still costs its time
                fn(scheme, date.fromisoformat(u["declared_on"]), u["data"])

        rows = {
            "ceiling: read the line, touch every input": cpu_ms(lambda s: sum(1 for _ in json.loads(s)["data"]), raw),
            "batch path, both editions (what-if)": cpu_ms(lambda s: rescorer.rescore(json.loads(s)), raw),
            "batch path, one edition": cpu_ms(lambda u: one(scorer.score, u), batch),
            "durable_rules engine, one edition": cpu_ms(lambda u: one(engine.evaluate, u), few),
            "reference interpreter, one edition": cpu_ms(
                lambda u: one(lambda s, d, x: reference.evaluate(library, s, d, x), u), few
            ),
        }
        print(f"   {scheme.value}")
        for label, ms in rows.items():
            print(f"      {label:<44} {ms:7.3f} ms   {1000 / ms if ms else 0:9,.0f}/s")


def whole(lines: list[str], library: RuleLibrary, draft: dict[Scheme, Edition], processes: int) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    print(f"\n3. the whole registry, a draft for every scheme, {processes} worker process(es)")
    me = psutil.Process()
    started, main_cpu = time.perf_counter(), time.process_time()
    cpu: dict[int, float] = {}  # worker pid → CPU seconds, read while the workers live
    with Progress(
        TextColumn("   rescoring"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
    ) as bar:
        task = bar.add_task("", total=len(lines), rate="")
        done = {"n": 0}

        def advance(n: int) -> None:
            done["n"] += n
            for worker in me.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    times = worker.cpu_times()
                    cpu[worker.pid] = times.user + times.system
            bar.update(task, advance=n, rate=f"{done['n'] / (time.perf_counter() - started):,.0f} units/s")

        outcomes = list(rescore_all(RULES, draft, lines, processes, advance))
    wall = time.perf_counter() - started
    report = build_report(outcomes, draft, library, started)
    main_cpu = time.process_time() - main_cpu
    print(
        f"   {len(lines):,} units in {wall:.1f} s wall: {len(lines) / wall:,.0f} units/s "
        f"(CPU: workers {sum(cpu.values()):.0f} s, main process {main_cpu:.0f} s; "
        f"load average now {os.getloadavg()[0]:.1f})"
    )
    for s in report.by_scheme:
        print(
            f"   {s.scheme.value:<18} {s.units:>7,} units: level ↑{s.level_up} ↓{s.level_down}, "
            f"pass→fail {s.passed_to_failed}, fail→pass {s.failed_to_passed}, refused {s.refused}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=100_000)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--sample", type=int, default=2000)
    parser.add_argument("--registry", type=Path)
    parser.add_argument("--skip-one-core", action="store_true", help="only the whole-registry run")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}, python {sys.version.split()[0]}")
    path = args.registry or ROOT / ".data" / "bench" / f"registry-{args.units}-seed1.jsonl"
    lines = registry(path, args.units, args.processes).read_text(encoding="utf-8").splitlines()
    print("1. registry: " + ", ".join(f"{k} {v:,}" for k, v in Counter(json.loads(x)["scheme"] for x in lines).items()))
    library = RuleLibrary.load(RULES)
    draft = drafts(library)
    if not args.skip_one_core:
        one_core(lines, library, draft, args.sample)
    whole(lines, library, draft, args.processes)


if __name__ == "__main__":
    main()
