"""Where one evaluation's time goes, per scheme: durable_rules' C core or the Python around it.

    .venv/bin/python bench/engine_profile.py [--count 3000] [--rate 200]

py-spy is not a project dependency: `uv pip install --python .venv/bin/python py-spy`.
For each scheme, runs ``--count`` evaluations through the service's `RulesEngine` in a child
process under `py-spy record --native`, and splits the samples by the stage of
`RulesEngine.evaluate` they fall in (inclusive, innermost project stage wins):

- input check: the catalogue's check of the declaration (`reference.check_inputs`);
- facts: building facts from the declaration (`facts.fill` per fact in a compiled edition,
  `reference.prepare` in the general path: edition, facts, events);
- fact JSON: turning facts into the JSON the C core reads;
- C core: samples inside `durable_rules_engine` (assert, actions, retract), and the Python
  driving it (`RulesEngine._drive` minus the C frames: reading each action's frame);
- score: outcome arithmetic and explanation per item; assemble: the Evaluation (items, totals, pydantic).

Also times the same evaluations without the profiler (evaluations/s per scheme) so the shares can
be read as microseconds. Writes `bench/results/engine-profile-<time>.json`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import load_average, machine, save_result

# Stages by the frame that marks them; the innermost (last in the stack) wins.
STAGES = (
    ("facts from the declaration", "prepare (services/scoring/domain/reference.py"),
    ("facts from the declaration", "fill (services/scoring/domain/facts.py"),
    ("facts from the declaration", "check_fact (services/scoring/domain/facts.py"),
    ("input check (catalogue)", "check_inputs (services/scoring/domain/reference.py"),
    ("fact JSON", "_score_fact (services/scoring/engine.py"),
    ("fact JSON", "_FactText.dumps (services/scoring/engine.py"),
    ("drive: Python around the C core", "RulesEngine._drive (services/scoring/engine.py"),
    ("delete_state", "Host.delete_state ("),
    ("score (outcome arithmetic, explanations)", "score (services/scoring/domain/reference.py"),
    ("score (outcome arithmetic, explanations)", "apply (services/scoring/domain/outcomes.py"),
    ("score (outcome arithmetic, explanations)", "formula (services/scoring/domain/reference.py"),
    ("score (outcome arithmetic, explanations)", "by_case (services/scoring/domain/reference.py"),
    ("assemble (Evaluation, pydantic)", "finish (services/scoring/domain/reference.py"),
    ("assemble (Evaluation, pydantic)", "decide_fact (services/scoring/domain/assemble.py"),
    ("assemble (Evaluation, pydantic)", "evaluation (services/scoring/domain/assemble.py"),
    ("vetoes (describe)", "describe (services/scoring/domain/vetoes.py"),
    ("answers (veto inputs)", "answers (services/scoring/domain/vetoes.py"),
)
C_CORE = "durable_rules_engine"


def loop(scheme: str, count: int) -> None:
    """The child: evaluate ``count`` varied declarations of ``scheme`` (bench/scoring.py's inputs)."""
    from bench.scoring import RULES, inputs
    from contracts.schemes import Scheme
    from services.scoring.domain.rulebook import RuleLibrary
    from services.scoring.engine import RulesEngine

    engine = RulesEngine(RuleLibrary.load(RULES))
    s = Scheme(scheme)
    batch = [inputs(s, i) for i in range(count)]
    engine.evaluate(s, *batch[0])
    t = time.perf_counter()
    for on, data in batch:
        engine.evaluate(s, on, data)
    print(json.dumps({"per_s": count / (time.perf_counter() - t)}))


def stage_of(frames: list[str]) -> str:
    found = "evaluate() itself (the item loop, ids, veto order)"
    for frame in frames:
        for name, marker in STAGES:
            if frame.startswith(marker):
                found = name
    if found == "drive: Python around the C core" and any(C_CORE in f for f in frames):
        return "C core (durable_rules_engine)"
    if any(C_CORE in f for f in frames) and found == "delete_state":
        return "C core (durable_rules_engine)"
    return found


def profile(scheme: str, count: int, rate: int, spy: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "raw.txt"
        argv = [spy, "record", "--native", "--rate", str(rate), "--format", "raw", "--output", str(out), "--"]
        argv += [sys.executable, __file__, "--child", scheme, "--count", str(count)]
        subprocess.run(argv, check=True, capture_output=True)
        stacks: list[tuple[list[str], int]] = []
        for line in out.read_text(errors="replace").splitlines():
            text, _, samples = line.rpartition(" ")
            if samples.isdigit():
                stacks.append((text.split(";"), int(samples)))
    evaluate = [(f, n) for f, n in stacks if any(x.startswith("RulesEngine.evaluate (") for x in f)]
    total = sum(n for _, n in evaluate) or 1
    stages: Counter[str] = Counter()
    for frames, n in evaluate:
        stages[stage_of(frames)] += n
    return {"samples_in_evaluate": total, "shares": {k: round(v / total, 3) for k, v in stages.most_common()}}


def timed(scheme: str, count: int) -> float:
    argv = [sys.executable, __file__, "--child", scheme, "--count", str(count)]
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    return float(json.loads(out.strip().splitlines()[-1])["per_s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    if args.child:
        loop(args.child, args.count)
        return
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        raise SystemExit("py-spy not found: uv pip install --python .venv/bin/python py-spy")
    from contracts.schemes import Scheme

    result: dict[str, Any] = {"kind": "engine-profile", "machine": machine(), "schemes": {}}
    for scheme in Scheme:
        per_s = timed(scheme.value, args.count)
        found = profile(scheme.value, args.count, args.rate, spy)
        found["evaluations_per_s"] = round(per_s)
        found["us_per_evaluation"] = round(1e6 / per_s)
        found["load_average"] = load_average()
        result["schemes"][scheme.value] = found
        print(f"{scheme.value}: {per_s:.0f}/s ({1e6 / per_s:.0f} µs each; load {found['load_average'][0]:.1f})")
        for stage, share in found["shares"].items():
            print(f"   {share:6.1%}  {share * 1e6 / per_s:6.0f} µs  {stage}")
    if not args.no_save:
        print(f"saved {save_result('engine-profile', result)}")


if __name__ == "__main__":
    main()
