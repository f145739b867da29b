"""Rulebook formulas (``derive``) that could crash scoring are refused when checked, and evaluation raises only the
expression module's own errors: a value out of range is the declaration's input problem, in the engine, the
reference interpreter and the what-if alike (the probe of 2026-12-04: 500s at check and what-if, and a
declaration ``failed`` after 5 tries on decimal.Overflow)."""

from __future__ import annotations

import asyncio
import inspect
import json
import shutil
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from contracts.schemes import Scheme
from services.scoring.batch import pinned_library
from services.scoring.domain import reference
from services.scoring.domain.expressions import (
    MAX_DEPTH,
    MAX_EXPONENT,
    MAX_LENGTH,
    ExpressionError,
    OutOfRangeError,
    parse,
)
from services.scoring.domain.facts import InputError
from services.scoring.domain.rulebook import RuleLibrary
from services.scoring.editions import Checker, PublishRefused, parse_draft
from services.scoring.engine import RulesEngine
from services.scoring.rulebooks import Rulebooks
from services.scoring.synthetic import Generator
from services.scoring.whatif import rescore_all

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "rules"
LIBRARY = RuleLibrary.load(RULES)
CHECKER = Checker(LIBRARY, RULES)
EXAMPLE = json.loads((ROOT / "examples" / "grading-declaration.json").read_text(encoding="utf-8"))
RATIO = "plot_ratio/plot_ratio_requirement"  # GR-1's formula, as the probe wrote it

# The probe's formulas: each made /v1/rulebooks/check and /v1/whatif answer 500.
HOSTILE = {
    "power tower": f"9**9**9 + {RATIO}",
    "long chain": RATIO + "+1" * 50000,
    "deep unary minus": "-" * 20000 + RATIO,
    "cagr overflow": "cagr(0.0000001, 1e300, 0.0001)",
    "overflow on in-bounds inputs": f"{RATIO} + (plot_ratio > 100) * 10 ** (plot_ratio*100000)",
}
# Passes its check (the exponent of cagr is computed from inputs by cagr, not written with **), yet a tiny
# `years` makes the example's plot ratio (1.35) grow to 1.35 ** 10000, beyond a float: out of range at evaluation.
OVERFLOWS_AT_EVALUATION = "cagr(plot_ratio_requirement, plot_ratio, 0.0001)"


def grading_draft(formula: str) -> dict[str, Any]:
    """The grading rulebook as a draft (2026-draft, in force from 2026-01-01), GR-1's ratio given by ``formula``."""
    raw = yaml.safe_load((RULES / "grading" / "rulebook.yaml").read_text(encoding="utf-8"))
    edition = raw["editions"][0]
    edition.update(edition="2026-draft", effective_from=date(2026, 1, 1))
    gr1 = next(i for i in edition["items"] if i["id"] == "GR-1")
    assert "ratio" in gr1["derive"]
    gr1["derive"]["ratio"] = formula
    return dict(json.loads(json.dumps(raw, default=str)))


@pytest.mark.parametrize("formula", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_formula_is_refused_by_the_language_in_both_languages(formula: str) -> None:
    with pytest.raises(ExpressionError) as refused:
        parse(formula)
    error = refused.value
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error.message_zh), error.message_zh
    assert error.message_en != error.message_zh
    assert len(error.message_en) < 400  # a 100,000-character formula is not echoed back whole


@pytest.mark.parametrize("formula", HOSTILE.values(), ids=HOSTILE.keys())
def test_the_check_names_the_item_and_derive_field_of_a_hostile_formula(formula: str) -> None:
    problems = CHECKER.check(parse_draft(grading_draft(formula), "draft.yaml"))
    assert [(p.edition, p.item, p.field) for p in problems] == [("2026-draft", "GR-1", "derive.ratio")]
    assert problems[0].message_zh.startswith("公式无效") and problems[0].message_en.startswith("bad formula")


def test_publish_runs_the_same_check(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    draft = parse_draft(grading_draft(HOSTILE["overflow on in-bounds inputs"]), "draft.yaml")
    with pytest.raises(PublishRefused) as refused:
        # Refused before the database is touched, so none is given.
        asyncio.run(
            Rulebooks(rules).publish(None, draft, None, date(2030, 1, 1), "bureau", "探针：越界公式", date(2026, 12, 4))  # type: ignore[arg-type]
        )
    assert [(p.item, p.field) for p in refused.value.problems] == [("GR-1", "derive.ratio")]
    assert (rules / "grading" / "rulebook.yaml").read_text(encoding="utf-8") == (
        RULES / "grading" / "rulebook.yaml"
    ).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("formula", "why"),
    [
        ("x" + "+x" * (MAX_LENGTH // 2), "characters long"),
        ("(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1), "nests deeper"),
        ("-" * (MAX_DEPTH + 1) + "x", "nests deeper"),
        ("+".join(["x"] * (MAX_DEPTH + 2)), "nests deeper"),
        (f"x ** {MAX_EXPONENT + 1}", "exponent of **"),
        ("x ** y", "exponent of **"),
        ("(x ** 2) ** 2", "power may not be raised"),
        ("min(x ** 2, 3) ** 2", "power may not be raised"),
        ("1e999 * x", "not a finite number"),
        ("x + 1/(2-2)", "cannot be computed"),
        ("min()", "takes 1 to 64"),
        ("cagr(x, y)", "takes 3"),
        ("abs(x, y)", "takes 1"),
        ("max + x", "is a function"),
        ("x // 2", "FloorDiv"),
        ("x % 2", "Mod"),
        ("x in y", "only < <= > >= == != compare"),
        ("not x", "Not"),
    ],
)
def test_the_language_refuses_what_could_blow_up_or_crash(formula: str, why: str) -> None:
    # Each of these raised KeyError, TypeError, RecursionError or MemoryError somewhere, or can grow beyond any bound.
    with pytest.raises(ExpressionError, match=why.replace("*", r"\*")):
        parse(formula)


@pytest.mark.parametrize(
    ("formula", "values", "value"),
    [
        ("x ** 2", {"x": "3"}, "9"),
        ("x ** -1", {"x": "4"}, "0.25"),
        ("x ** 0.5", {"x": "16"}, "4.0"),
        (f"x ** {MAX_EXPONENT}", {"x": "2"}, str(2**MAX_EXPONENT)),
        ("x ** 2 * y ** 3", {"x": "2", "y": "2"}, "32"),
        ("when(x > 1, x, 1) + min(x, y, 7) + abs(0 - y)", {"x": "2", "y": "3"}, "7"),
        ("+".join(["x"] * MAX_DEPTH), {"x": "1"}, str(MAX_DEPTH)),
    ],
)
def test_the_language_still_computes_what_formulas_need(formula: str, values: dict[str, str], value: str) -> None:
    assert parse(formula).evaluate({k: Decimal(v) for k, v in values.items()}) == Decimal(value)


@pytest.mark.parametrize(
    ("formula", "values"),
    [
        ("x ** 10", {"x": "1e100000"}),  # decimal.Overflow
        ("x * x * x * x * x * x * x * x * x * x * x", {"x": "1e99999"}),  # decimal.Overflow
        ("cagr(a, b, y)", {"a": "0.0000001", "b": "1e300", "y": "0.0001"}),  # OverflowError in float **
        ("cagr(a, b, 3)", {"a": "1e-200", "b": "1e200"}),  # a ratio beyond a float: infinity
    ],
)
def test_a_value_out_of_range_is_the_modules_own_error(formula: str, values: dict[str, str]) -> None:
    with pytest.raises(OutOfRangeError) as raised:
        parse(formula).evaluate({k: Decimal(v) for k, v in values.items()})
    assert raised.value.source == formula and "超出" in raised.value.message_zh


def test_running_out_of_stack_while_evaluating_is_the_modules_own_error() -> None:
    expression = parse("+".join(["x"] * MAX_DEPTH))
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 12)  # fewer frames left than the formula nests
    try:
        with pytest.raises(OutOfRangeError):
            expression.evaluate({"x": Decimal(1)})
    finally:
        sys.setrecursionlimit(limit)


def test_a_value_out_of_range_is_the_declarations_input_problem_in_engine_and_reference() -> None:
    draft = parse_draft(grading_draft(OVERFLOWS_AT_EVALUATION), "draft.yaml")
    assert CHECKER.check(draft) == []  # in the language: only these inputs put it out of range
    assert draft.rulebook is not None
    library = pinned_library(LIBRARY, Scheme.GRADING, draft.edition())
    errors = []
    for evaluate in (RulesEngine(library).evaluate, lambda s, d, x: reference.evaluate(library, s, d, x)):
        with pytest.raises(InputError) as refused:
            evaluate(Scheme.GRADING, date(2026, 3, 1), EXAMPLE["data"])
        errors.append((refused.value.field, refused.value.reason, refused.value.message_zh))
    assert errors[0] == errors[1]
    field, reason, zh = errors[0]
    assert field == "plot_ratio_requirement, plot_ratio"
    assert "out of the range" in reason and "超出可计算的数值范围" in zh


def test_the_whatif_refuses_such_units_one_by_one(tmp_path: Path) -> None:
    draft = parse_draft(grading_draft(OVERFLOWS_AT_EVALUATION), "draft.yaml").edition()
    lines = [line for line in Generator(LIBRARY, seed=5).lines(400) if '"grading"' in line][:120]
    outcomes = [o for o in rescore_all(RULES, {Scheme.GRADING: draft}, lines, processes=1) if o is not None]
    assert len(outcomes) == len(lines)
    pinned = pinned_library(LIBRARY, Scheme.GRADING, draft)
    refused_by_reference = set()
    for line in lines:
        unit = json.loads(line)
        try:
            reference.evaluate(pinned, Scheme.GRADING, date.fromisoformat(unit["declared_on"]), unit["data"])
        except InputError:
            refused_by_reference.add(unit["uscc"])
    refused = {o.uscc for o in outcomes if o.error is not None}
    assert refused == refused_by_reference
    assert any("out of the range" in (o.error or "") for o in outcomes)
    assert len(refused) < len(outcomes)  # units whose ratio stays in range are still compared


def test_a_cross_checks_formula_that_cannot_be_computed_is_the_declarations_input_problem() -> None:
    # A check's derived values (flags for staff) were evaluated with no handler: a divisor of 0 escaped both
    # interpreters as an ExpressionError, which the scoring service retries and then fails.
    raw = yaml.safe_load((RULES / "green-factory" / "rulebook.yaml").read_text(encoding="utf-8"))
    edition = raw["editions"][0]
    edition.update(edition="2026-draft", effective_from=date(2026, 1, 1))
    edition["checks"][0]["derive"] = {"gap": "abs(self_evaluation_total - third_party_total) / third_party_total * 100"}
    draft = parse_draft(json.loads(json.dumps(raw, default=str)), "gf.yaml")
    assert CHECKER.check(draft) == []
    library = pinned_library(LIBRARY, Scheme.GREEN_FACTORY, draft.edition())
    example = json.loads((ROOT / "examples" / "green-factory-declaration.json").read_text(encoding="utf-8"))
    data = {**example["data"], "third_party_total": 0}
    for evaluate in (RulesEngine(library).evaluate, lambda s, d, x: reference.evaluate(library, s, d, x)):
        with pytest.raises(InputError) as refused:
            evaluate(Scheme.GREEN_FACTORY, date(2026, 3, 1), data)
        assert refused.value.field == "third_party_total" and "divides" in refused.value.reason


def test_a_cross_checks_value_too_large_to_show_in_cents_is_shown_as_it_is() -> None:
    # Quantizing it to the cent raised InvalidOperation out of both interpreters.
    raw = yaml.safe_load((RULES / "green-factory" / "rulebook.yaml").read_text(encoding="utf-8"))
    edition = raw["editions"][0]
    edition.update(edition="2026-draft", effective_from=date(2026, 1, 1))
    edition["checks"][0]["derive"] = {"gap": "abs(self_evaluation_total - third_party_total) * 1e300"}
    draft = parse_draft(json.loads(json.dumps(raw, default=str)), "gf.yaml")
    assert CHECKER.check(draft) == []
    library = pinned_library(LIBRARY, Scheme.GREEN_FACTORY, draft.edition())
    example = json.loads((ROOT / "examples" / "green-factory-declaration.json").read_text(encoding="utf-8"))
    data = {**example["data"], "self_evaluation_total": 90, "third_party_total": 80}
    details = []
    for evaluate in (RulesEngine(library).evaluate, lambda s, d, x: reference.evaluate(library, s, d, x)):
        result = evaluate(Scheme.GREEN_FACTORY, date(2026, 3, 1), data)
        details += [f.detail for f in result.flags if f.code == "self_vs_third_party"]
    assert len(details) == 2 and details[0] == details[1] and "1.0E+301" in details[0]
