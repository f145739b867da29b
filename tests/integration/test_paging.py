"""Cursor paging on the list routes, over HTTP against the staff API on SQLite and PostgreSQL: the first page,
the next, the last; every row exactly once in a stable order while rows are inserted between pages; bad
cursors and limits refused by field (422) in Chinese and English, never a 500."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from greenfab.db import Database, create_tables, make_engine
from greenfab.paging import DEFAULT_LIMIT, MAX_LIMIT, _digest
from services.workflow.api import build_app
from services.workflow.policy_loader import load_policy
from services.workflow.tables import TaskProjection, UnitProjection, WorkflowBase
from tests.conftest import SECRET, token

RULES = Path(__file__).resolve().parents[2] / "rules"
BUREAU = {"authorization": f"Bearer {token('bureau', None)}"}
SAME_TIME = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def no_temporal() -> Client:
    raise AssertionError("lists need no Temporal")


def graded(n: int, district: str = "海淀区", year: int = 2025) -> UnitProjection:
    uscc = f"9111{n:014d}"
    return UnitProjection(
        workflow_id=f"unit-{uscc}-annual-grading",
        uscc=uscc,
        district=district,
        designation="annual-grading",
        enterprise_name=f"北京分页测试{n}有限公司",
        state="graded",
        level=1 + n % 5,
        graded_on=date(year, 3, 1),
        updated_at=SAME_TIME,  # every unit ties on the sort key's first column: the id breaks the tie
    )


def task(n: int, due: datetime | None) -> TaskProjection:
    uscc = f"9111{n:014d}"
    return TaskProjection(
        task_id=f"unit-{uscc}-annual-grading.t1",
        workflow_id=f"unit-{uscc}-annual-grading",
        uscc=uscc,
        enterprise_name="x",
        unit_district="海淀区",
        designation="annual-grading",
        kind="review",
        title_zh="复核",
        role="bureau",
        status="open",
        opened_at=SAME_TIME + timedelta(minutes=n % 3),
        due_at=due,
        clause="003",
    )


@pytest.fixture
async def staff(database_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, Database]]:
    db = Database(make_engine(database_url))
    await create_tables(db.engine, WorkflowBase.metadata)
    app = build_app(db, no_temporal, SECRET, load_policy(RULES), "tq")
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://staff") as c:
            yield c, db
    finally:
        await db.close()


async def add(db: Database, *rows: Any) -> None:
    async with db.session() as s:
        s.add_all(rows)
        await s.commit()


async def walk(c: httpx.AsyncClient, path: str, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Every item of a list route, following next_cursor; and how many pages it took."""
    out: list[dict[str, Any]] = []
    cursor, pages = None, 0
    while True:
        r = await c.get(path, params={**params, "cursor": cursor}, headers=BUREAU)
        assert r.status_code == 200, r.text
        body = r.json()
        out += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            assert "link" not in r.headers, "the last page links nowhere"
            return out, pages
        assert f"cursor={cursor}" in r.headers["link"] and r.headers["link"].endswith('rel="next"')


async def test_first_next_and_last_page_hold_every_row_once_in_order(
    staff: tuple[httpx.AsyncClient, Database],
) -> None:
    c, db = staff
    await add(db, *(graded(n) for n in range(23)))
    first = (await c.get("/v1/public/grades", params={"limit": 10})).json()
    assert len(first["items"]) == 10 and first["limit"] == 10 and first["next_cursor"]
    rows, pages = await walk(c, "/v1/public/grades", limit=10)
    assert pages == 3 and [r["uscc"] for r in rows] == sorted(graded(n).uscc for n in range(23))
    # An exact multiple of the page: the last full page says there is no next one.
    rows, pages = await walk(c, "/v1/units", limit=23)
    assert pages == 1 and len(rows) == 23
    assert [r["workflow_id"] for r in rows] == sorted((r["workflow_id"] for r in rows), reverse=True), "ties: by id"
    assert len((await c.get("/v1/public/grades")).json()["items"]) == 23
    assert (await c.get("/v1/public/grades")).json()["limit"] == DEFAULT_LIMIT


def listed(n: int, district: str, designation: str = "green-factory") -> UnitProjection:
    uscc = f"9122{n:014d}"
    return UnitProjection(
        workflow_id=f"unit-{uscc}-municipal-{designation}", uscc=uscc, district=district, designation=designation,
        enterprise_name=f"北京名单测试{n}有限公司", state="listed", listed_on=date(2025, 6, 1), updated_at=SAME_TIME,
    )  # fmt: skip


async def test_counts_agree_with_the_lists_they_count(staff: tuple[httpx.AsyncClient, Database]) -> None:
    """GET /v1/public/counts answers what a dashboard would get by walking every page, in one grouped query,
    under the same filters."""
    c, db = staff
    ungraded = graded(99, "朝阳区")
    ungraded.level = None  # published without a level: counted, at level null
    awaiting = listed(98, "海淀区")
    awaiting.state = "publicity"  # not on a list yet
    await add(db, *(graded(n, "海淀区" if n % 3 else "朝阳区", 2024 + n % 2) for n in range(17)), ungraded)
    await add(db, *(listed(n, "顺义区" if n % 2 else "海淀区", "green-factory" if n % 4 else "beautiful-factory")
                    for n in range(9)), awaiting)  # fmt: skip
    for params in ({}, {"district": "海淀区"}, {"year": 2025}, {"designation": "beautiful-factory"}):
        counts = (await c.get("/v1/public/counts", params=params)).json()
        grade_rows, _ = await walk(
            c, "/v1/public/grades", limit=5, **{k: v for k, v in params.items() if k != "designation"}
        )
        listed_rows, _ = await walk(c, "/v1/public/listed", limit=5, **params)
        by_level: dict[tuple[str, int | None], int] = {}
        for g in grade_rows:
            by_level[g["district"], g["level"]] = by_level.get((g["district"], g["level"]), 0) + 1
        by_list: dict[tuple[str, str], int] = {}
        for u in listed_rows:
            by_list[u["district"], u["designation"]] = by_list.get((u["district"], u["designation"]), 0) + 1
        assert {(x["district"], x["level"]): x["count"] for x in counts["grades"]} == by_level, params
        assert {(x["district"], x["designation"]): x["count"] for x in counts["listed"]} == by_list, params
        assert (counts["grades_total"], counts["listed_total"]) == (len(grade_rows), len(listed_rows)), params
    everything = (await c.get("/v1/public/counts")).json()
    assert (everything["grades_total"], everything["listed_total"]) == (18, 9)
    assert {"district": "朝阳区", "level": None, "count": 1} in everything["grades"]
    assert (await c.get("/v1/public/counts", params={"year": 1999})).status_code == 422


async def test_rows_inserted_between_pages_neither_repeat_nor_hide_a_row(
    staff: tuple[httpx.AsyncClient, Database],
) -> None:
    c, db = staff
    await add(db, *(graded(n) for n in range(0, 40, 2)))  # even numbers
    seen: list[str] = []
    cursor = None
    odd = iter(range(1, 40, 2))
    while True:
        body = (await c.get("/v1/public/grades", params={"limit": 4, "cursor": cursor})).json()
        seen += [r["uscc"] for r in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
        # A unit before the cursor and one after it arrive while the caller reads.
        await add(db, graded(next(odd)), graded(next(odd)))
    assert len(seen) == len(set(seen)), "no row twice"
    assert {graded(n).uscc for n in range(0, 40, 2)} <= set(seen), "no row that was there from the start is missed"
    assert seen == sorted(seen)


async def test_filters_page_in_the_query_and_a_cursor_keeps_to_its_filters(
    staff: tuple[httpx.AsyncClient, Database],
) -> None:
    c, db = staff
    await add(db, *(graded(n, "海淀区" if n % 2 else "朝阳区", 2024 + n % 3) for n in range(30)))
    rows, _ = await walk(c, "/v1/public/grades", limit=4, district="海淀区", year=2025)
    expected = [graded(n).uscc for n in range(30) if n % 2 and 2024 + n % 3 == 2025]
    assert [r["uscc"] for r in rows] == expected and {r["district"] for r in rows} == {"海淀区"}
    cursor = (await c.get("/v1/public/grades", params={"limit": 2, "district": "海淀区"})).json()["next_cursor"]
    r = await c.get("/v1/public/grades", params={"limit": 2, "district": "朝阳区", "cursor": cursor})
    assert r.status_code == 422
    (error,) = r.json()["errors"]
    assert error["path"] == "$.cursor" and error["code"] == "cursor_filters_changed" and error["message_zh"]


async def test_nulls_sort_last_and_paging_crosses_them(staff: tuple[httpx.AsyncClient, Database]) -> None:
    c, db = staff
    start = datetime(2026, 6, 1, tzinfo=UTC)
    await add(db, *(task(n, None if n % 3 == 0 else start + timedelta(days=n % 4)) for n in range(14)))
    rows, pages = await walk(c, "/v1/tasks", limit=3)
    assert pages == 5 and len({r["task_id"] for r in rows}) == 14
    dues = [r["due_at"] for r in rows]
    dated = [d for d in dues if d is not None]
    assert dues == dated + [None] * (14 - len(dated)) and dated == sorted(dated)
    whole = (await c.get("/v1/tasks", params={"limit": 14}, headers=BUREAU)).json()["items"]
    assert [r["task_id"] for r in whole] == [r["task_id"] for r in rows], "pages follow the same order as one list"


def forged(payload: dict[str, Any]) -> str:
    """A cursor with a valid checksum around any payload: what someone reading this code could make."""
    raw = json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=") + "." + _digest(raw)


@pytest.mark.parametrize(
    ("cursor", "code"),
    [
        ("not-a-cursor", "string_pattern_mismatch"),
        ("eyJsIjoiIn0." + "0" * 16, "cursor_invalid"),  # well formed, wrong checksum
        (forged({"l": "public.grades", "f": "x", "k": [1, 2]}), "cursor_invalid"),  # values of the wrong type
        (forged({"l": "public.grades", "f": "x", "k": ["a"]}), "cursor_invalid"),  # too few values
        (forged({"l": "units", "f": "x", "k": ["2026-01-01T00:00:00", "a"]}), "cursor_invalid"),  # another list's
        (forged({"l": "public.grades", "f": "x", "k": [None, "a"]}), "cursor_invalid"),  # null in a non-null key
        (forged([1, 2]), "cursor_invalid"),  # type: ignore[arg-type]
        ("_" * 30 + "." + "a" * 16, "cursor_invalid"),  # not base64 JSON
    ],
)
async def test_a_bad_or_tampered_cursor_is_refused_by_field(
    staff: tuple[httpx.AsyncClient, Database], cursor: str, code: str
) -> None:
    c, db = staff
    await add(db, graded(1), graded(2))
    r = await c.get("/v1/public/grades", params={"cursor": cursor})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    (error,) = r.json()["errors"]
    assert (error["path"], error["code"]) == ("$.cursor", code) and error["message_zh"] and error["message_en"]


async def test_a_tampered_value_in_a_good_cursor_only_moves_the_start(
    staff: tuple[httpx.AsyncClient, Database],
) -> None:
    c, db = staff
    await add(db, *(graded(n) for n in range(6)))
    good = (await c.get("/v1/public/grades", params={"limit": 2})).json()["next_cursor"]
    body = json.loads(base64.urlsafe_b64decode(good.split(".")[0] + "=="))
    body["k"] = [graded(3).uscc, graded(3).workflow_id]
    rows = (await c.get("/v1/public/grades", params={"cursor": forged(body)})).json()["items"]
    assert [r["uscc"] for r in rows] == [graded(4).uscc, graded(5).uscc]


@pytest.mark.parametrize(
    ("limit", "code"), [("0", "greater_than_equal"), (str(MAX_LIMIT + 1), "less_than_equal"), ("ten", "int_parsing")]
)
async def test_a_limit_out_of_bounds_is_refused_by_field(
    staff: tuple[httpx.AsyncClient, Database], limit: str, code: str
) -> None:
    c, _ = staff
    for path in ("/v1/public/grades", "/v1/units", "/v1/tasks", "/v1/calls", "/v1/pool", "/v1/evaluator-bans"):
        r = await c.get(path, params={"limit": limit}, headers=BUREAU)
        assert r.status_code == 422, (path, r.text)
        (error,) = r.json()["errors"]
        assert (error["path"], error["code"]) == ("$.limit", code)
        assert error["message_zh"] != "字段取值无效", "the Chinese message says what is wrong"
    assert (await c.get("/v1/public/grades", params={"limit": MAX_LIMIT})).status_code == 200
