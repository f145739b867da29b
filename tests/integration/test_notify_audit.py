"""Reminders and the audit trail over a simulated three years, against real servers.

Temporal's time-skipping server runs the lifecycle; real NATS carries its events; notify sends
over a real SMTP server (aiosmtpd) and a real webhook endpoint that checks signatures; audit
chains every event in SQLite. Redelivery is real: the services' durable consumers are deleted
and every event is delivered again.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import nats as nats_py
from sqlalchemy import text
from sqlmodel import select
from temporalio.testing import WorkflowEnvironment

from contracts import subjects
from contracts.envelope import Actor
from contracts.messages import DeadlineEvent
from contracts.schemes import Designation
from greenfab.messaging import stream_of
from greenfab.paging import PageAsk
from services.audit.bootstrap import AuditService
from services.audit.consumers import FEEDS
from services.audit.handlers import verdict
from services.audit.settings import AuditSettings
from services.audit.temporal_history import reconcile_unit
from services.notify import handlers as notify_handlers
from services.notify.bootstrap import NotifyService
from services.notify.settings import NotifySettings
from services.notify.tables import DeliveryRow
from services.workflow.policy_loader import load_policy
from tests.conftest import SECRET, token
from tests.support.lifecycle import DISTRICT, RULES, Bench, bench, facts
from tests.support.servers import Nats, free_port
from tests.support.sinks import Mailbox, WebhookSink, smtp_server, webhook_server

USCC = "91110115MA04C2UX1E"
# (subject, durable consumer) of each service's subscriptions.
NOTIFY_FEEDS = (
    (subjects.UNIT_CHANGED, subjects.CONSUMER_NOTIFY_UNITS),
    (subjects.DEADLINE_EVENTS, subjects.CONSUMER_NOTIFY_DEADLINES),
    (subjects.TASK_EVENTS, subjects.CONSUMER_NOTIFY_TASKS),
)
AUDIT_FEEDS = tuple((subject, durable) for subject, durable, _ in FEEDS)


def notify_settings(nats: Nats, tmp_path: Path, smtp_port: int, **extra: Any) -> NotifySettings:
    values: dict[str, Any] = {
        "nats_url": nats.url,
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'notify.db'}",
        "auth_secret": SECRET,
        "http_port": 0,
        "smtp_port": smtp_port,
        "retry_base_s": 0.2,
        "poll_s": 0.1,
        "send_timeout_s": 2,
        "webhook_allow": "127.0.0.1/32",  # the test's webhook receiver
        "webhook_require_https": False,
        **extra,
    }
    return NotifySettings(**values)


async def started_notify(settings: NotifySettings) -> NotifyService:
    service = NotifyService(settings)
    await service.start()
    return service


async def started_audit(nats: Nats, tmp_path: Path) -> AuditService:
    service = AuditService(
        AuditSettings(
            nats_url=nats.url,
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}",
            auth_secret=SECRET,
            http_port=0,
        )
    )
    await service.start()
    return service


async def eventually(check: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"never: {what}")
        await asyncio.sleep(0.1)


async def consumers_caught_up(nats: Nats, feeds: tuple[tuple[str, str], ...]) -> bool:
    nc = await nats_py.connect(nats.url)
    try:
        js = nc.jetstream()
        for subject, durable in feeds:
            info = await js.consumer_info(stream_of(subject), durable)
            if info.num_pending or info.num_ack_pending:
                return False
        return True
    finally:
        await nc.close()


async def delete_consumers(nats: Nats, feeds: tuple[tuple[str, str], ...]) -> None:
    """Forget where the durable consumers were: on restart every stored event is delivered again."""
    nc = await nats_py.connect(nats.url)
    try:
        js = nc.jetstream()
        for subject, durable in feeds:
            await js.delete_consumer(stream_of(subject), durable)
    finally:
        await nc.close()


async def settled(db_service: NotifyService) -> list[DeliveryRow]:
    async with db_service.db.session() as s:
        rows = list((await s.exec(select(DeliveryRow))).all())
    return rows if rows and all(r.status in ("sent", "dead") for r in rows) else []


def local_day(iso: str) -> date:
    return load_policy(RULES).local_day(datetime.fromisoformat(iso))


async def test_three_years_below_grade_three_every_reminder_once_on_time_to_the_right_recipient_over_each_channel(
    env: WorkflowEnvironment, nats: Nats, tmp_path: Path
) -> None:
    with smtp_server() as mail, webhook_server() as hooks:
        notify = await started_notify(notify_settings(nats, tmp_path, mail.port))
        audit = await started_audit(nats, tmp_path)
        try:
            _, secret = await notify_handlers.choose(
                notify.db,
                "enterprise",
                USCC,
                ["inbox", "email", "webhook"],
                "energy@example.com",
                hooks.url("/hooks/enterprise"),
            )
            assert secret is not None
            hooks.secrets["/hooks/enterprise"] = secret
            await notify_handlers.choose(
                notify.db, "district", DISTRICT, ["inbox", "email"], "daxing@example.com", None
            )

            async with bench(env, nats, tmp_path) as b:
                await run_grade_path_to_revocation(b)
                events = await b.events()
            deadline_events = [e for e in events if e["type"] == "deadline"]
            assert len(deadline_events) >= 12

            await eventually(lambda: consumers_caught_up(nats, NOTIFY_FEEDS), "notify read every event")
            rows = await eventually(lambda: settled(notify), "every delivery sent")
            check_each_reminder_once_on_time(deadline_events, rows, mail, hooks)

            # Redelivery against the real server: forget notify's place, start it again.
            counts = (len(mail.messages), len(hooks.calls), len(rows))
            await notify.stop()
            await delete_consumers(nats, NOTIFY_FEEDS)
            notify = await started_notify(notify_settings(nats, tmp_path, mail.port))
            await eventually(lambda: consumers_caught_up(nats, NOTIFY_FEEDS), "notify re-read every event")
            await asyncio.sleep(1)
            rows = await eventually(lambda: settled(notify), "nothing left to send")
            assert (len(mail.messages), len(hooks.calls), len(rows)) == counts, "a redelivered event sent nothing"

            await check_audit(audit, env, nats, tmp_path, events)
        finally:
            await notify.stop()
            await audit.stop()


async def run_grade_path_to_revocation(b: Bench) -> None:
    title = await b.start(USCC, auto_list=True)
    await title.wait_state("listed")
    grading = await b.start(
        USCC, Designation.ANNUAL_GRADING, first=facts("g-1", level=2, total="62.0", call=None, holds_title=True)
    )
    await grading.wait_state("grade_path")
    await b.skip(3 * 366 + 2)
    await title.wait_state("revoked")


def check_each_reminder_once_on_time(
    deadline_events: list[dict[str, Any]], rows: list[DeliveryRow], mail: Mailbox, hooks: WebhookSink
) -> None:
    expected_recipient = {"enterprise": USCC, "district": DISTRICT, "bureau": "bureau"}
    channels_of = {USCC: {"inbox", "email", "webhook"}, DISTRICT: {"inbox", "email"}, "bureau": {"inbox"}}
    address = {USCC: "energy@example.com", DISTRICT: "daxing@example.com"}
    key_of = {str(r.id): f"{r.source_event}/{r.recipient}/{r.channel}" for r in rows}
    sent_mail = Counter(key_of[m["X-Greenfab-Delivery"]] for m in mail.messages)
    sent_hooks = Counter(c["delivery"] for c in hooks.calls)
    assert all(c["signed"] for c in hooks.calls), "every webhook call carries a valid signature"
    assert all(count == 1 for count in [*sent_mail.values(), *sent_hooks.values()]), "nothing sent twice"
    for e in deadline_events:
        due = date.fromisoformat(e["due_on"])
        fired = local_day(e["occurred_at"])
        on_time = {"upcoming": due - timedelta(days=e["offset_days"]), "due": due, "missed": due + timedelta(days=1)}
        assert fired == on_time[e["kind"]], f"{e['id']} fired {fired}, should on {on_time[e['kind']]}"
        recipient = expected_recipient[e["owner"]]
        mine = [r for r in rows if r.source_event == e["id"]]
        assert {(r.recipient, r.channel) for r in mine} == {(recipient, c) for c in channels_of[recipient]}, e["id"]
        assert all(r.status == "sent" and r.attempts == 1 for r in mine), [(r.channel, r.last_error) for r in mine]
        for channel in channels_of[recipient] - {"inbox"}:
            key = f"{e['id']}/{recipient}/{channel}"
            assert (sent_mail if channel == "email" else sent_hooks)[key] == 1, key
        if "email" in channels_of[recipient]:
            key = f"{e['id']}/{recipient}/email"
            message = next(m for m in mail.messages if key_of[m["X-Greenfab-Delivery"]] == key)
            assert message["To"] == address[recipient]
            body = message.get_payload(decode=True).decode()  # type: ignore[union-attr]
            assert e["deadline_zh"] in body and e["clause"] in body and e["due_on"] in body and "办理入口" in body


async def check_audit(
    audit: AuditService, env: WorkflowEnvironment, nats: Nats, tmp_path: Path, events: list[dict[str, Any]]
) -> None:
    await eventually(lambda: consumers_caught_up(nats, AUDIT_FEEDS), "audit read every event")
    v = await verdict(audit.db)
    assert v.intact and v.records >= len(events)
    results = await reconcile_unit(audit.db, env.client, USCC)
    assert {r.workflow_id for r in results} == {
        f"unit-{USCC}-{d.value}" for d in (Designation.MUNICIPAL_GREEN_FACTORY, Designation.ANNUAL_GRADING)
    }
    assert all(r.agrees and r.in_both > 0 for r in results), [r.model_dump() for r in results if not r.agrees]

    # Redelivered events add nothing to the chain.
    await audit.stop()
    await delete_consumers(nats, AUDIT_FEEDS)
    again = await started_audit(nats, tmp_path)
    try:
        await eventually(lambda: consumers_caught_up(nats, AUDIT_FEEDS), "audit re-read every event")
        v2 = await verdict(again.db)
        assert (v2.records, v2.head_hash, v2.intact) == (v.records, v.head_hash, True)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=again.app), base_url="http://audit") as c:
            auth = {"authorization": f"Bearer {token('enterprise', USCC)}"}
            timeline = (await c.get(f"/v1/units/{USCC}/history", headers=auth)).json()["items"]
            assert any(r["kind"] == "unit.changed" and r["payload"]["state"] == "revoked" for r in timeline)
            csv_text = (await c.get(f"/v1/units/{USCC}/history?format=csv", headers=auth)).text
            assert csv_text.splitlines()[0].startswith("seq,") and len(csv_text.splitlines()) >= len(timeline) + 1
            other = {"authorization": f"Bearer {token('enterprise', '91110108551385082Q')}"}
            assert (await c.get(f"/v1/units/{USCC}/history", headers=other)).status_code == 404
    finally:
        await again.stop()
    db_path = tmp_path / "audit.db"
    cli = [sys.executable, "-m", "greenfab_cli", "audit", "verify", "--database-url", f"sqlite+aiosqlite:///{db_path}"]
    assert (await asyncio.to_thread(subprocess.run, cli, capture_output=True, text=True)).returncode == 0
    await tamper(db_path, "UPDATE audit_log SET reason = '已篡改' WHERE seq = 5")
    out = await asyncio.to_thread(subprocess.run, cli, capture_output=True, text=True)
    assert out.returncode == 1 and "EDITED" in out.stdout and "record 5 " in out.stdout, out.stdout


async def tamper(db_path: Path, sql: str) -> None:
    from greenfab.db import make_engine

    engine = make_engine(f"sqlite+aiosqlite:///{db_path}")
    async with engine.begin() as conn:
        await conn.execute(text(sql))
    await engine.dispose()


async def test_an_unreachable_smtp_server_loses_nothing_and_blocks_no_one(
    nats: Nats, tmp_path: Path, database_url: str
) -> None:
    port = free_port()  # nothing listens here yet
    with webhook_server() as hooks:
        settings = notify_settings(nats, tmp_path, port, max_attempts=3, retry_base_s=0.1, database_url=database_url)
        notify = await started_notify(settings)
        try:
            _, secret = await notify_handlers.choose(
                notify.db, "enterprise", USCC, ["email"], "energy@example.com", None
            )
            _, secret = await notify_handlers.choose(
                notify.db, "district", DISTRICT, ["webhook"], None, hooks.url("/hooks/daxing")
            )
            hooks.secrets["/hooks/daxing"] = secret or ""
            from greenfab.messaging import publish

            for owner, district, n in (("enterprise", DISTRICT, 1), ("district", DISTRICT, 2), ("district", "", 3)):
                await publish(notify.broker, subjects.deadline_subject("due"), deadline_event(owner, district, n))

            async def dead_and_delivered() -> bool:
                rows = (await notify_handlers.deliveries(notify.db, None, None, None, None, PageAsk(100))).items
                return {(r.channel, r.status) for r in rows} == {
                    ("email", "dead"),
                    ("webhook", "sent"),
                    ("inbox", "dead"),
                }

            await eventually(dead_and_delivered, "email dead after its tries, webhook sent, unknown recipient dead")
            assert len(hooks.calls) == 1 and hooks.calls[0]["signed"]
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=notify.app), base_url="http://n") as c:
                staff = {"authorization": f"Bearer {token('bureau', None)}"}
                dead = (await c.get("/v1/deliveries?status=dead", headers=staff)).json()["items"]
                email = next(d for d in dead if d["channel"] == "email")
                assert email["attempts"] == 3 and "SMTP" in email["last_error"]
                unknown = next(d for d in dead if d["channel"] == "inbox")
                assert "unknown recipient" in unknown["last_error"]
                enterprise = {"authorization": f"Bearer {token('enterprise', USCC)}"}
                assert (await c.post(f"/v1/deliveries/{email['id']}/retry", headers=enterprise)).status_code == 403
                with smtp_server(port) as mail:
                    assert (await c.post(f"/v1/deliveries/{email['id']}/retry", headers=staff)).status_code == 200

                    async def mailed() -> bool:
                        return len(mail.messages) == 1

                    await eventually(mailed, "the retried e-mail arrives")
                    assert mail.messages[0]["To"] == "energy@example.com"
                bad = await c.put("/v1/channels", headers=enterprise, json={"channels": ["email"]})
                assert bad.status_code == 422 and "email" in bad.text
        finally:
            await notify.stop()


def deadline_event(owner: str, district: str, n: int) -> DeadlineEvent:
    return DeadlineEvent(
        id=f"test-deadline-{n}",
        correlation_id="corr",
        actor=Actor(role="system", subject="test"),
        kind="due",
        workflow_id=f"unit-{USCC}-municipal-green-factory",
        uscc=USCC,
        enterprise_name="北京示例新能源科技有限公司",
        district=district,
        designation=Designation.MUNICIPAL_GREEN_FACTORY,
        deadline="rename",
        deadline_zh="更名报告",
        owner=owner,
        due_on=date(2026, 12, 1),
        due_at="2026-12-01T16:00:00Z",
        clause="003 第十四条",
        consequence_zh="转市局跟进",
    )
