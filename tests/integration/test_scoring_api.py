"""The scoring API against real NATS and a real database: advice by scope, the bureau's what-if, publish, replay."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from contracts import subjects
from contracts.envelope import Actor
from contracts.messages import SubmissionReceived
from contracts.schemes import Scheme
from greenfab.messaging import make_broker, publish
from services.scoring.bootstrap import ScoringService
from services.scoring.settings import ScoringSettings
from tests.conftest import SECRET, token
from tests.support.servers import Nats
from tests.support.streams import stream_messages

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = json.loads((ROOT / "examples" / "grading-declaration.json").read_text())
USCC = EXAMPLE["uscc"]


@pytest.fixture
async def scoring(nats: Nats, database_url: str, tmp_path: Path) -> AsyncIterator[ScoringService]:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)  # publishing writes to the rules folder
    settings = ScoringSettings(
        nats_url=nats.url, database_url=database_url, auth_secret=SECRET, http_port=0, rules_dir=rules
    )
    service = ScoringService(settings)
    await service.start()
    try:
        yield service
    finally:
        await service.stop()


async def declare(nats: Nats, n: int, declared_on: date, expected: int) -> dict[str, Any]:
    broker = make_broker([nats.url], "test", 5)
    await broker.connect()
    await publish(
        broker,
        subjects.SUBMISSION_RECEIVED,
        SubmissionReceived(
            id=f"msg-{n}",
            correlation_id=f"corr-{n}",
            actor=Actor(role="enterprise", subject=USCC, scope=USCC),
            submission_id=f"sub-{n}",
            scheme=Scheme.GRADING,
            uscc=USCC,
            enterprise_name=EXAMPLE["enterprise_name"],
            district="大兴区",
            declared_on=declared_on,
            data=EXAMPLE["data"],
        ),
    )
    await broker.stop()
    evaluations = [
        m
        for m in await stream_messages(nats.url, subjects.EVALUATIONS.name, at_least=expected)
        if m["type"] == "evaluation.completed"
    ]
    return next(m for m in evaluations if m["submission_id"] == f"sub-{n}")


def bearer(role: str, scope: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(role, scope)}"}


def draft(threshold: int, broken: bool = False) -> dict[str, Any]:
    raw = yaml.safe_load((ROOT / "rules" / "grading" / "rulebook.yaml").read_text(encoding="utf-8"))
    edition = raw["editions"][0]
    edition["edition"] = "2026-draft"
    edition["levels"]["thresholds"][0]["min_total"] = threshold
    if broken:
        edition["items"][14]["inputs"] = ["renewable_share"]
    return dict(json.loads(json.dumps(raw, default=str)))


async def test_advice_whatif_publish_and_replay(scoring: ScoringService, nats: Nats) -> None:
    first = await declare(nats, 1, date(2025, 10, 8), 1)
    assert first["evaluation"] is not None and first["evaluation"]["level"] is not None
    transport = httpx.ASGITransport(app=scoring.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://scoring", timeout=120) as client:
        # The advisor: the enterprise itself, its district and the bureau; nobody else.
        path = f"/v1/units/{USCC}/advice"
        mine = await client.get(path, headers=bearer("enterprise", USCC))
        assert mine.status_code == 200, mine.text
        advice = mine.json()
        assert advice["uscc"] == USCC and advice["district"] == "大兴区" and advice["submission_id"] == "sub-1"
        assert advice["plan"]["reaches_target"] and advice["target"]["level"] == first["evaluation"]["level"] + 1
        for who, status in (
            (bearer("district", "大兴区"), 200),
            (bearer("bureau"), 200),
            (bearer("district", "海淀区"), 404),
            (bearer("enterprise", "91110108MA01XK3T2Q"), 404),
        ):
            assert (await client.get(path, headers=who)).status_code == status, who
        assert (await client.get(path)).status_code == 401
        bad = await client.get("/v1/units/not-a-uscc/advice", headers=bearer("bureau"))
        assert bad.status_code == 422
        body = {"scheme": "grading", "declared_on": "2025-10-08", "data": {**EXAMPLE["data"], "plot_ratio": -1}}
        refused = await client.post("/v1/advice", json=body, headers=bearer("enterprise", USCC))
        assert refused.status_code == 422 and refused.json()["errors"][0]["path"] == "$.data.plot_ratio"

        # The what-if: bureau only; a draft failing its check never runs; nothing is written.
        request = {"drafts": [{"rulebook": draft(79)}]}
        assert (await client.post("/v1/whatif", json=request, headers=bearer("district", "大兴区"))).status_code == 403
        failing = await client.post(
            "/v1/whatif", json={"drafts": [{"rulebook": draft(79, broken=True)}]}, headers=bearer("bureau")
        )
        assert failing.status_code == 422 and any("GR-15" in e["path"] for e in failing.json()["errors"])
        ran = await client.post("/v1/whatif", json=request, headers=bearer("bureau"))
        assert ran.status_code == 200, ran.text
        report = ran.json()
        assert report["units"] == 1 and report["published"] is False
        assert report["movers_count"] == 1 and report["movers"][0]["level_after"] == 4  # 79.72 ≥ 79
        page = await client.post("/v1/whatif?format=html", json=request, headers=bearer("bureau"))
        assert page.headers["content-type"].startswith("text/html") and "<svg" in page.text

        # Publishing: bureau only, checked, then declarations from its date are scored by it.
        today = date.today()
        publish_body = {
            "rulebook": draft(79),
            "effective_from": today.isoformat(),
            "reason": "试行：四级门槛调整为79分",
        }
        assert (
            await client.post("/v1/rulebooks/publish", json=publish_body, headers=bearer("district", "大兴区"))
        ).status_code == 403
        backdated = {**publish_body, "effective_from": "2020-01-01"}
        refused = await client.post("/v1/rulebooks/publish", json=backdated, headers=bearer("bureau"))
        assert refused.status_code == 422 and "past" in refused.text
        published = await client.post("/v1/rulebooks/publish", json=publish_body, headers=bearer("bureau"))
        assert published.status_code == 201, published.text
        version = published.json()["version"]
        rows = (await client.get("/v1/rulebooks", headers=bearer("auditor"))).json()
        row = next(r for r in rows if r["edition"] == "2026-draft")
        assert row["published_by"] == "bureau" and row["version"] == version
        announced = [
            m
            for m in await stream_messages(nats.url, subjects.EVALUATIONS.name, at_least=2)
            if m["type"] == "rulebook.published"
        ]
        assert (
            announced and announced[0]["reason"] == publish_body["reason"] and announced[0]["actor"]["role"] == "bureau"
        )
        second = await declare(nats, 2, today, 3)
        assert second["evaluation"]["edition"] == "2026-draft" and second["evaluation"]["level"] == 4

        # Replay by version: each stored evaluation scored again exactly as it was.
        for n in (1, 2):
            replay = await client.get(f"/v1/evaluations/sub-{n}/replay", headers=bearer("auditor"))
            assert replay.status_code == 200, replay.text
            assert replay.json()["identical"] is True
        assert (await client.get("/v1/evaluations/sub-1/replay", headers=bearer("enterprise", USCC))).status_code == 403


def draft_with_formula(formula: str) -> dict[str, Any]:
    """The grading draft with GR-1's ratio computed by ``formula`` (the probe's hostile formulas)."""
    raw = draft(85)
    gr1 = next(i for i in raw["editions"][0]["items"] if i["id"] == "GR-1")
    gr1["derive"]["ratio"] = formula
    return raw


RATIO = "plot_ratio/plot_ratio_requirement"
HOSTILE = [
    f"9**9**9 + {RATIO}",
    RATIO + "+1" * 50000,
    "-" * 20000 + RATIO,
    "cagr(0.0000001, 1e300, 0.0001)",
    f"{RATIO} + (plot_ratio > 100) * 10 ** (plot_ratio*100000)",
]


async def test_hostile_formulas_are_refused_naming_the_field_never_a_500(scoring: ScoringService, nats: Nats) -> None:
    await declare(nats, 1, date(2025, 10, 8), 1)  # a unit for the what-if to rescore
    transport = httpx.ASGITransport(app=scoring.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://scoring", timeout=120) as client:
        for formula in HOSTILE:
            rulebook = draft_with_formula(formula)
            # check answers with its problems (its contract: 200 and ok false), each by edition, item and field.
            checked = await client.post("/v1/rulebooks/check", json={"rulebook": rulebook}, headers=bearer("bureau"))
            assert checked.status_code == 200, (formula[:40], checked.text[:300])
            result = checked.json()
            assert result["ok"] is False
            assert [(p["item"], p["field"]) for p in result["problems"]] == [("GR-1", "derive.ratio")]
            assert result["problems"][0]["message_zh"].startswith("公式无效")
            # what-if and publish refuse the draft: 422, the field in the path, the reason in both languages.
            for path, body in (
                ("/v1/whatif", {"drafts": [{"rulebook": rulebook}]}),
                ("/v1/rulebooks/publish", {"rulebook": rulebook, "effective_from": "2030-01-01", "reason": "探针公式"}),
            ):
                refused = await client.post(path, json=body, headers=bearer("bureau"))
                assert refused.status_code == 422, (path, formula[:40], refused.text[:300])
                (error,) = refused.json()["errors"]
                assert error["path"] == "$.2026-draft.GR-1.derive.ratio"
                assert error["message_zh"].startswith("公式无效") and error["message_en"].startswith("bad formula")

        # In the language, but out of range for this unit's inputs (1.35 ** 10000 in cagr): the what-if answers,
        # with the unit refused, instead of failing.
        rulebook = draft_with_formula("cagr(plot_ratio_requirement, plot_ratio, 0.0001)")
        ran = await client.post("/v1/whatif", json={"drafts": [{"rulebook": rulebook}]}, headers=bearer("bureau"))
        assert ran.status_code == 200, ran.text
        (grading,) = ran.json()["by_scheme"]
        assert grading["units"] == 1 and grading["refused"] == 1
