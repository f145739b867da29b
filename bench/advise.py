"""Advisor benchmark: how long one unit's advice takes (every option and the plan scored by durable_rules).

    uv run python bench/advise.py [--units 60]

The example declarations, then generated units of every scheme (services/scoring/synthetic.py):
milliseconds per advice (p50, p95, max) of wall time and of CPU time (on a shared, loaded machine
the wall time is mostly waiting for a core; the CPU time is what an idle core would take), and how
many engine evaluations each made.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from contracts.schemes import Scheme  # noqa: E402
from services.scoring.advice_data import AdviceData  # noqa: E402
from services.scoring.advisor import Advisor  # noqa: E402
from services.scoring.domain.facts import InputError  # noqa: E402
from services.scoring.domain.rulebook import RuleLibrary  # noqa: E402
from services.scoring.engine import RulesEngine  # noqa: E402
from services.scoring.synthetic import Generator  # noqa: E402

RULES = ROOT / "rules"


class CountingEngine(RulesEngine):
    calls = 0

    def evaluate(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        CountingEngine.calls += 1
        return super().evaluate(*args, **kwargs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=60)
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")
    library = RuleLibrary.load(RULES)
    advisor = Advisor(library, AdviceData.load(RULES), CountingEngine(library))
    declarations = []
    for scheme in Scheme:
        decl = json.loads((ROOT / "examples" / f"{scheme.value}-declaration.json").read_text())
        declarations.append((f"example {scheme.value}", scheme, date.fromisoformat(decl["declared_on"]), decl["data"]))
    for unit in Generator(library, seed=5).units(args.units):
        declarations.append(
            (unit["uscc"], Scheme(unit["scheme"]), date.fromisoformat(unit["declared_on"]), unit["data"])
        )
    for scheme in Scheme:  # compile each edition's rules before timing
        advisor.engine.evaluate(scheme, declarations[list(Scheme).index(scheme)][2], declarations[0][3])
    timings: dict[Scheme, list[float]] = {s: [] for s in Scheme}
    cpu: dict[Scheme, list[float]] = {s: [] for s in Scheme}
    calls: dict[Scheme, list[int]] = {s: [] for s in Scheme}
    for label, scheme, as_of, data in declarations:
        CountingEngine.calls = 0
        started, cpu_started = time.perf_counter(), time.process_time()
        try:
            advice = advisor.advise(
                scheme, as_of, data, target=Decimal(80) if scheme == Scheme.BEAUTIFUL_FACTORY else None
            )
        except InputError:
            continue
        ms = (time.perf_counter() - started) * 1000
        timings[scheme].append(ms)
        cpu[scheme].append((time.process_time() - cpu_started) * 1000)
        calls[scheme].append(CountingEngine.calls)
        if label.startswith("example"):
            plan = advice.plan
            print(
                f"   {label:<28} {ms:6.0f} ms wall, {cpu[scheme][-1]:4.0f} ms CPU, "
                f"{CountingEngine.calls} engine evaluations; "
                f"plan reaches target: {plan.reaches_target if plan else '—'}"
            )
    for scheme in Scheme:
        t, c = sorted(timings[scheme]), sorted(cpu[scheme])
        if not t:
            continue

        def p95(xs: list[float]) -> float:
            return xs[min(len(xs) - 1, int(len(xs) * 0.95))]

        print(
            f"{scheme.value:<18} {len(t):3} units: wall p50 {statistics.median(t):5.0f} ms, p95 {p95(t):5.0f}, "
            f"max {t[-1]:5.0f}; CPU p50 {statistics.median(c):4.0f} ms, p95 {p95(c):4.0f}, max {c[-1]:4.0f}; "
            f"engine evaluations per advice: median {statistics.median(calls[scheme]):.0f}"
        )


if __name__ == "__main__":
    main()
