"""Quantities that cannot be are refused at intake, through every front end, naming each field; nothing stored.

The input catalogue (rules/inputs, rules/eligibility/events.yaml) is checked synchronously: a share
above its whole names both fields, an amount above its unit's limit, a fractional maturity level and
an untyped event field are each a 422 problem with a stable code in Chinese and English, by JSON
over HTTP, as a form typed in Chinese, as a filled workbook, and over NATS request/reply.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import nats as nats_py

from contracts import subjects
from contracts.schemes import Scheme
from services.intake.bootstrap import IntakeService
from tests.conftest import token
from tests.integration.test_intake import USCC, body, client, intake  # noqa: F401  (fixtures)
from tests.support.servers import Nats
from tests.unit.test_workbook import fill

ROOT = Path(__file__).resolve().parents[2]
GRADING_FORM = json.loads((ROOT / "examples" / "forms" / "grading-2025.json").read_text(encoding="utf-8"))
EXAMPLE = json.loads((ROOT / "examples" / "grading-declaration.json").read_text(encoding="utf-8"))
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

IMPOSSIBLE = {
    "plot_ratio": 1.35,
    "plot_ratio_requirement": 1.0,
    "output_value": 1e20,
    "water_withdrawal": 186000,
    "nonconventional_water": 500000,
    "intelligent_manufacturing_level": 2.5,
    "events": [{"kind": "abnormal_operation_list", "date": "2024-05-01", "removed": "true"}],
}
EXPECTED = {
    ("$.data.output_value", "above_limit"),
    ("$.data.nonconventional_water", "part_exceeds_whole"),
    ("$.data.water_withdrawal", "part_exceeds_whole"),
    ("$.data.intelligent_manufacturing_level", "not_whole"),
    ("$.data.events[0].removed", "not_a_boolean"),
}


def problem_fields(problem: dict[str, Any]) -> set[tuple[str, str]]:
    assert problem["status"] == 422
    for e in problem["errors"]:
        assert e["message_zh"] and e["message_en"], e
    return {(e["path"], e["code"]) for e in problem["errors"]}


def impossible_form() -> dict[str, Any]:
    form: dict[str, Any] = copy.deepcopy(GRADING_FORM)
    form["资源能源投入"]["非常规用水量"] = "520,000m³"  # more than the 186,000 m³ withdrawn
    form["加分项"]["智能制造能力成熟度等级"] = "2.5级"
    form["用地集约化"]["工业总产值"] = "1,000,000,000,000万元"  # 1 万亿万元
    return form


FORM_EXPECTED = {
    ("$.资源能源投入.非常规用水量", "part_exceeds_whole"),
    ("$.资源能源投入.取用水量", "part_exceeds_whole"),
    ("$.加分项.智能制造能力成熟度等级", "not_whole"),
    ("$.用地集约化.工业总产值", "above_limit"),
}


async def nothing_stored(client: httpx.AsyncClient) -> None:  # noqa: F811
    listed = await client.get("/v1/declarations")
    assert listed.status_code == 200 and listed.json()["items"] == []


async def test_json_refuses_each_impossible_input_by_field(client: httpx.AsyncClient) -> None:  # noqa: F811
    r = await client.post("/v1/declarations", json=body(data=IMPOSSIBLE))
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert problem_fields(r.json()) == EXPECTED
    pair = [e for e in r.json()["errors"] if e["code"] == "part_exceeds_whole"]
    assert "非常规用水量" in pair[0]["message_zh"] and "取用水量" in pair[0]["message_zh"]
    await nothing_stored(client)


async def test_a_form_as_typed_points_at_the_labels_the_enterprise_filled(client: httpx.AsyncClient) -> None:  # noqa: F811
    r = await client.post("/v1/forms/grading", json=impossible_form())
    assert r.status_code == 422, r.text
    assert problem_fields(r.json()) == FORM_EXPECTED
    await nothing_stored(client)


async def test_a_workbook_is_refused_the_same_way(client: httpx.AsyncClient) -> None:  # noqa: F811
    content = fill(Scheme.GRADING, impossible_form())
    r = await client.post("/v1/forms/grading/xlsx", content=content, headers={"Content-Type": XLSX})
    assert r.status_code == 422, r.text
    assert problem_fields(r.json()) == FORM_EXPECTED
    await nothing_stored(client)


async def test_nats_request_reply_refuses_the_same_way(
    intake: IntakeService,  # noqa: F811
    client: httpx.AsyncClient,  # noqa: F811
    nats: Nats,
) -> None:
    nc = await nats_py.connect(nats.url)
    try:
        payload = {"token": token("enterprise", USCC), "declaration": body(data=IMPOSSIBLE)}
        reply = await nc.request(subjects.INTAKE_DECLARE, json.dumps(payload).encode(), timeout=10)
        by_form = {"token": token("enterprise", USCC), "scheme": "grading", "form": impossible_form()}
        form_reply = await nc.request(
            subjects.INTAKE_DECLARE, json.dumps(by_form, ensure_ascii=False).encode(), timeout=10
        )
    finally:
        await nc.close()
    answer, form_answer = json.loads(reply.data), json.loads(form_reply.data)
    assert answer["status"] == 422 and answer["declaration"] is None
    assert problem_fields(answer["problem"]) == EXPECTED
    assert form_answer["status"] == 422 and problem_fields(form_answer["problem"]) == FORM_EXPECTED
    await nothing_stored(client)


async def test_an_integer_longer_than_any_float_is_refused_by_its_limit_over_http_and_nats(
    intake: IntakeService,  # noqa: F811
    client: httpx.AsyncClient,  # noqa: F811
    nats: Nats,
) -> None:
    # 10**400 has 401 digits: an int in Python, beyond every float (float() of it raised OverflowError, a 500).
    huge = body(data={"plot_ratio": 1.35, "plot_ratio_requirement": 1.0, "output_value": 10**400})
    r = await client.post("/v1/declarations", json=huge)
    assert r.status_code == 422, r.text
    assert problem_fields(r.json()) == {("$.data.output_value", "above_limit")}
    nc = await nats_py.connect(nats.url)
    try:
        payload = {"token": token("enterprise", USCC), "declaration": huge}
        reply = await nc.request(subjects.INTAKE_DECLARE, json.dumps(payload).encode(), timeout=10)
    finally:
        await nc.close()
    answer = json.loads(reply.data)
    assert answer["status"] == 422 and answer["declaration"] is None
    assert problem_fields(answer["problem"]) == {("$.data.output_value", "above_limit")}
    await nothing_stored(client)


async def test_what_the_catalogue_accepts_is_stored(client: httpx.AsyncClient) -> None:  # noqa: F811
    r = await client.post("/v1/declarations", json=body(data=EXAMPLE["data"]))
    assert r.status_code == 202, r.text


async def test_a_forms_header_fields_are_named_by_their_labels(client: httpx.AsyncClient) -> None:  # noqa: F811
    # As every input is: the enterprise sees the label it typed under, not the JSON field behind it.
    form = {**GRADING_FORM, "工厂名称": "北京\u202e示例", "统一社会信用代码": "91110115MA04C2UX1X"}
    for r in (
        await client.post("/v1/forms/grading", json=form),
        await client.post("/v1/forms/grading/xlsx", content=fill(Scheme.GRADING, form), headers={"Content-Type": XLSX}),
    ):
        assert r.status_code == 422, r.text
        paths = {e["path"]: e["code"] for e in r.json()["errors"]}
        assert paths == {"$.工厂名称": "text_invisible_character", "$.统一社会信用代码": "uscc_invalid"}, paths
    await nothing_stored(client)
