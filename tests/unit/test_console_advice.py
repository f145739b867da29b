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


def test_the_unit_page_shows_the_panel_from_scorings_answer() -> None:
    """The real console app, its service calls answered from here: the page carries the advisor's panel."""
    import httpx
    from fastapi.testclient import TestClient

    from greenfab.auth import Principal, issue_token
    from services.console.app import build_app
    from services.console.client import Services
    from services.console.settings import ConsoleSettings

    library = RuleLibrary.load(ROOT / "rules")
    engine = RulesEngine(library)
    advisor = Advisor(library, AdviceData.load(ROOT / "rules", library.inputs), engine)
    declaration = json.loads((ROOT / "examples" / "grading-declaration.json").read_text())
    as_of, uscc = date.fromisoformat(declaration["declared_on"]), declaration["uscc"]
    evaluation = engine.evaluate(Scheme.GRADING, as_of, declaration["data"])
    advice = advisor.advise(Scheme.GRADING, as_of, declaration["data"])
    wid = f"unit-{uscc}-grading"
    unit = {"workflow_id": wid, "uscc": uscc, "enterprise_name": declaration["enterprise_name"],
            "district": declaration["district"], "designation": "grading", "state": "graded", "state_zh": "已评级",
            "level": 3, "listed_on": None, "national": "none", "banned_until": None, "publicity_ends_on": None,
            "deadlines": [], "submissions": ["d1"], "timeline": []}  # fmt: skip
    stored = {"id": "d1", "scheme": "grading", "uscc": uscc, "enterprise_name": declaration["enterprise_name"],
              "district": declaration["district"], "declared_on": as_of.isoformat(),
              "received_at": "2025-10-08T09:00:00Z", "status": "evaluated", "status_zh": "已完成评价",
              "data": declaration["data"], "evaluation": evaluation.model_dump(mode="json")}  # fmt: skip
    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(f"{request.url.port} {request.url.path}")
        if request.url.path == f"/v1/units/{wid}":
            return httpx.Response(200, json=unit)
        if request.url.path == "/v1/declarations/d1":
            return httpx.Response(200, json=stored)
        if request.url.path == f"/v1/units/{uscc}/advice" and request.url.params["scheme"] == "grading":
            assert request.headers["authorization"].startswith("Bearer ")
            return httpx.Response(200, content=advice.model_dump_json())
        return httpx.Response(404, json={"title": "未找到 / Not found", "status": 404, "errors": []})

    secret = "s" * 48
    config = ConsoleSettings(auth_secret=secret, signin="dev", cookie_secure=False, scoring_url="http://scoring:8004")
    with TestClient(build_app(config, Services(config, transport=httpx.MockTransport(answer)))) as c:
        c.cookies.set("greenfab_session", issue_token(secret, Principal(role="enterprise", subject=uscc, scope=uscc)))
        page = c.get(f"/units/{wid}")
    assert page.status_code == 200, page.text[:500]
    assert f"8004 /v1/units/{uscc}/advice" in asked
    assert 'id="advice"' in page.text and "改进建议" in page.text and "规则引擎复核：达到目标" in page.text
    assert advice.plan is not None and all(o.text_zh in page.text for o in advice.plan.changes)
