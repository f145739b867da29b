"""The staff API's answers by caller and scope, on real servers: what each role learns about a unit it may not see.

An enterprise asking about another enterprise's unit hears 404, exactly as for a unit that does not exist;
a district asking about another district's unit hears 403 (it learns the unit is not its own, nothing
more), and so does a district acting on another district's task (the README's promise); the bureau sees
everything. Auto-listing a unit that exists is a 409, not a server error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import uscc
from tests.support.desk import Desk, desk
from tests.support.servers import Nats

DAXING, SHUNYI = "大兴区", "顺义区"


@pytest.fixture
async def d(temporal_dev: str, nats: Nats, tmp_path: Path) -> AsyncIterator[Desk]:
    async with desk(temporal_dev, nats, tmp_path) as the_desk:
        yield the_desk


async def test_who_hears_403_and_who_hears_404(d: Desk) -> None:
    e = uscc(201)
    wid = await d.evaluated(e, DAXING)
    await d.projected(wid)
    task = await d.task(wid, "recommend")
    absent = f"unit-{uscc(299)}-municipal-green-factory"

    async def status(path: str, role: str, scope: str | None = None) -> int:
        return (await d.staff("GET", path, role, scope)).status_code

    unit = f"/v1/units/{wid}"
    assert await status(unit, "enterprise", e) == 200
    assert await status(unit, "district", DAXING) == 200
    assert await status(unit, "bureau") == 200
    # Another enterprise, or an evaluator, hears what it would hear of a unit that does not exist.
    stranger = await d.staff("GET", unit, "enterprise", uscc(202))
    nothing = await d.staff("GET", f"/v1/units/{absent}", "enterprise", uscc(299))
    assert stranger.status_code == nothing.status_code == 404
    assert stranger.json()["title"] == nothing.json()["title"]
    assert await status(unit, "evaluator", uscc(203)) == 404
    # Another district learns only that the unit is not its own.
    other = await d.staff("GET", unit, "district", SHUNYI)
    assert other.status_code == 403 and "大兴" not in other.text, other.text
    assert await status(f"/v1/units/{absent}", "district", SHUNYI) == 404
    assert await status(f"/v1/units/{absent}", "bureau") == 404

    # Tasks: another district's task is 403 to read and to act on; enterprises have no tasks at all.
    path = f"/v1/tasks/{task.task_id}"
    assert await status(path, "district", DAXING) == 200
    assert await status(path, "district", SHUNYI) == 403
    assert await status(path, "expert") == 403
    assert await status(path, "enterprise", e) == 403
    assert await status(f"/v1/tasks/{absent}.t1", "district", SHUNYI) == 404
    body = {"decision": "recommend", "reason": "区级培育对象"}
    acted = await d.staff("POST", f"{path}/decision", "district", SHUNYI, json=body)
    assert acted.status_code == 403, acted.text
    claimed = await d.staff("POST", f"{path}/claim", "district", SHUNYI)
    assert claimed.status_code == 403, claimed.text
    assert (await d.staff("POST", f"{path}/decision", "district", DAXING, json=body)).status_code == 200
    # Unit actions follow the unit's scope: another enterprise's withdrawal is a 404.
    withdraw = await d.staff("POST", f"{unit}/actions", "enterprise", uscc(202), json={"command": "withdraw"})
    assert withdraw.status_code == 404, withdraw.text


async def test_auto_listing_a_unit_that_exists_is_a_conflict(d: Desk) -> None:
    e = uscc(204)
    listing = {
        "uscc": e,
        "district": DAXING,
        "enterprise_name": "北京示例有限公司",
        "reason": "2025年国家级绿色工厂名单",
    }
    first = await d.staff("POST", "/v1/units/auto-listings", "bureau", json=listing)
    assert first.status_code == 201, first.text
    assert first.json()["state"] == "listed" and first.json()["district"] == DAXING
    again = await d.staff("POST", "/v1/units/auto-listings", "bureau", json=listing)
    assert again.status_code == 409, again.text
    assert again.headers["content-type"].startswith("application/problem+json")
    assert first.json()["workflow_id"] in again.json()["detail"]
    assert (await d.staff("POST", "/v1/units/auto-listings", "district", DAXING, json=listing)).status_code == 403
    mars = await d.staff("POST", "/v1/units/auto-listings", "bureau", json={**listing, "district": "火星区"})
    assert mars.status_code == 422 and mars.json()["errors"][0]["code"] == "district_unknown", mars.text


async def test_registers_refuse_implausible_dates_by_field(d: Desk) -> None:
    call = {"scheme": "green-factory", "title": "征集", "opens_on": "2026-01-01", "closes_on": "9999-12-31"}
    r = await d.staff("POST", "/v1/calls", "bureau", json=call)
    assert r.status_code == 422, r.text
    error = r.json()["errors"][0]
    assert (error["path"], error["code"]) == ("$.closes_on", "date_out_of_range")
    assert "2100-12-31" in error["message_en"] and error["message_zh"]
