"""Notify's boundaries over HTTP, on SQLite and PostgreSQL: webhooks reach only public addresses (checked when
chosen and again at each send, connected to the address checked), the delivery log keeps no receiver's answer,
and an inbox is a role and a name together."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from contracts.envelope import Actor
from contracts.notify import Delivery
from greenfab.auth import Principal, issue_token
from greenfab.db import Database, create_tables
from greenfab.paging import PageAsk
from services.notify import api, handlers
from services.notify.channels import WebhookChannel
from services.notify.dispatcher import Dispatcher, RetryPolicy
from services.notify.domain import Draft
from services.notify.tables import NotifyBase
from services.notify.webhook_address import AllowList, IPAddress
from services.notify.webhook_guard import WebhookGuard
from tests.conftest import SECRET, token
from tests.support.sinks import webhook_server

USCC = "91110115MA04C2UX1E"
PUBLIC = ipaddress.ip_address("93.184.215.14")
LOOPBACK = ipaddress.ip_address("127.0.0.1")


def resolver(*answers: list[IPAddress]) -> Callable[[str, int], Any]:
    """A DNS that gives each answer in turn (the last one from then on): a name that rebinds."""
    given = list(answers)

    async def resolve(host: str, port: int) -> list[IPAddress]:
        return given.pop(0) if len(given) > 1 else given[0]

    return resolve


@pytest.fixture
async def db(database: Database) -> AsyncIterator[Database]:
    await create_tables(database.engine, NotifyBase.metadata)
    yield database


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://notify")


def as_(role: str, scope: str | None) -> dict[str, str]:
    return {"authorization": f"Bearer {token(role, scope)}"}


async def choose_webhook(app: FastAPI, url: str) -> httpx.Response:
    async with client(app) as c:
        return await c.put(
            "/v1/channels", headers=as_("district", "大兴区"), json={"channels": ["webhook"], "webhook_url": url}
        )


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8002/v1/tasks",  # the staff API, from inside
        "https://127.0.0.1/",
        "https://localhost/",  # a name for loopback
        "https://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "https://[fd00:ec2::254]/latest/meta-data/",
        "https://100.100.100.200/latest/meta-data/",
        "https://10.0.0.5/",
        "https://192.168.1.1/",
        "https://[::1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://0.0.0.0/",
        "https://224.0.0.1/",
        "https://[fe80::1]/",
        "https://240.0.0.1/",
        "http://93.184.215.14/",  # public, but not https
        "https://does-not-exist.invalid/",
    ],
)
async def test_a_webhook_that_points_inside_is_refused_naming_the_field(db: Database, url: str) -> None:
    app = api.build_app(db, SECRET, WebhookGuard())
    r = await choose_webhook(app, url)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert [e["path"] for e in r.json()["errors"]] == ["$.webhook_url"]
    assert await handlers.recipient(db, "district", "大兴区") is None, "nothing was saved"


async def test_a_public_https_webhook_is_accepted_and_names_resolving_inside_are_not(db: Database) -> None:
    app = api.build_app(db, SECRET, WebhookGuard(resolve=resolver([PUBLIC])))
    r = await choose_webhook(app, "https://hooks.example.com/greenfab")
    assert r.status_code == 200, r.text
    assert r.json()["webhook_secret"]
    inside = api.build_app(db, SECRET, WebhookGuard(resolve=resolver([PUBLIC, ipaddress.ip_address("10.0.0.8")])))
    r = await choose_webhook(inside, "https://hooks.example.com/other")
    assert r.status_code == 422 and "10.0.0.8" not in r.text, "the answer must not read internal DNS out"


async def send_one(db: Database, guard: WebhookGuard, url: str, secret: str = "s") -> Delivery:
    """Save ``url`` as 大兴区's webhook (as if chosen earlier), record one event for it, and let the dispatcher try."""
    from services.notify.tables import RecipientRow

    async with db.session() as s:
        await s.merge(RecipientRow(recipient_role="district", recipient="大兴区", channels="webhook", webhook_url=url,
                                   webhook_secret=secret))  # fmt: skip
        await s.commit()
    draft = Draft("大兴区", "district", "task.opened", "新的待办", "请处理")
    event = {"id": "e-1", "type": "task", "actor": Actor(role="bureau", subject="b").model_dump()}
    assert await handlers.record(db, "e-1", [draft], event) == 1
    dispatcher = Dispatcher(db, {"webhook": WebhookChannel(2, guard)}, RetryPolicy(1, 0.1, 1, 30), 0.05)
    dispatcher.start()
    try:
        for _ in range(200):
            (row,) = (await handlers.deliveries(db, "district", "大兴区", None, "webhook", PageAsk(10))).items
            if row.status in ("sent", "dead"):
                return row
            await asyncio.sleep(0.05)
        raise AssertionError(f"delivery still {row.status}")
    finally:
        await dispatcher.stop()


async def test_a_name_that_rebinds_inside_after_it_was_checked_is_refused_at_send_time(db: Database) -> None:
    with webhook_server() as hooks:
        # Public when chosen; then the name's owner points it at the deployment itself.
        rebinding = WebhookGuard(allow=AllowList(), require_https=False, resolve=resolver([PUBLIC], [LOOPBACK]))
        app = api.build_app(db, SECRET, rebinding)
        assert (await choose_webhook(app, f"http://rebind.example:{hooks.port}/hook")).status_code == 200
        row = await send_one(db, rebinding, f"http://rebind.example:{hooks.port}/hook")
    assert row.status == "dead" and "refused" in row.last_error, row.last_error
    assert hooks.calls == [], "nothing reached the address inside"


async def test_the_send_connects_to_the_address_checked_and_names_the_host(db: Database) -> None:
    with webhook_server() as hooks:
        # Only the guard's resolver knows this name: the request can only have gone to the address it checked.
        guard = WebhookGuard(allow=AllowList.parse(["127.0.0.1"]), require_https=False, resolve=resolver([LOOPBACK]))
        row = await send_one(db, guard, f"http://hooks.greenfab.test:{hooks.port}/hook")
    assert row.status == "dead"  # the sink checks a signature made with another secret: 401
    assert [c["host"] for c in hooks.calls] == [f"hooks.greenfab.test:{hooks.port}"]


async def test_the_delivery_log_keeps_the_status_and_a_short_reason_never_the_answer(db: Database) -> None:
    with webhook_server() as hooks:
        hooks.answers["/hook"] = (500, b'{"database_password": "hunter2", "internal": "10.0.0.5"}')
        guard = WebhookGuard(allow=AllowList.parse(["127.0.0.1/32"]), require_https=False)
        row = await send_one(db, guard, hooks.url("/hook"))
        assert len(hooks.calls) == 1
    assert row.last_error == "webhook: HTTP 500 Internal Server Error"
    async with client(api.build_app(db, SECRET, guard)) as c:
        log = (await c.get("/v1/deliveries", headers=as_("district", "大兴区"))).text
    assert "hunter2" not in log and "LEAKED-REASON" not in log and "10.0.0.5" not in log


async def test_an_inbox_is_a_role_and_a_name_together(db: Database) -> None:
    drafts = [Draft("顺义区", "district", "task.opened", "顺义区的待办", "内部事项")]
    event = {"id": "e-9", "type": "task", "actor": {"role": "bureau", "subject": "b"}}
    await handlers.record(db, "e-9", drafts, event)
    assert [i.title for i in (await handlers.inbox(db, "district", "顺义区", PageAsk(10))).items] == ["顺义区的待办"]
    assert (await handlers.inbox(db, "enterprise", "顺义区", PageAsk(10))).items == []
    app = api.build_app(db, SECRET, WebhookGuard())
    async with client(app) as c:
        assert len((await c.get("/v1/inbox", headers=as_("district", "顺义区"))).json()["items"]) == 1
        # An enterprise token scoped to a district, even signed with the real secret, opens nothing.
        forged = issue_token(SECRET, Principal.model_construct(role="enterprise", subject="x", scope="顺义区"))
        r = await c.get("/v1/inbox", headers={"authorization": f"Bearer {forged}"})
        assert r.status_code == 401, r.text
        r = await c.get("/v1/deliveries", headers={"authorization": f"Bearer {forged}"})
        assert r.status_code == 401, r.text


async def test_retry_of_an_id_beyond_any_row_is_a_404_or_422_not_a_500(db: Database) -> None:
    app = api.build_app(db, SECRET, WebhookGuard())
    async with client(app) as c:
        for delivery_id, expected in (
            ("9223372036854775808", 422),
            ("9223372036854775807", 422),
            (str(2**31), 422),
            (str(2**31 - 1), 404),
            ("0", 422),
        ):
            r = await c.post(f"/v1/deliveries/{delivery_id}/retry", headers=as_("bureau", None))
            assert r.status_code == expected, (delivery_id, r.text)
