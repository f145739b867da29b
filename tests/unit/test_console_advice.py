"""The unit page's advice panel: the advisor's answer, as the enterprise reads it, in Chinese."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from contracts.schemes import Scheme
from services.console.present import advice_panel
from services.scoring.advice_data import AdviceData
from services.scoring.advisor import Advisor
from services.scoring.domain.rulebook import RuleLibrary
from services.scoring.engine import RulesEngine

ROOT = Path(__file__).resolve().parents[2]


def test_the_panel_says_where_the_unit_stands_and_the_plan_the_engine_confirmed() -> None:
    library = RuleLibrary.load(ROOT / "rules")
    advisor = Advisor(library, AdviceData.load(ROOT / "rules", library.inputs), RulesEngine(library))
    declaration = json.loads((ROOT / "examples" / "grading-declaration.json").read_text())
    advice = advisor.advise(Scheme.GRADING, date.fromisoformat(declaration["declared_on"]), declaration["data"])
    panel = advice_panel(advice)
    assert advice.plan is not None and advice.target is not None
    assert panel.summary.startswith(f"现状：总分 {advice.total:.2f}，3 级；目标：4 级（总分 ≥ 85.00），尚差")
    assert "规则引擎复核：达到目标" in panel.summary
    assert [p["item"] for p in panel.plan] == [o.item for o in advice.plan.changes]
    assert all("→" in p["text_zh"] or "加选" in p["text_zh"] for p in panel.plan)
    assert {r["item"] for r in panel.rows} == {i.id for i in advice.items if i.options}


def test_with_nothing_above_the_panel_says_so() -> None:
    library = RuleLibrary.load(ROOT / "rules")
    advisor = Advisor(library, AdviceData.load(ROOT / "rules", library.inputs), RulesEngine(library))
    declaration = json.loads((ROOT / "examples" / "grading-declaration.json").read_text())
    as_of = date.fromisoformat(declaration["declared_on"])
    first = advisor.advise(Scheme.GRADING, as_of, declaration["data"])
    assert first.plan is not None
    top = advisor.advise(Scheme.GRADING, as_of, first.plan.data_after)
    assert top.level == 4 and "已无更高的等级或目标" in advice_panel(top).summary
