"""Rulebook cases: plain-language YAML next to each rulebook, run against the engine and the reference.

A case file (rules/<scheme>/cases/*.yaml) holds a list of cases:

    - name: BF-1 at exactly 50 % scores full (≤50%)
      as_of: 2025-10-08         # picks the edition (not `on`: YAML 1.1 reads `on` as true)
      input: {air_pollutant_ratio: 0.5}
      expect:
        items: {BF-1: 5}        # points, or a status (needs_expert, missing_input, not_applicable)
        total: 5                # optional: total, level, passed, provisional, vetoes (codes), failing_basic, flags,
                                # verdict_has (words the verdict_zh must contain)

A case may instead expect the input to be refused: ``expect: {refused: {field: code}}``, the
field(s) as the refusal names them (``nonconventional_water, water_withdrawal``) and its code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from contracts.evaluation import Evaluation
from contracts.schemes import Scheme
from services.scoring.domain.facts import InputError

STATUSES = {"needs_expert", "missing_input", "not_applicable"}


@dataclass(frozen=True)
class RuleCase:
    scheme: Scheme
    file: str
    name: str
    on: date
    input: dict[str, Any]
    expect: dict[str, Any]


def load_cases(rules_dir: Path) -> list[RuleCase]:
    out = []
    for scheme in Scheme:
        for path in sorted((rules_dir / scheme.value / "cases").glob("*.yaml")):
            for raw in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
                out.append(
                    RuleCase(
                        scheme=scheme,
                        file=f"{scheme.value}/cases/{path.name}",
                        name=str(raw["name"]),
                        on=raw["as_of"] if isinstance(raw["as_of"], date) else date.fromisoformat(str(raw["as_of"])),
                        input=dict(raw.get("input") or {}),
                        expect=dict(raw["expect"]),
                    )
                )
    return out


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, int | float) and not isinstance(expected, bool):
        return actual is not None and not isinstance(actual, bool) and Decimal(str(actual)) == Decimal(str(expected))
    return bool(expected == actual)


def outcome(case: RuleCase, run: Callable[[Scheme, date, dict[str, Any]], Evaluation]) -> list[str]:
    """What differs between the case and running it (an evaluation, or a refusal); empty when it passes."""
    refused = case.expect.get("refused")
    try:
        result = run(case.scheme, case.on, case.input)
    except InputError as exc:
        if refused is None:
            return [f"refused {exc.field} ({exc.code}): {exc.reason}"]
        if refused != {exc.field: exc.code}:
            return [f"refused: expected {refused}, got {{{exc.field}: {exc.code}}} ({exc.reason})"]
        return []
    if refused is not None:
        return [f"refused: expected {refused}, but it was scored (total {result.total})"]
    return mismatches(case, result)


def mismatches(case: RuleCase, result: Evaluation) -> list[str]:
    """What differs between the case's expectations and the result; empty when it passes."""
    problems = []
    items = {i.id: i for i in result.items}
    for item_id, want in (case.expect.get("items") or {}).items():
        got = items.get(item_id)
        if got is None:
            problems.append(f"{item_id}: not in the result")
        elif want in STATUSES:
            if got.status != want:
                problems.append(f"{item_id}: expected {want}, got {got.status} ({got.points}; {got.explanation})")
        elif got.status != "scored" or not _same(want, got.points):
            problems.append(f"{item_id}: expected {want} points, got {got.points} ({got.status}; {got.explanation})")
    scalar: dict[str, Callable[[Evaluation], Any]] = {
        "total": lambda r: r.total,
        "level": lambda r: r.level,
        "passed": lambda r: r.passed,
        "provisional": lambda r: r.provisional,
        "edition": lambda r: r.edition,
        "vetoes": lambda r: sorted(v.code for v in r.vetoes),
        "failing_basic": lambda r: sorted(r.failing_basic),
        "flags": lambda r: sorted(f.code for f in r.flags),
    }
    if "verdict_has" in case.expect and case.expect["verdict_has"] not in (result.verdict_zh or ""):
        problems.append(f"verdict: expected it to say {case.expect['verdict_has']!r}, got {result.verdict_zh!r}")
    for key, read in scalar.items():
        if key in case.expect:
            want = case.expect[key]
            want = sorted(want) if isinstance(want, list) else want
            if not _same(want, read(result)):
                problems.append(f"{key}: expected {want}, got {read(result)}")
    return problems
