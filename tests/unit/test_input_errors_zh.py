"""Every input problem scoring raises has its Chinese text (``message_zh``), not the English one copied: it reaches
enterprises and staff as the declaration's input problem (problem documents, the console, the inbox). The engine
and the reference interpreter raise the same problem, to the byte, in both languages.

The catalogue's own check (greenfab.inputs) runs first and refuses most bad inputs in both languages; the problems
below are those it lets through: a draft edition (the what-if) that reads an input in a way the catalogue does not
type, or a formula these values cannot compute.
"""

from __future__ import annotations

import ast
import json
import pickle
import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from contracts.schemes import Scheme
from services.scoring.batch import pinned_library
from services.scoring.domain import reference
from services.scoring.domain.facts import InputError, shown_zh
from services.scoring.domain.rulebook import RuleLibrary
from services.scoring.editions import Checker, parse_draft
from services.scoring.engine import RulesEngine

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "rules"
LIBRARY = RuleLibrary.load(RULES)
CHECKER = Checker(LIBRARY, RULES)
ON = date(2026, 3, 1)
GRADING = json.loads((ROOT / "examples" / "grading-declaration.json").read_text(encoding="utf-8"))["data"]
GREEN_FACTORY = json.loads((ROOT / "examples" / "green-factory-declaration.json").read_text(encoding="utf-8"))["data"]
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def _edition(scheme_dir: str) -> tuple[dict[str, Any], dict[str, Any]]:
    raw = yaml.safe_load((RULES / scheme_dir / "rulebook.yaml").read_text(encoding="utf-8"))
    edition = raw["editions"][0]
    edition.update(edition="2026-draft", effective_from=date(2026, 1, 1))
    return raw, edition


def _item(edition: dict[str, Any], item_id: str) -> dict[str, Any]:
    return next(i for i in edition["items"] if i["id"] == item_id)


def _gr1(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """The grading rulebook as a draft, its GR-1 (plot ratio: ``ratio = plot_ratio / plot_ratio_requirement``)
    changed by ``change``."""
    raw, edition = _edition("grading")
    change(_item(edition, "GR-1"))
    return raw


def _derive(**formulas: str) -> Callable[[dict[str, Any]], None]:
    def change(item: dict[str, Any]) -> None:
        item["derive"] = dict(formulas)

    return change


def _first_case_when(when: dict[str, Any], optional: list[str] | None = None) -> Callable[[dict[str, Any]], None]:
    def change(item: dict[str, Any]) -> None:
        item["cases"].insert(0, {"when": when, "then": {"points": 0, "explain": "草案新增的情形"}})
        if optional:
            item["optional"] = optional

    return change


def _applies_if(name: str) -> Callable[[dict[str, Any]], None]:
    def change(item: dict[str, Any]) -> None:
        item["applies_if"] = name

    return change


def _boxes_without(box: str) -> dict[str, Any]:
    """The grading draft whose GR-14 no longer has ``box`` (the catalogue still knows it)."""
    raw, edition = _edition("grading")
    del _item(edition, "GR-14")["params"]["boxes"][box]
    return raw


def _check_divides() -> dict[str, Any]:
    """The green-factory draft whose first cross-check divides by the third party's total."""
    raw, edition = _edition("green-factory")
    edition["checks"][0]["derive"] = {"gap": "abs(self_evaluation_total - third_party_total) / third_party_total * 100"}
    return raw


# (draft, scheme, declaration, the field the problem names, a piece of its English text)
BAD = {
    "a divisor of 0 via a derived value": (
        _gr1(_derive(excess="plot_ratio - plot_ratio_requirement", ratio="plot_ratio / excess")),
        Scheme.GRADING,
        {**GRADING, "plot_ratio": 1.2, "plot_ratio_requirement": 1.2},
        "excess",
        "cannot be 0: it divides in",
    ),
    "a divisor of 0 in a cross-check": (
        _check_divides(),
        Scheme.GREEN_FACTORY,
        {**GREEN_FACTORY, "third_party_total": 0},
        "third_party_total",
        "cannot be 0: it divides in",
    ),
    "a boolean field given a number": (
        _gr1(_first_case_when({"plot_ratio": {"eq": True}})),
        Scheme.GRADING,
        GRADING,
        "plot_ratio",
        "should be yes or no (true/false), got",
    ),
    "an applies-if answer given a number": (
        _gr1(_applies_if("plot_ratio")),
        Scheme.GRADING,
        GRADING,
        "plot_ratio",
        "should be yes or no (true/false)",
    ),
    "a word field given an unknown word": (
        _gr1(_first_case_when({"green_factory_level": {"eq": "provincial"}}, optional=["green_factory_level"])),
        Scheme.GRADING,
        {**GRADING, "green_factory_level": "national"},
        "green_factory_level",
        "should be one of ['provincial'], got 'national'",
    ),
    "a word in a formula": (
        _gr1(_derive(ratio="plot_ratio / plot_ratio_requirement * green_factory_level")),
        Scheme.GRADING,
        {**GRADING, "green_factory_level": "national"},
        "green_factory_level",
        "should be a number (it is used in",
    ),
    "a formula these values cannot compute": (
        _gr1(_derive(ratio="cagr(plot_ratio - plot_ratio_requirement, plot_ratio, 3)")),
        Scheme.GRADING,
        {**GRADING, "plot_ratio": 1.2, "plot_ratio_requirement": 1.2},
        "plot_ratio, plot_ratio_requirement",
        "cannot compute ratio",
    ),
    "a derived value too large to score": (
        _gr1(_derive(ratio="plot_ratio / plot_ratio_requirement * 1e30")),
        Scheme.GRADING,
        GRADING,
        "plot_ratio, plot_ratio_requirement",
        "is too large to score",
    ),
    "a box the draft no longer has": (
        _boxes_without("green_power_purchase"),
        Scheme.GRADING,
        GRADING,
        "energy_input_boxes",
        "unknown boxes ['green_power_purchase']",
    ),
}


def _refusal(evaluate: Callable[[Scheme, date, dict[str, Any]], Any], scheme: Scheme, data: dict[str, Any]) -> str:
    """The problem ``evaluate`` raises, as JSON (what crosses to the services), checked to survive the worker's
    pickling."""
    with pytest.raises(InputError) as refused:
        evaluate(scheme, ON, data)
    exc = pickle.loads(pickle.dumps(refused.value))
    assert isinstance(exc, InputError)
    problem = {"field": exc.field, "code": exc.code, "message_en": exc.reason, "message_zh": exc.message_zh}
    return json.dumps(problem, ensure_ascii=False)


@pytest.mark.parametrize(("draft", "scheme", "data", "field", "english"), BAD.values(), ids=BAD.keys())
def test_an_input_problem_is_told_in_chinese_and_alike_by_engine_and_reference(
    draft: dict[str, Any], scheme: Scheme, data: dict[str, Any], field: str, english: str
) -> None:
    parsed = parse_draft(json.loads(json.dumps(draft, default=str)), "draft.yaml")
    assert parsed.rulebook is not None, parsed.problems
    assert CHECKER.check(parsed) == []  # a draft the what-if runs: only these values make the problem
    library = pinned_library(LIBRARY, scheme, parsed.edition())
    assert not [p for p in LIBRARY.inputs.check(data, ON) if p.code != "unknown_input"]  # the catalogue lets it by
    by_engine = _refusal(RulesEngine(library).evaluate, scheme, data)
    by_reference = _refusal(lambda s, d, x: reference.evaluate(library, s, d, x), scheme, data)
    assert by_engine == by_reference
    problem = json.loads(by_engine)
    assert problem["field"] == field and english in problem["message_en"], problem
    assert CHINESE.search(problem["message_zh"]), problem
    assert problem["message_zh"] != problem["message_en"]
    assert "Decimal(" not in problem["message_zh"] and "True" not in problem["message_zh"], problem


def _raises_without_chinese(path: Path) -> list[str]:
    """The ``InputError(...)`` calls in ``path`` that give no message_zh (the fourth argument, or by name)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "InputError"):
            continue
        if len(node.args) < 4 and not any(k.arg == "message_zh" for k in node.keywords):
            out.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return out


def test_every_input_problem_scoring_raises_gives_its_chinese_text() -> None:
    sources = [*sorted((ROOT / "services" / "scoring" / "domain").glob("*.py")), ROOT / "services/scoring/engine.py"]
    assert [where for path in sources for where in _raises_without_chinese(path)] == []


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (True, "是"),
        (False, "否"),
        (Decimal("1.35"), "1.35"),
        (Decimal("100.0"), "100"),
        ("national", "national"),
        (["a", "b"], "a、b"),
    ],
)
def test_values_are_quoted_as_people_read_them(value: Any, shown: str) -> None:
    assert shown_zh(value) == shown
