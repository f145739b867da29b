"""Nothing fails unseen: a message that fails every try marks what it was about as failed, and staff are told.

Real nats-server, real intake, scoring and notify services in this process, SQLite and PostgreSQL.
The failure is forced where it would hurt most: scoring's engine raises on every try (as a bug, an
engine crash or an unscoreable amount would), which used to leave the declaration `pending` for ever.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts import subjects
from contracts.schemes import Scheme
from services.intake.bootstrap import IntakeService
from services.intake.settings import IntakeSettings
from services.notify.bootstrap import NotifyService
from services.notify.settings import NotifySettings
from services.scoring.bootstrap import ScoringService
from services.scoring.settings import ScoringSettings
from tests.conftest import SECRET, token
from tests.support.servers import Nats, free_port
from tests.support.streams import stream_messages

USCC = "91110115MA04C2UX1E"
TRIES = 2


@pytest.fixture
async def services(nats: Nats, database_url: str, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    common: dict[str, Any] = {"nats_url": nats.url, "auth_secret": SECRET, "http_port": 0, "max_deliveries": TRIES}
    intake = IntakeService(
        IntakeSettings(**common, database_url=database_url, outbox_poll_s=0.1, evidence_dir=str(tmp_path / "ev"))
    )
    scoring = ScoringService(ScoringSettings(**common, database_url=f"sqlite+aiosqlite:///{tmp_path / 's.db'}"))
    notify = NotifyService(
        NotifySettings(
            **common, database_url=f"sqlite+aiosqlite:///{tmp_path / 'n.db'}", smtp_port=free_port(), poll_s=0.1
        )
    )

    async def broken_engine(scheme: Scheme, as_of: date, data: dict[str, Any], **_: Any) -> Any:
        raise ArithmeticError("quantize result has too many digits for current context")

    scoring.pool.evaluate_json = broken_engine  # type: ignore[method-assign,assignment]
    started = []
    try:
        for service in (intake, scoring, notify):
            await service.start()
            started.append(service)
        yield {"intake": intake, "scoring": scoring, "notify": notify}
    finally:
        for service in reversed(started):
            await service.stop()


def client(app: Any, role: str, scope: str | None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test",
        headers={"Authorization": f"Bearer {token(role, scope)}"},
    )


async def until(check: Any, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := await check():
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"not within {timeout} s")


async def test_a_declaration_whose_scoring_fails_every_try_ends_failed_and_the_bureau_is_told(
    services: dict[str, Any], nats: Nats
) -> None:
    declaration = {
        "scheme": "grading", "uscc": USCC, "enterprise_name": "北京示例新能源科技有限公司", "district": "大兴区",
        "declared_on": "2025-10-08", "data": {"plot_ratio": 1.35, "plot_ratio_requirement": 1.0},
    }  # fmt: skip
    async with client(services["intake"].app, "enterprise", USCC) as enterprise:
        r = await enterprise.post("/v1/declarations", json=declaration)
        assert r.status_code == 202, r.text
        url = f"/v1/declarations/{r.json()['id']}"

        async def failed() -> dict[str, Any] | None:
            body = (await enterprise.get(url)).json()
            return body if body["status"] != "pending" else None

        answer = await until(failed)
    assert (answer["status"], answer["status_zh"]) == ("failed", "评价失败")
    assert f"scoring failed after {TRIES} tries" in answer["error"] and "ArithmeticError" in answer["error"]

    [letter] = await stream_messages(nats.url, subjects.DEAD_LETTERS.name, at_least=1, timeout=20)
    assert letter["type"] == "deadletter" and letter["subject"] == subjects.SUBMISSION_RECEIVED
    assert (letter["deliveries"], letter["uscc"]) == (TRIES, USCC)
    assert letter["marked_failed"] == f"declaration {answer['id']}" and letter["mark_error"] is None
    # The failure travels the normal path: an evaluation.completed with the reason, for every consumer of it.
    [evaluation] = await stream_messages(nats.url, subjects.EVALUATIONS.name, at_least=1, timeout=20)
    assert evaluation["evaluation"] is None and evaluation["error"] == answer["error"]

    async with client(services["notify"].app, "bureau", None) as bureau:

        async def told() -> list[dict[str, Any]]:
            return [n for n in (await bureau.get("/v1/inbox")).json()["items"] if "消息处理失败" in n["title"]]

        [note] = await until(told)
    assert USCC in note["body"] and answer["id"] in note["body"] and "ArithmeticError" in note["body"]
