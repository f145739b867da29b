"""Audit's history over HTTP, on SQLite and PostgreSQL: the same answer for a USCC never seen and for one out of
the caller's scope; the unit's district is its own (declaration, workflow), never a notice sender's."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from greenfab.db import Database, create_tables
from services.audit import api
from services.audit.handlers import Chain
from services.audit.tables import AuditBase
from tests.conftest import SECRET, token, uscc

DECLARED = uscc(901)  # declared in 大兴区
UNKNOWN = uscc(902)  # never on record


def message(kind: str, n: int, district: str | None, actor: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": f"m-{n}",
        "type": kind,
        "occurred_at": f"2026-01-0{n}T00:00:00+00:00",
        "correlation_id": "c",
        "actor": actor,
        "uscc": DECLARED,
        "district": district,
        **extra,
    }


@pytest.fixture
async def app(database: Database) -> AsyncIterator[httpx.AsyncClient]:
    await create_tables(database.engine, AuditBase.metadata)
    chain = Chain(database)
    shunyi = {"role": "district", "subject": "shunyi-zhao", "scope": "顺义区"}
    # 顺义区 reports on the unit first (its notice carries 顺义区); then the enterprise declares in 大兴区.
    await chain.append(message("notice.received", 1, "顺义区", shunyi, notice={"kind": "district_report"}))
    enterprise = {"role": "enterprise", "subject": DECLARED, "scope": DECLARED}
    await chain.append(message("submission.received", 2, "大兴区", enterprise, data={}, scheme="grading"))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api.build_app(database, SECRET)), base_url="http://audit"
    ) as client:
        yield client


def as_(role: str, scope: str | None) -> dict[str, str]:
    return {"authorization": f"Bearer {token(role, scope)}"}


async def test_unknown_and_out_of_scope_answer_alike(app: httpx.AsyncClient) -> None:
    seen = {}
    for name, who, unit in (
        ("another enterprise's unit", as_("enterprise", UNKNOWN), DECLARED),
        ("an unknown unit", as_("enterprise", UNKNOWN), UNKNOWN),
        ("another district's unit", as_("district", "海淀区"), DECLARED),
        ("an unknown unit, as a district", as_("district", "海淀区"), UNKNOWN),
    ):
        r = await app.get(f"/v1/units/{unit}/history", headers=who)
        body = r.json()
        seen[name] = (r.status_code, body["title"], body.get("detail", "").replace(unit, "USCC"), body["errors"])
    assert len(set(map(str, seen.values()))) == 1, seen
    assert next(iter(seen.values()))[0] == 404


async def test_the_units_district_is_its_own_not_a_notice_senders(app: httpx.AsyncClient) -> None:
    assert (await app.get(f"/v1/units/{DECLARED}/history", headers=as_("district", "大兴区"))).status_code == 200
    r = await app.get(f"/v1/units/{DECLARED}/history", headers=as_("district", "顺义区"))
    assert r.status_code == 404, "a district that filed a notice about a unit does not read the unit's history"
    own = await app.get(f"/v1/units/{DECLARED}/history", headers=as_("enterprise", DECLARED))
    assert [rec["kind"] for rec in own.json()["items"]] == ["notice.received", "submission.received"]


async def test_history_pages_and_exports_stream_every_record_once_in_order(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.audit import handlers

    monkeypatch.setattr(handlers, "BATCH", 3)  # several batches from a few records
    await create_tables(database.engine, AuditBase.metadata)
    chain = Chain(database)
    enterprise = {"role": "enterprise", "subject": DECLARED, "scope": DECLARED}
    for n in range(1, 9):
        await chain.append(message("submission.received", n, "大兴区", enterprise, data={"n": n}, scheme="grading"))
    auditor = as_("auditor", None)
    transport = httpx.ASGITransport(app=api.build_app(database, SECRET))
    async with httpx.AsyncClient(transport=transport, base_url="http://audit") as c:
        seen, cursor = [], None
        while True:
            params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
            body = (await c.get(f"/v1/units/{DECLARED}/history", params=params, headers=auditor)).json()
            seen += [r["seq"] for r in body["items"]]
            if (cursor := body["next_cursor"]) is None:
                break
        assert seen == sorted(seen) and len(seen) == len(set(seen)) == 8
        lines = (await c.get("/v1/audit/export", headers=auditor)).text.splitlines()
        assert [json.loads(line)["seq"] for line in lines] == seen
        # The export writes stored columns straight out: each line is the record the JSON API answers, field
        # for field, in the same order, and its payload is the very text the chain sealed.
        page = (await c.get(f"/v1/units/{DECLARED}/history", params={"limit": 8}, headers=auditor)).json()["items"]
        assert [json.loads(line) for line in lines] == page
        assert [list(json.loads(line)) for line in lines] == [list(record) for record in page]
        stored = {r.seq: r.payload for r in await handlers.all_rows(database)}
        csv_text = (await c.get("/v1/audit/export", params={"format": "csv"}, headers=auditor)).text
        csv_rows = list(csv.DictReader(io.StringIO(csv_text)))
        assert len(csv_text.splitlines()) == 9, "one header, then every record"
        assert [(int(r["seq"]), r["payload"]) for r in csv_rows] == sorted(stored.items())
        assert [json.loads(r["payload"]) for r in csv_rows] == [record["payload"] for record in page]
        unit_csv = (await c.get(f"/v1/units/{DECLARED}/history", params={"format": "csv"}, headers=auditor)).text
        assert len(unit_csv.splitlines()) == 9
        bad = await c.get(f"/v1/units/{DECLARED}/history", params={"cursor": "x.0123456789abcdef"}, headers=auditor)
        assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "$.cursor"
