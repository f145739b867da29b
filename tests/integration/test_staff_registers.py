"""The bureau's and districts' registers over HTTP (calls, cultivation pool, evaluator bans), on both databases."""

from __future__ import annotations

from pathlib import Path

import httpx
from temporalio.client import Client

from greenfab.db import Database, create_tables, make_engine
from services.workflow.api import build_app
from services.workflow.policy_loader import load_policy
from services.workflow.tables import WorkflowBase
from tests.conftest import SECRET, token

RULES = Path(__file__).resolve().parents[2] / "rules"


def no_temporal() -> Client:
    raise AssertionError("the registers need no Temporal")


async def test_calls_pool_and_bans_answer_what_they_stored(database_url: str) -> None:
    db = Database(make_engine(database_url))
    await create_tables(db.engine, WorkflowBase.metadata)
    app = build_app(db, no_temporal, SECRET, load_policy(RULES), "tq")
    bureau = {"authorization": f"Bearer {token('bureau', None)}"}
    district = {"authorization": f"Bearer {token('district', '顺义区')}"}
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://staff") as c:
            call = {"scheme": "green-factory", "title": "2026年征集"}
            call.update(opens_on="2025-01-01", closes_on="2026-12-31")
            r = await c.post("/v1/calls", headers=bureau, json=call)
            assert r.status_code == 201, r.text
            assert r.json()["title"] == "2026年征集" and r.json()["opened_by"] == "bureau"
            assert (await c.post("/v1/calls", headers=district, json=call)).status_code == 403
            backwards = {**call, "closes_on": "2024-01-01"}
            assert (await c.post("/v1/calls", headers=bureau, json=backwards)).status_code == 422
            assert [x["title"] for x in (await c.get("/v1/calls", headers=bureau)).json()["items"]] == ["2026年征集"]
            entry = {"uscc": "91110113MA001N9R6P", "enterprise_name": "北京示例有限公司"}
            r = await c.post("/v1/pool", headers=district, json=entry)
            assert r.status_code == 201, r.text
            ban = {"evaluator_uscc": "91110108551385082Q", "ground": "falsification", "reason": "出具虚假报告"}
            r = await c.post("/v1/evaluator-bans", headers=bureau, json=ban)
            assert r.status_code == 201, r.text
            assert r.json()["ground"] == "falsification" and r.json()["since"]
    finally:
        await db.close()
