"""What a probe of the running stack sent, against the real apps: every refusal is a problem document naming
the field, with a specific reason in Chinese and in English, and nothing refused is stored.

Invisible text (control and bidirectional characters) in names, titles and text inputs; the limits on a
declaration's data, a webhook URL, an e-mail address and the channel list each with their own Chinese
reason; an enum shown by its value; unknown routes, wrong methods and a missing token in the same
bilingual shape; NaN in a bounded query number; JSON sent as text/plain (415), a key given twice and a
number of 5,000 digits; 1e308 typed into a form's amount; a 500 that names no exception class.
"""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from greenfab.db import Database
from greenfab.http import service_app
from services.notify import api as notify_api
from services.notify.webhook_guard import WebhookGuard
from services.scoring import api as scoring_api
from tests.conftest import SECRET, token
from tests.integration.test_intake import USCC, body, client, intake  # noqa: F401  (fixtures)
from tests.integration.test_intake_refusals import GRADING_FORM, nothing_stored
from tests.integration.test_notify_access import db  # noqa: F401  (fixture)
from tests.integration.test_paging import BUREAU, staff  # noqa: F401  (fixture)

GENERIC_ZH = "字段取值无效"
SPOOF = "北京\u0000<script>alert(1)</script>\u202e司公限有\u0007"


def errors(r: httpx.Response, status: int = 422) -> list[dict[str, Any]]:
    """The problem's errors, after checking it is one, with the status wanted and a reason in both languages."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    for e in problem["errors"]:
        assert e["message_zh"] and e["message_en"], e
        assert e["message_zh"] != GENERIC_ZH, f"a specific Chinese reason, not the generic one: {e}"
    return list(problem["errors"])


def only(r: httpx.Response, path: str, code: str, status: int = 422) -> dict[str, Any]:
    found = errors(r, status)
    assert [(e["path"], e["code"]) for e in found] == [(path, code)], found
    return found[0]


# ----- 1. invisible characters in free text -------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "position", "code_point"),
    [
        (SPOOF, 3, "U+0000"),
        ("北京\u202e司公限有", 3, "U+202E"),  # shown reversed: "有限公司"
        ("北京\u2066示例\u2069有限公司", 3, "U+2066"),
        ("北京示例\u200f有限公司", 5, "U+200F"),
        ("北京示例\n有限公司", 5, "U+000A"),  # a name is one line
        ("北京示例\u0085有限公司", 5, "U+0085"),  # C1
    ],
)
async def test_a_name_with_invisible_characters_is_refused_by_field_and_not_stored(
    client: httpx.AsyncClient,  # noqa: F811
    name: str,
    position: int,
    code_point: str,
) -> None:
    r = await client.post("/v1/declarations", json=body(enterprise_name=name))
    e = only(r, "$.enterprise_name", "text_invisible_character")
    assert code_point in e["message_zh"] and code_point in e["message_en"]
    assert f"第 {position} 个字符" in e["message_zh"] and f"character {position} " in e["message_en"]
    await nothing_stored(client)


async def test_a_text_input_in_data_with_a_control_character_is_refused(
    client: httpx.AsyncClient,  # noqa: F811
) -> None:
    r = await client.post("/v1/declarations", json=body(data={"contact": "张三\u0000 010-1234\u202e5678"}))
    e = only(r, "$.data.contact", "text_invisible_character")
    assert "联系人及电话" in e["message_zh"] and "U+0000" in e["message_en"]
    await nothing_stored(client)


async def test_a_plain_chinese_name_is_still_taken(client: httpx.AsyncClient) -> None:  # noqa: F811
    r = await client.post("/v1/declarations", json=body(enterprise_name="北京示例（集团）有限公司·二厂 A&B"))
    assert r.status_code == 202, r.text


async def test_a_call_title_with_invisible_characters_is_refused_and_a_wrong_scheme_shows_values(
    staff: tuple[httpx.AsyncClient, Database],  # noqa: F811
) -> None:
    c, _ = staff
    call = {"scheme": "green-factory", "title": SPOOF, "opens_on": "2026-01-01", "closes_on": "2026-12-31"}
    r = await c.post("/v1/calls", json=call, headers=BUREAU)
    only(r, "$.title", "text_invisible_character")
    r = await c.post("/v1/calls", json={**call, "title": "2026年征集", "scheme": "grading"}, headers=BUREAU)
    e = only(r, "$.scheme", "literal_error")
    assert "<Scheme" not in e["message_en"] and "'green-factory'" in e["message_en"], e
    assert "green-factory" in e["message_zh"] and "<Scheme" not in e["message_zh"], e
    assert (await c.get("/v1/calls", headers=BUREAU)).json()["items"] == []


# ----- 2. specific Chinese reasons -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({f"x{i}": 1 for i in range(501)}, ["500", "501"]),
        ({"events": [{"kind": "x"}] * 101}, ["100", "101", "data.events"]),
        ({"a": {"b": {"c": {"d": {"e": 1}}}}}, ["嵌套", "4", "data.a.b.c.d.e"]),
    ],
    ids=["501 inputs", "101 items", "5 levels"],
)
async def test_a_declaration_over_its_data_limits_says_which_in_chinese(
    client: httpx.AsyncClient,  # noqa: F811
    data: dict[str, Any],
    words: list[str],
) -> None:
    e = only(await client.post("/v1/declarations", json=body(data=data)), "$.data", "data_limit")
    assert all(w in e["message_zh"] for w in words), e


CHANNEL_CASES = [
    ({"channels": ["webhook"], "webhook_url": "file:///etc/passwd"}, "$.webhook_url", "url_scheme", "https://"),
    ({"channels": ["webhook"], "webhook_url": "https://h.example:99999/"}, "$.webhook_url", "url_parsing", "端口"),
    ({"channels": ["email"], "email": "a@example.com\r\nBcc: x@example.net"}, "$.email", "email_invalid", "U+000D"),
    ({"channels": ["email"], "email": "a\u0000@example.com"}, "$.email", "email_invalid", "U+0000"),
    ({"channels": ["email"], "email": "not-an-address"}, "$.email", "email_invalid", "电子邮件地址无效"),
    ({"channels": ["inbox", "inbox", "inbox", "inbox"]}, "$.channels", "too_long", "最多 3 项"),
]  # fmt: skip


@pytest.mark.parametrize(("choice", "path", "code", "zh"), CHANNEL_CASES)
async def test_channel_choices_are_refused_with_a_specific_chinese_reason(
    db: Database,  # noqa: F811
    choice: dict[str, Any],
    path: str,
    code: str,
    zh: str,
) -> None:
    app = notify_api.build_app(db, SECRET, WebhookGuard())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://notify") as c:
        headers = {"authorization": f"Bearer {token('district', '大兴区')}"}
        r = await c.put("/v1/channels", headers=headers, json=choice)
        assert zh in only(r, path, code)["message_zh"]
        assert (await c.get("/v1/channels", headers=headers)).json()["channels"] == ["inbox"], "nothing saved"


async def test_unknown_routes_wrong_methods_and_a_missing_token_answer_in_both_languages(
    client: httpx.AsyncClient,  # noqa: F811
) -> None:
    missing = await client.get("/v1/no-such-thing")
    e = only(missing, "$", "not_found", 404)
    assert missing.json()["title"] == "未找到 / Not Found" and "/v1/no-such-thing" in e["message_zh"]
    wrong = await client.delete("/v1/declarations")
    only(wrong, "$", "method_not_allowed", 405)
    assert wrong.json()["title"] == "请求方法不被允许 / Method Not Allowed"
    assert "POST" in wrong.headers["allow"]
    anonymous = await client.get("/v1/declarations", headers={"Authorization": ""})
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
    title = anonymous.json()["title"]
    assert "缺少访问令牌" in title and "missing bearer token" in title, title


@pytest.mark.parametrize("target", ["nan", "NaN", "inf", "-Infinity"])
async def test_a_bound_query_number_that_is_nan_is_called_not_a_number(target: str) -> None:
    # The advisor's query is checked before any declaration, rulebook or engine is needed.
    app = scoring_api.build_app(None, None, None, SECRET, None, None)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://scoring") as c:
        r = await c.get(
            f"/v1/units/{USCC}/advice",
            params={"target": target},
            headers={"authorization": f"Bearer {token('enterprise', USCC)}"},
        )
    e = only(r, "$.target", "finite_number")
    assert "有限的数字" in e["message_zh"] and "finite number" in e["message_en"]
    assert "less than" not in e["message_en"] and "greater than" not in e["message_en"]


async def test_an_internal_error_names_a_request_id_and_no_exception_class(caplog: pytest.LogCaptureFixture) -> None:
    app: FastAPI = service_app("probe", "1", "probe", SECRET)

    @app.get("/boom")
    async def boom() -> None:
        raise OverflowError("int too large to convert to float")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://probe") as c:
        with caplog.at_level(logging.ERROR, logger="greenfab.http"):
            r = await c.get("/boom")
    assert r.status_code == 500 and r.headers["content-type"] == "application/problem+json"
    request_id = r.headers["x-request-id"]
    assert "OverflowError" not in r.text and "float" not in r.text
    assert request_id in r.json()["detail"] and "请求编号" in r.json()["detail"]
    assert any(request_id in m and "OverflowError" in m for m in caplog.messages), "the class is logged, with the id"


# ----- 3. what the body is ------------------------------------------------------------------------


async def test_json_sent_as_text_plain_is_415_naming_the_type(client: httpx.AsyncClient) -> None:  # noqa: F811
    r = await client.post(
        "/v1/declarations", content=json.dumps(body()).encode(), headers={"Content-Type": "text/plain"}
    )
    e = only(r, "$", "unsupported_media_type", 415)
    assert "application/json" in e["message_zh"] and "application/json" in e["message_en"]
    assert "text/plain" in e["message_en"]
    # No type at all: FastAPI would read the bytes as a string and call them "not an object".
    request = client.build_request("POST", "/v1/declarations", content=json.dumps(body()).encode())
    assert "content-type" not in request.headers
    e = only(await client.send(request), "$", "unsupported_media_type", 415)
    assert "Content-Type: application/json" in e["message_zh"] and "does not say" in e["message_en"]
    await nothing_stored(client)


async def test_a_key_given_twice_is_refused_naming_the_key(client: httpx.AsyncClient) -> None:  # noqa: F811
    text = json.dumps(body())
    twice = text.replace('"uscc": ', f'"uscc": "{USCC}", "uscc": ', 1)  # same value or not, it is ambiguous
    nested = text.replace('"plot_ratio": ', '"plot_ratio": 9, "plot_ratio": ', 1)
    for raw, path in ((twice, "$.uscc"), (nested, "$.data.plot_ratio")):
        r = await client.post("/v1/declarations", content=raw.encode(), headers={"Content-Type": "application/json"})
        e = only(r, path, "duplicate_key")
        assert "不止一次" in e["message_zh"]
    await nothing_stored(client)


async def test_a_number_of_5000_digits_is_refused_by_field_without_pythons_advice(
    client: httpx.AsyncClient,  # noqa: F811
) -> None:
    raw = json.dumps(body()).replace('"plot_ratio": 1.35', '"output_value": ' + "9" * 5000, 1)
    r = await client.post("/v1/declarations", content=raw.encode(), headers={"Content-Type": "application/json"})
    e = only(r, "$.data.output_value", "number_too_long")
    assert "数字位数过多" in e["message_zh"] and "5000" in e["message_en"]
    assert "sys." not in r.text and "set_int_max_str_digits" not in r.text
    await nothing_stored(client)


# ----- 4. scientific notation typed into a form ---------------------------------------------------


@pytest.mark.parametrize("typed", ["1e308", "1E308万元", "１ｅ３０８"])
async def test_a_form_amount_in_scientific_notation_is_read_as_a_number_and_held_to_its_limit(
    client: httpx.AsyncClient,  # noqa: F811
    typed: str,
) -> None:
    form = copy.deepcopy(GRADING_FORM)
    form["用地集约化"]["工业总产值"] = typed
    e = only(await client.post("/v1/forms/grading", json=form), "$.用地集约化.工业总产值", "above_limit")
    assert "单位" not in e["message_zh"].split("超过上限")[0], e  # no "unknown unit e308"
    await nothing_stored(client)


async def test_a_form_number_beyond_any_magnitude_is_refused_as_out_of_range(
    client: httpx.AsyncClient,  # noqa: F811
) -> None:
    form = copy.deepcopy(GRADING_FORM)
    form["用地集约化"]["工业总产值"] = "1e999999999"
    e = only(await client.post("/v1/forms/grading", json=form), "$.用地集约化.工业总产值", "number_out_of_range")
    assert "数量级" in e["message_zh"]
    await nothing_stored(client)


# ----- 6. the role before the body ----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["enterprise", "district", "expert", "auditor"])
async def test_bureau_only_actions_refuse_another_role_before_reading_its_body(
    staff: tuple[httpx.AsyncClient, Database],  # noqa: F811
    db: Database,  # noqa: F811
    role: str,
) -> None:
    scope = {"enterprise": USCC, "district": "大兴区"}.get(role)
    headers = {"authorization": f"Bearer {token(role, scope)}"}
    c, _ = staff
    notify = notify_api.build_app(db, SECRET, WebhookGuard())
    scoring = scoring_api.build_app(None, None, None, SECRET, None, None)  # type: ignore[arg-type]
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=notify), base_url="http://notify") as n,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=scoring), base_url="http://scoring") as s,
    ):
        answers = [
            await c.post("/v1/calls", json={"title": 1}, headers=headers),
            await c.post("/v1/evaluator-bans", json={}, headers=headers),
            await c.post("/v1/units/auto-listings", json={"uscc": "x"}, headers=headers),
            await s.post("/v1/rulebooks/publish", json={"reason": None}, headers=headers),
            await n.post("/v1/deliveries/not-a-number/retry", headers=headers),
        ]
    for r in answers:
        problem = r.json()
        assert r.status_code == 403, (r.request.url, r.status_code, problem)
        assert "仅限市经济和信息化局" in problem["title"] and "Not allowed" in problem["title"], problem
    # The bureau with the same bodies is told what the body lacks.
    bureau = await c.post("/v1/calls", json={"title": 1}, headers=BUREAU)
    assert bureau.status_code == 422
