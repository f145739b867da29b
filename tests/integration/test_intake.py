"""Intake against real NATS and a real database (SQLite and PostgreSQL): store first, publish once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import nats as nats_py
import pytest
from sqlalchemy import text

from contracts import subjects
from contracts.envelope import Actor
from contracts.evaluation import Evaluation
from contracts.http import DeclarationCreate
from contracts.messages import EvaluationCompleted
from contracts.schemes import Scheme
from greenfab.auth import Principal
from services.intake import handlers
from services.intake.bootstrap import IntakeService
from services.intake.settings import IntakeSettings
from services.workflow.tables import UnitProjection
from tests.conftest import SECRET, token, uscc
from tests.support import hostile
from tests.support.directory import unit_directory
from tests.support.servers import Nats
from tests.support.streams import stream_messages

USCC = "91110115MA04C2UX1E"


def body(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "scheme": "grading",
        "uscc": USCC,
        "enterprise_name": "北京示例新能源科技有限公司",
        "district": "大兴",
        "declared_on": "2025-10-08",
        "data": {"plot_ratio": 1.35, "plot_ratio_requirement": 1.0},
    }
    data.update(overrides)
    return data


def settings(nats: Nats, database_url: str, tmp_path: Path) -> IntakeSettings:
    return IntakeSettings(
        nats_url=nats.url, database_url=database_url, auth_secret=SECRET, http_port=0, outbox_poll_s=0.1,
        max_body_bytes=20_000, evidence_dir=str(tmp_path / "evidence"), max_evidence_bytes=100_000,
    )  # fmt: skip


@pytest.fixture
async def intake(nats: Nats, database_url: str, tmp_path: Path) -> AsyncIterator[IntakeService]:
    service = IntakeService(settings(nats, database_url, tmp_path))
    await service.start()
    yield service
    try:
        await asyncio.wait_for(service.stop(), 60)
    except TimeoutError:
        # A stop that hangs is a bug: show where every task is waiting, then fail.
        for task in asyncio.all_tasks():
            task.print_stack()
        pytest.fail("intake did not stop within 60 s")


@pytest.fixture
async def client(intake: IntakeService) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=intake.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as c:
        c.headers["Authorization"] = f"Bearer {token('enterprise', USCC)}"
        yield c


async def published(nats: Nats) -> list[dict[str, Any]]:
    """Every submission.received in the stream, once the relay has sent one (and any duplicate has had time)."""
    return await stream_messages(nats.url, subjects.SUBMISSIONS.name, at_least=1, timeout=20)


async def test_a_declaration_is_stored_then_published_once(
    client: httpx.AsyncClient, nats: Nats, intake: IntakeService
) -> None:
    r = await client.post("/v1/declarations", json=body())
    assert r.status_code == 202, r.text
    answer = r.json()
    assert answer["status"] == "pending" and answer["status_zh"] == "评价中"
    assert answer["district"] == "大兴区"
    assert r.headers["location"] == f"/v1/declarations/{answer['id']}"
    events = await published(nats)
    assert [e["submission_id"] for e in events] == [answer["id"]]
    event = events[0]
    assert event["type"] == "submission.received" and event["schema_version"] == 1
    assert event["actor"] == {"role": "enterprise", "subject": USCC, "scope": USCC}
    got = await client.get(f"/v1/declarations/{answer['id']}")
    assert got.status_code == 200 and got.json()["status"] == "pending"
    # Once JetStream has acked the event, the outbox keeps no copy of it (the relay deletes it just after the ack).
    for _ in range(100):
        async with intake.db.engine.connect() as conn:
            left = (await conn.execute(text("SELECT COUNT(*) FROM outbox"))).scalar_one()
        if left == 0:
            break
        await asyncio.sleep(0.05)
    assert left == 0, "a sent event stays in the outbox"


async def test_a_retry_with_the_same_idempotency_key_gets_the_first_answer(
    client: httpx.AsyncClient, nats: Nats
) -> None:
    first = await client.post("/v1/declarations", json=body(), headers={"Idempotency-Key": "k-1"})
    again = await client.post("/v1/declarations", json=body(), headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 202, first.text
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    other = await client.post(
        "/v1/declarations", json=body(enterprise_name="别的名字"), headers={"Idempotency-Key": "k-1"}
    )
    assert other.status_code == 409
    assert other.json()["errors"][0]["code"] == "idempotency_conflict"
    assert len(await published(nats)) == 1


async def test_a_client_chosen_id_makes_a_retry_safe(client: httpx.AsyncClient, nats: Nats) -> None:
    results = await asyncio.gather(
        *(client.post("/v1/declarations", json=body(declaration_id="client-0001")) for _ in range(5))
    )
    assert sorted(r.status_code for r in results) == [200, 200, 200, 200, 202]
    assert {r.json()["declaration_id"] for r in results} == {"client-0001"}
    assert len({r.json()["id"] for r in results}) == 1
    assert len(await published(nats)) == 1


async def test_a_client_chosen_id_belongs_to_its_enterprise_alone(client: httpx.AsyncClient, nats: Nats) -> None:
    other = "91110108MA01XK3T2Q"
    mine = await client.post("/v1/declarations", json=body(declaration_id="shared-0001"))
    theirs = await client.post(
        "/v1/declarations",
        json=body(declaration_id="shared-0001", uscc=other, enterprise_name="别的企业"),
        headers={"Authorization": f"Bearer {token('enterprise', other)}"},
    )
    # The second enterprise is neither blocked (409) nor shown the first one's declaration.
    assert (mine.status_code, theirs.status_code) == (202, 202), theirs.text
    assert mine.json()["id"] != theirs.json()["id"]
    assert (theirs.json()["uscc"], theirs.json()["declaration_id"]) == (other, "shared-0001")
    again = await client.post("/v1/declarations", json=body(declaration_id="shared-0001"))
    assert again.status_code == 200 and again.json()["id"] == mine.json()["id"]
    assert len(await stream_messages(nats.url, subjects.SUBMISSIONS.name, at_least=2, timeout=20)) == 2


async def test_bad_input_names_every_field_at_once(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/declarations", json=body(uscc="91110108MA01XK3T2R", district="浦东"))
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert {(e["path"], e["code"]) for e in r.json()["errors"]} == {
        ("$.uscc", "uscc_invalid"),
        ("$.district", "district_unknown"),
    }
    r = await client.post("/v1/declarations", json={"scheme": "nope", "extra": 1})
    assert r.status_code == 422
    paths = {e["path"] for e in r.json()["errors"]}
    assert {"$.scheme", "$.uscc", "$.extra", "$.data"} <= paths
    r = await client.post("/v1/declarations", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert [(e["path"], e["code"]) for e in r.json()["errors"]] == [("$", "json_invalid")]


async def test_body_limit_and_auth(client: httpx.AsyncClient) -> None:
    big = body(data={"note": "x" * 30_000})
    assert (await client.post("/v1/declarations", json=big)).status_code == 413
    no_auth = await client.post("/v1/declarations", json=body(), headers={"Authorization": ""})
    assert no_auth.status_code == 401
    other = await client.post(
        "/v1/declarations",
        json=body(),
        headers={"Authorization": f"Bearer {token('enterprise', '91110108MA01XK3T2Q')}"},
    )
    assert other.status_code == 403
    forged = await client.post(
        "/v1/declarations", json=body(), headers={"Authorization": f"Bearer {token('enterprise', USCC, 'x' * 40)}"}
    )
    assert forged.status_code == 401


async def test_the_list_shows_summaries_and_the_declaration_its_evaluation(
    client: httpx.AsyncClient, intake: IntakeService
) -> None:
    """A list row carries the evaluation's headline (read out of its JSON by the database, on SQLite and
    PostgreSQL alike), not its items or the inputs; the declaration itself keeps the whole evaluation."""
    evaluated, pending, failed = [(await client.post("/v1/declarations", json=body())).json()["id"] for _ in range(3)]
    result = Evaluation(
        scheme=Scheme.GRADING, edition="2025", rulebook_version="v", as_of=date(2025, 10, 8), items=[],
        total=Decimal("81.11"), provisional=False, level=3, verdict_zh="三级",
    )  # fmt: skip
    answer = EvaluationCompleted(
        correlation_id="c", actor=Actor(role="system", subject="scoring"), submission_id=evaluated,
        scheme=Scheme.GRADING, uscc=USCC, enterprise_name="北京示例新能源科技有限公司", district="大兴区",
        evaluation=result,
    )  # fmt: skip
    await handlers.record_evaluation(intake.db, answer)
    assert await handlers.mark_failed(intake.db, failed, "评分超时")
    async with intake.db.engine.connect() as conn:
        stored = await conn.execute(
            text("SELECT CAST(evaluation AS TEXT) FROM declarations WHERE id = :id"), {"id": evaluated}
        )
        spelled = stored.scalar_one()
    assert '"verdict_zh":"三级"' in spelled, "JSON columns keep Chinese as UTF-8 and no spaces (greenfab.db)"
    page = (await client.get("/v1/declarations")).json()
    assert page["limit"] == 50
    rows = {row["id"]: row for row in page["items"]}
    assert set(rows) == {evaluated, pending, failed}
    assert all("evaluation" not in row and "data" not in row and "raw" not in row for row in rows.values())
    done = rows[evaluated]
    assert (done["status"], done["total"], done["level"], done["provisional"]) == ("evaluated", "81.11", 3, False)
    assert done["passed"] is None and done["error"] is None
    assert (rows[pending]["status"], rows[pending]["total"], rows[pending]["level"]) == ("pending", None, None)
    assert (rows[failed]["status"], rows[failed]["error"]) == ("failed", "评分超时")
    whole = (await client.get(f"/v1/declarations/{evaluated}")).json()
    assert whole["evaluation"]["total"] == "81.11" and whole["data"] == body()["data"]


async def test_an_enterprise_reads_only_its_own(client: httpx.AsyncClient) -> None:
    created = (await client.post("/v1/declarations", json=body())).json()
    stranger = {"Authorization": f"Bearer {token('enterprise', '91110108MA01XK3T2Q')}"}
    assert (await client.get(f"/v1/declarations/{created['id']}", headers=stranger)).status_code == 404
    assert (await client.get("/v1/declarations", headers=stranger)).json()["items"] == []
    district = {"Authorization": f"Bearer {token('district', '大兴区')}"}
    assert (await client.get(f"/v1/declarations/{created['id']}", headers=district)).status_code == 200
    other_district = {"Authorization": f"Bearer {token('district', '海淀区')}"}
    assert (await client.get(f"/v1/declarations/{created['id']}", headers=other_district)).status_code == 404


async def test_an_event_committed_before_a_crash_goes_out_at_the_next_start(
    nats: Nats, database_url: str, tmp_path: Path
) -> None:
    # First life: the declaration and its outbox row are committed, and the process dies before the relay runs.
    first = IntakeService(settings(nats, database_url, tmp_path))
    from greenfab.migrations import migrate
    from services.intake.migrations import MIGRATIONS

    await migrate(first.db.engine, MIGRATIONS, allowed=True, schema=first.settings.database_schema)
    decl = DeclarationCreate.model_validate(body(district="大兴区"))
    answer, created = await handlers.accept_declaration(
        first.db, decl, Principal(role="enterprise", subject=USCC, scope=USCC), None
    )
    assert created
    await first.db.close()
    # Second life: the relay finds it and publishes it, once.
    second = IntakeService(settings(nats, database_url, tmp_path))
    await second.start()
    try:
        events = await published(nats)
    finally:
        await second.stop()
    assert [e["submission_id"] for e in events] == [answer.id]


# The samples of shared/samples (declarations as enterprises typed them), kept in the repository as JSON.
SAMPLES = Path(__file__).resolve().parents[2] / "examples" / "forms"


@pytest.mark.parametrize(
    ("sample", "scheme", "uscc", "expected"),
    [
        ("grading-2025.json", "grading", "91110115MA04C2UX1E",
         {"building_density": 0.48, "output_value": 86500, "land_area": 124000, "cod_emission": 3.6,
          "renewable_energy_share": 0.085, "intelligent_manufacturing_level": 3,
          "energy_input_boxes": ["energy_management_centre", "green_power_purchase", "three_level_metering"],
          "honour_boxes": ["green_supply_chain", "energy_efficiency_leader"], "industry_code": "C3841"}),
        ("beautiful-factory-2025.json", "beautiful-factory", "91110108MA01XK3T2Q",
         {"air_pollutant_ratio": 0.42, "water_pollutant_ratio": 0.63,
          "output_value_base": 32000, "output_value_final": 41000,
          "shuttle_new_energy_share": 0.6, "public_activities": 7, "smart_factory": "beijing_advanced",
          "green_building": "two_star", "enms_certified": False, "greening_photos": 3, "other_highlights": True,
          "green_factory_level": "municipal", "green_performance": "dark_green"}),
        ("green-factory-2025.json", "green-factory", "91110113MA001N9R6P",
         {"high_end_industry": False, "in_industrial_park": True, "self_evaluation_total": 86.5,
          "energy_using_product": False,
          "evaluator_uscc": "91110302MA7D5QL8P0"}),
    ],
)  # fmt: skip
async def test_the_samples_as_typed_are_normalised_and_stored_with_their_raw_values(
    client: httpx.AsyncClient, sample: str, scheme: str, uscc: str, expected: dict[str, Any]
) -> None:
    form = json.loads((SAMPLES / sample).read_text(encoding="utf-8"))
    r = await client.post(
        f"/v1/forms/{scheme}", json=form, headers={"Authorization": f"Bearer {token('enterprise', uscc)}"}
    )
    assert r.status_code == 202, r.text
    stored = r.json()
    assert stored["uscc"] == uscc and stored["scheme"] == scheme
    for name, value in expected.items():
        assert stored["data"][name] == value, name
    assert stored["raw"]  # as typed, beside the normalised values


async def test_a_bad_form_lists_every_problem_by_path(client: httpx.AsyncClient) -> None:
    form = {
        "工厂名称": "北京示例新能源科技有限公司",
        "统一社会信用代码": "91110115MA04C2UX1F",
        "所在区": "浦东",
        "评价年度": 2025,
        "用地集约化": {"工厂建筑密度": "4.8", "用地面积": "12.4 furlongs", "工业总产值": "5kg"},
        "资源能源投入": {"能源投入": ["☑建有核电站"]},
        "近三年情况": {"停产": "有"},
        "备注栏": "x",
    }
    r = await client.post("/v1/forms/grading", json=form)
    assert r.status_code == 422
    codes = {(e["path"], e["code"]) for e in r.json()["errors"]}
    assert codes == {
        ("$.用地集约化.工厂建筑密度", "share_ambiguous"),
        ("$.用地集约化.用地面积", "unit_unknown"),
        ("$.用地集约化.工业总产值", "unit_mismatch"),
        ("$.资源能源投入.能源投入", "box_unknown"),
        ("$.近三年情况.停产", "event_needs_dates"),
        ("$.备注栏", "unknown_field"),
        ("$.统一社会信用代码", "uscc_invalid"),  # header fields by their labels too
        ("$.所在区", "district_unknown"),
    }
    assert all(e["message_zh"] and e["message_en"] for e in r.json()["errors"])


async def test_a_filled_workbook_gives_the_same_declaration_as_the_json_form(client: httpx.AsyncClient) -> None:
    from contracts.schemes import Scheme
    from tests.unit.test_workbook import fill

    form = json.loads((SAMPLES / "beautiful-factory-2025.json").read_text(encoding="utf-8"))
    auth = {"Authorization": f"Bearer {token('enterprise', '91110108MA01XK3T2Q')}"}
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    by_json = await client.post("/v1/forms/beautiful-factory", json=form, headers=auth)
    by_xlsx = await client.post(
        "/v1/forms/beautiful-factory/xlsx",
        content=fill(Scheme.BEAUTIFUL_FACTORY, form),
        headers={**auth, "Content-Type": xlsx},
    )
    assert by_json.status_code == by_xlsx.status_code == 202, by_xlsx.text
    assert by_xlsx.json()["data"] == by_json.json()["data"]
    wrong_type = await client.post(
        "/v1/forms/grading/xlsx", content=b"a,b", headers={**auth, "Content-Type": "text/csv"}
    )
    assert wrong_type.status_code == 415
    not_xlsx = await client.post("/v1/forms/grading/xlsx", content=b"%PDF", headers={**auth, "Content-Type": xlsx})
    assert not_xlsx.status_code == 422 and "xlsx" in not_xlsx.json()["detail"]


async def test_nats_request_reply_gives_the_same_answers_as_http(intake: IntakeService, nats: Nats) -> None:
    from contracts import subjects

    nc = await nats_py.connect(nats.url)

    async def ask(payload: dict[str, Any]) -> dict[str, Any]:
        reply = await nc.request(subjects.INTAKE_DECLARE, json.dumps(payload, ensure_ascii=False).encode(), timeout=10)
        return dict(json.loads(reply.data))

    try:
        ok = await ask({"token": token("enterprise", USCC), "declaration": body(), "idempotency_key": "nats-1"})
        again = await ask({"token": token("enterprise", USCC), "declaration": body(), "idempotency_key": "nats-1"})
        form = json.loads((SAMPLES / "grading-2025.json").read_text(encoding="utf-8"))
        by_form = await ask({"token": token("enterprise", USCC), "scheme": "grading", "form": form})
        forged = await ask({"token": "not-a-token", "declaration": body()})
        broken = await ask({"token": token("enterprise", USCC), "declaration": body(uscc="91110108MA01XK3T2R")})
        nonsense = await ask({"hello": "world"})
        not_json = dict(json.loads((await nc.request(subjects.INTAKE_DECLARE, b"{not json", timeout=10)).data))
        declared_json = await nc.request(
            subjects.INTAKE_DECLARE, b"\xff\xfe", headers={"content-type": "application/json"}, timeout=10
        )
        nan = body(data={"output_value": float("nan"), "land_area": [1, float("inf")]})
        not_finite = dict(
            json.loads(
                (
                    await nc.request(subjects.INTAKE_DECLARE, json.dumps({"token": "t", "declaration": nan}).encode())
                ).data
            )
        )
    finally:
        await nc.close()
    assert ok["status"] == 202 and ok["declaration"]["status"] == "pending"
    assert again["status"] == 200 and again["declaration"]["id"] == ok["declaration"]["id"]
    assert by_form["status"] == 202 and by_form["declaration"]["data"]["land_area"] == 124000
    assert forged["status"] == 401 and forged["problem"]["status"] == 401
    assert broken["status"] == 422 and broken["problem"]["errors"][0]["code"] == "uscc_invalid"
    assert nonsense["status"] == 422 and {e["path"] for e in nonsense["problem"]["errors"]} >= {"$.token", "$.hello"}
    # A body that is not JSON gets the same 400 problem as over HTTP, not silence (the caller used to time out).
    assert not_json["status"] == 400
    assert [(e["path"], e["code"]) for e in not_json["problem"]["errors"]] == [("$", "json_invalid")]
    assert json.loads(declared_json.data)["status"] == 400
    assert not_finite["status"] == 422
    assert {(e["path"], e["code"]) for e in not_finite["problem"]["errors"]} == {
        ("$.declaration.data.output_value", "number_not_finite"),
        ("$.declaration.data.land_area[1]", "number_not_finite"),
    }


async def test_nats_status_reads_a_declaration_back_as_http_does(
    intake: IntakeService, client: httpx.AsyncClient, nats: Nats
) -> None:
    from contracts import subjects

    nc = await nats_py.connect(nats.url)

    async def ask(subject: str, payload: dict[str, Any] | bytes) -> dict[str, Any]:
        data = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
        return dict(json.loads((await nc.request(subject, data, timeout=10)).data))

    mine = token("enterprise", USCC)
    try:
        declared = await ask(subjects.INTAKE_DECLARE, {"token": mine, "declaration": body()})
        declaration_id = declared["declaration"]["id"]
        status = await ask(subjects.INTAKE_STATUS, {"token": mine, "declaration_id": declaration_id})
        stranger = await ask(
            subjects.INTAKE_STATUS, {"token": token("enterprise", uscc(77)), "declaration_id": declaration_id}
        )
        absent = await ask(subjects.INTAKE_STATUS, {"token": mine, "declaration_id": "no-such-declaration"})
        forged = await ask(subjects.INTAKE_STATUS, {"token": "not-a-token", "declaration_id": declaration_id})
        incomplete = await ask(subjects.INTAKE_STATUS, {"token": mine})
        not_json = await ask(subjects.INTAKE_STATUS, b"{not json")
    finally:
        await nc.close()
    over_http = await client.get(f"/v1/declarations/{declaration_id}", headers={"Authorization": f"Bearer {mine}"})
    assert status["status"] == 200 and status["declaration"] == over_http.json()
    assert status["declaration"]["status"] == "pending"
    # Another enterprise's declaration answers like one that does not exist, as over HTTP.
    assert stranger["status"] == absent["status"] == 404 and stranger["declaration"] is None
    assert stranger["problem"]["title"] == absent["problem"]["title"]
    assert forged["status"] == 401
    assert incomplete["status"] == 422 and [e["path"] for e in incomplete["problem"]["errors"]] == ["$.declaration_id"]
    assert not_json["status"] == 400


PNG = hostile.png()
PDF = hostile.pdf()


async def test_evidence_is_stored_by_hash_linked_to_its_indicator_and_checked_against_the_form(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    import hashlib

    form = json.loads((SAMPLES / "beautiful-factory-2025.json").read_text(encoding="utf-8"))
    owner = {"Authorization": f"Bearer {token('enterprise', '91110108MA01XK3T2Q')}"}
    created = (await client.post("/v1/forms/beautiful-factory", json=form, headers=owner)).json()
    base = f"/v1/declarations/{created['id']}/evidence"
    png = {**owner, "Content-Type": "image/png"}
    first = await client.post(f"{base}/BF-10?filename=certificate.png", content=PNG, headers=png)
    again = await client.post(f"{base}/BF-10?filename=certificate.png", content=PNG, headers=png)
    assert first.status_code == again.status_code == 201, first.text
    digest = hashlib.sha256(PNG).hexdigest()
    assert first.json()["sha256"] == digest
    assert (tmp_path / "evidence" / digest[:2] / digest).read_bytes() == PNG
    report = (await client.get(base, headers=owner)).json()
    by_item = {i["item"]: i for i in report["items"]}
    assert by_item["BF-10"]["status"] == "ok" and len(by_item["BF-10"]["files"]) == 1
    assert (by_item["BF-1"]["status"], by_item["BF-1"]["severity"]) == ("missing_optional", "warning")
    assert (by_item["BF-3"]["status"], by_item["BF-3"]["severity"]) == ("missing_required", "error")
    assert report["complete"] is False
    # The form's evidence list is what may be uploaded to, each indicator named as the rulebook names it.
    assert [i["id"] for i in report["indicators"]] == [f"BF-{n}" for n in range(1, 23)]
    assert report["indicators"][0] == {"id": "BF-1", "name_zh": "大气污染物排放"}
    download = await client.get(f"{base}/BF-10/{digest}", headers=owner)
    assert download.status_code == 200 and download.content == PNG
    assert download.headers["content-type"] == "image/png"
    assert download.headers["x-content-type-options"] == "nosniff"
    assert 'filename="certificate.png"' in download.headers["content-disposition"]

    # What an attacker sends: each refused by what the file is as a whole, and nothing of it stored.
    for content_type, content, code in (
        ("application/pdf", hostile.PDF_THEN_HTML, "file_invalid"),
        ("image/png", hostile.PNG_THEN_PHP, "file_invalid"),
        ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", hostile.exe_in_zip(),
         "package_executable"),
    ):  # fmt: skip
        refused = await client.post(
            f"{base}/BF-10?filename=../../shell.php", content=content, headers={**owner, "Content-Type": content_type}
        )
        assert refused.status_code == 415, refused.text
        assert [e["code"] for e in refused.json()["errors"]] == [code]
    assert [p.name for p in (tmp_path / "evidence").rglob("*") if p.is_file()] == [digest]
    renamed = await client.post(f"{base}/BF-10?filename=../../shell.php", content=hostile.png((9, 9)), headers=png)
    assert renamed.status_code == 201 and renamed.json()["filename"] == "shell.png"

    assert (
        await client.post(f"{base}/BF-10", content=b"hello", headers={**owner, "Content-Type": "text/plain"})
    ).status_code == 415
    assert (await client.post(f"{base}/BF-10", content=PDF, headers=png)).status_code == 415  # not a PNG inside
    big = PDF + b"0" * 200_000
    assert (
        await client.post(f"{base}/BF-10", content=big, headers={**owner, "Content-Type": "application/pdf"})
    ).status_code == 413
    assert (
        await client.post(f"{base}/BF-99", content=PDF, headers={**owner, "Content-Type": "application/pdf"})
    ).status_code == 422
    district = {"Authorization": f"Bearer {token('district', '海淀区')}", "Content-Type": "application/pdf"}
    assert (await client.post(f"{base}/BF-10", content=PDF, headers=district)).status_code == 403
    stranger = {"Authorization": f"Bearer {token('enterprise', USCC)}"}
    assert (await client.get(base, headers=stranger)).status_code == 404


async def test_evidence_goes_only_to_an_indicator_of_the_declarations_rulebook_when_its_form_lists_none(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    """The green-factory and grading forms list no evidence: their rulebook's items (edition in force) decide."""
    example = json.loads((SAMPLES.parent / "green-factory-declaration.json").read_text(encoding="utf-8"))
    owner = {"Authorization": f"Bearer {token('enterprise', example['uscc'])}"}
    created = (await client.post("/v1/declarations", json=example, headers=owner)).json()
    base = f"/v1/declarations/{created['id']}/evidence"
    pdf = {**owner, "Content-Type": "application/pdf"}
    for wrong in ("GR-1", "ZZ-99", "GF-9-9"):  # a grading item, no item at all, a green-factory-like code
        refused = await client.post(f"{base}/{wrong}?filename=a.pdf", content=PDF, headers=pdf)
        assert refused.status_code == 422, refused.text
        [error] = refused.json()["errors"]
        assert (error["path"], error["code"]) == ("$.item", "unknown_indicator")
        assert wrong in error["message_zh"] and "北京市绿色工厂评价" in error["message_zh"]
        assert "GF-0-1" in error["message_zh"] and "GF-0-1" in error["message_en"], "a few valid ids are named"
    assert [p for p in (tmp_path / "evidence").rglob("*") if p.is_file()] == [], "a refused file is not kept"

    accepted = await client.post(f"{base}/GF-1-1?filename=节能审查意见.pdf", content=PDF, headers=pdf)
    assert accepted.status_code == 201, accepted.text
    report = (await client.get(base, headers=owner)).json()
    # The report lists what the form asks for (nothing here) and what was uploaded: not all 94 items.
    assert [(i["item"], i["status"], len(i["files"])) for i in report["items"]] == [("GF-1-1", "ok", 1)]
    assert report["complete"] is True
    offered = {i["id"]: i["name_zh"] for i in report["indicators"]}
    assert len(offered) == 94 and "GR-1" not in offered
    assert offered["GF-1-1"] == "新改扩建遵守节能评估审查、三同时、用地控制指标等要求"

    # A grading declaration takes the grading rulebook's items, and no other scheme's.
    grading = (await client.post("/v1/declarations", json=body(declaration_id="evidence-grading"))).json()
    gbase = f"/v1/declarations/{grading['id']}/evidence"
    assert (
        await client.post(f"{gbase}/GF-1-1", content=PDF, headers={"Content-Type": "application/pdf"})
    ).status_code == 422
    assert (
        await client.post(f"{gbase}/GR-1", content=PDF, headers={"Content-Type": "application/pdf"})
    ).status_code == 201
    grading_ids = [i["id"] for i in (await client.get(gbase)).json()["indicators"]]
    assert grading_ids[:2] == ["GR-1", "GR-2"] and len(grading_ids) == 21


def unit_row(designation: str, state: str, district: str = "大兴区") -> UnitProjection:
    return UnitProjection(
        workflow_id=f"unit-{USCC}-{designation}", uscc=USCC, district=district, designation=designation,
        enterprise_name="北京示例新能源科技有限公司", state=state,
    )  # fmt: skip


async def test_notices_are_stored_published_and_only_sent_by_who_may(
    client: httpx.AsyncClient, nats: Nats, tmp_path: Path
) -> None:
    rename = {"kind": "rename", "notice_id": "rename-0001", "uscc": USCC, "old_name": "北京示例新能源科技有限公司",
              "new_name": "北京示例绿能科技有限公司", "completed_on": "2026-10-01"}  # fmt: skip
    report = {"kind": "district_report", "uscc": USCC, "finding": "abnormal_operation", "observed_on": "2026-11-01",
              "details": "连续三个月无生产用电"}  # fmt: skip
    objection = {
        "kind": "objection",
        "uscc": USCC,
        "designation": "beautiful-factory",
        "reason": "申报数据与实际不符",
    }
    stranger = {"Authorization": f"Bearer {token('enterprise', '91110108MA01XK3T2Q')}"}
    district = {"Authorization": f"Bearer {token('district', '大兴区')}"}

    # With no workflow service to ask, nothing is taken: intake cannot tell whether the unit exists.
    unchecked = await client.post("/v1/notices", json=rename)
    assert unchecked.status_code == 503 and unchecked.headers["content-type"].startswith("application/problem+json")
    units = [unit_row("municipal-green-factory", "listed"), unit_row("beautiful-factory", "publicity")]
    async with unit_directory(nats.url, f"sqlite+aiosqlite:///{tmp_path / 'workflow.db'}", units):
        first = await client.post("/v1/notices", json=rename)
        again = await client.post("/v1/notices", json=rename)
        changed = await client.post("/v1/notices", json={**rename, "new_name": "别的名字"})
        assert (first.status_code, again.status_code, changed.status_code) == (202, 200, 409), first.text
        assert first.json()["actor"] == {"role": "enterprise", "subject": USCC, "scope": USCC}

        assert (
            await client.post("/v1/notices", json={**rename, "notice_id": None}, headers=stranger)
        ).status_code == 403
        assert (await client.post("/v1/notices", json=report)).status_code == 403  # an enterprise cannot report
        reported = await client.post("/v1/notices", json=report, headers=district)
        assert reported.status_code == 202 and reported.json()["actor"]["scope"] == "大兴区"
        elsewhere = {"Authorization": f"Bearer {token('district', '顺义区')}"}
        assert (await client.post("/v1/notices", json=report, headers=elsewhere)).status_code == 403
        objected = await client.post("/v1/notices", json=objection, headers=stranger)
        assert objected.status_code == 202
        not_publicised = await client.post(
            "/v1/notices", json={**objection, "designation": "municipal-green-factory"}, headers=stranger
        )
        assert not_publicised.status_code == 409
        nobody = "91110108551385082Q"
        absent = await client.post("/v1/notices", json={**report, "uscc": nobody}, headers=district)
        assert absent.status_code == 422 and absent.json()["errors"][0]["path"] == "$.uscc", absent.text

        assert (await client.get(f"/v1/notices/{objected.json()['id']}", headers=stranger)).status_code == 200
        assert (await client.get(f"/v1/notices/{reported.json()['id']}", headers=district)).status_code == 200
        assert (await client.get("/v1/notices/rename-0001", headers=stranger)).status_code == 404

        bad = await client.post("/v1/notices", json={"kind": "rename", "uscc": USCC, "completed_on": "yesterday"})
        assert bad.status_code == 422
        assert {"$.rename.old_name", "$.rename.new_name", "$.rename.completed_on"} <= {
            e["path"] for e in bad.json()["errors"]
        }
        assert (await client.post("/v1/notices", json={"kind": "complaint", "uscc": USCC})).status_code == 422
        no_kind = {k: v for k, v in rename.items() if k != "kind"}
        assert (await client.post("/v1/notices", json=no_kind)).status_code == 422

    events = await stream_messages(nats.url, subjects.SUBMISSIONS.name, at_least=3, timeout=20)
    assert sorted(e["notice"]["kind"] for e in events) == ["district_report", "objection", "rename"]


async def test_limits_on_what_data_may_hold_are_named(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v1/declarations",
        json=body(data={"energy_input_boxes": ["x"] * 101, "note": "长" * 2001, "a": {"b": {"c": {"d": {"e": 1}}}}}),
    )
    assert r.status_code == 422
    message = r.json()["errors"][0]["message_en"]
    assert "data.energy_input_boxes: more than 100 items" in message
    assert "data.note: text longer than 2000 characters" in message
    assert "nested deeper than 4 levels" in message


async def test_the_template_can_be_downloaded(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/forms/green-factory/template.xlsx", headers={"Authorization": ""})
    assert r.status_code == 200 and r.content[:2] == b"PK"
    assert "green-factory-form.xlsx" in r.headers["content-disposition"]
