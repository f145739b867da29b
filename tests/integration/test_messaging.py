"""JetStream plumbing against a real nats-server: de-duplication, retries, dead letters."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime

import nats as nats_py
from faststream.nats import NatsBroker

from contracts import subjects
from contracts.envelope import Actor
from contracts.messages import DeadlineEvent
from contracts.schemes import Designation
from greenfab.messaging import durable_subscription, ensure_streams, make_broker, publish
from tests.support.servers import Nats

ACTOR = Actor(role="system", subject="test")


def due(message_id: str) -> DeadlineEvent:
    return DeadlineEvent(
        id=message_id,
        correlation_id="c1",
        actor=ACTOR,
        kind="due",
        workflow_id="unit-x",
        uscc="91110115MA04C2UX1E",
        district="大兴区",
        designation=Designation.MUNICIPAL_GREEN_FACTORY,
        deadline="district-recommendation",
        deadline_zh="区工业主管部门推荐",
        owner="district",
        due_on=date(2025, 11, 6),
        due_at=datetime(2025, 11, 6, 16, tzinfo=UTC),
        clause="003 第八条",
        consequence_zh="逾期未推荐的，任务升级至市经济和信息化局",
    )


async def started_broker(nats: Nats, max_deliveries: int = 5) -> NatsBroker:
    broker = make_broker([nats.url], "test", max_deliveries)
    await broker.connect()
    await ensure_streams(broker)
    return broker


async def count(nats: Nats, stream: str) -> int:
    nc = await nats_py.connect(nats.url)
    try:
        info = await nc.jetstream().stream_info(stream)
        return int(info.state.messages)
    finally:
        await nc.close()


async def test_ensure_streams_is_idempotent(nats: Nats) -> None:
    broker = await started_broker(nats)
    await ensure_streams(broker)
    await broker.stop()
    for spec in subjects.ALL_STREAMS:
        assert await count(nats, spec.name) == 0


async def test_a_republished_message_id_is_stored_once(nats: Nats) -> None:
    broker = await started_broker(nats)
    try:
        await publish(broker, subjects.deadline_subject("due"), due("same-id"))
        await publish(broker, subjects.deadline_subject("due"), due("same-id"))
        await publish(broker, subjects.deadline_subject("due"), due("other-id"))
        assert await count(nats, subjects.LIFECYCLE.name) == 2
    finally:
        await broker.stop()


async def test_a_failing_handler_is_retried_then_dead_lettered_with_its_error(nats: Nats) -> None:
    broker = make_broker([nats.url], "test", max_deliveries=3)
    tries: list[int] = []

    @broker.subscriber(**durable_subscription(subjects.deadline_subject("due"), "test-failing", 3))
    async def always_fails(event: DeadlineEvent) -> None:
        tries.append(1)
        raise RuntimeError("district mailbox unreachable")

    await broker.connect()
    await ensure_streams(broker)
    await broker.start()
    try:
        await publish(broker, subjects.deadline_subject("due"), due("poison-1"))
        nc = await nats_py.connect(nats.url)
        sub = await nc.jetstream().subscribe(subjects.dead_letter_subject(subjects.deadline_subject("due")))
        msg = await sub.next_msg(timeout=20)
        record = json.loads(msg.data)
        await nc.close()
    finally:
        await broker.stop()
    assert len(tries) == 3
    assert record["deliveries"] == 3
    assert "district mailbox unreachable" in record["error"]
    assert json.loads(record["data"])["id"] == "poison-1"


async def test_a_message_that_does_not_fit_its_schema_is_dead_lettered_not_lost(nats: Nats) -> None:
    broker = make_broker([nats.url], "test", max_deliveries=1)
    handled: list[DeadlineEvent] = []

    @broker.subscriber(**durable_subscription(subjects.deadline_subject("due"), "test-schema", 1))
    async def handler(event: DeadlineEvent) -> None:
        handled.append(event)

    await broker.connect()
    await ensure_streams(broker)
    await broker.start()
    try:
        js = broker.connection.jetstream()
        await js.publish(subjects.deadline_subject("due"), b'{"id": "broken"}', headers={"Nats-Msg-Id": "broken"})
        nc = await nats_py.connect(nats.url)
        sub = await nc.jetstream().subscribe(subjects.dead_letter_subject(subjects.deadline_subject("due")))
        record = json.loads((await sub.next_msg(timeout=20)).data)
        await nc.close()
    finally:
        await broker.stop()
    assert handled == []
    assert "ValidationError" in record["error"] or "validation" in record["error"].lower()


async def test_a_handler_that_fails_once_succeeds_on_retry(nats: Nats) -> None:
    broker = make_broker([nats.url], "test", max_deliveries=5)
    seen: list[str] = []
    done = asyncio.Event()

    @broker.subscriber(**durable_subscription(subjects.deadline_subject("due"), "test-flaky", 5))
    async def flaky(event: DeadlineEvent) -> None:
        seen.append(event.id)
        if len(seen) == 1:
            raise ConnectionError("transient")
        done.set()

    await broker.connect()
    await ensure_streams(broker)
    await broker.start()
    try:
        await publish(broker, subjects.deadline_subject("due"), due("flaky-1"))
        await asyncio.wait_for(done.wait(), 20)
    finally:
        await broker.stop()
    assert seen == ["flaky-1", "flaky-1"]
    assert await count(nats, subjects.DEAD_LETTERS.name) == 0


async def test_the_owner_marks_a_dead_lettered_message_failed_or_the_letter_says_why_it_could_not(nats: Nats) -> None:
    from contracts.messages import DeadLettered
    from greenfab.messaging import DeadLetterHooks

    hooks: DeadLetterHooks = {}
    broker = make_broker([nats.url], "test-owner", max_deliveries=1, hooks=hooks)
    marked: list[DeadLettered] = []

    @broker.subscriber(**durable_subscription(subjects.deadline_subject("due"), "test-marked", 1))
    async def fails(event: DeadlineEvent) -> None:
        raise RuntimeError("no district mailbox")

    @broker.subscriber(**durable_subscription(subjects.deadline_subject("missed"), "test-unmarkable", 1))
    async def fails_too(event: DeadlineEvent) -> None:
        raise RuntimeError("no district mailbox")

    async def mark(letter: DeadLettered) -> str:
        marked.append(letter)
        return f"reminder {letter.uscc}"

    async def cannot_mark(letter: DeadLettered) -> str:
        raise ConnectionError("database away")

    hooks["test-marked"] = mark
    hooks["test-unmarkable"] = cannot_mark
    await broker.connect()
    await ensure_streams(broker)
    await broker.start()
    try:
        await publish(broker, subjects.deadline_subject("due"), due("marked-1"))
        await publish(broker, subjects.deadline_subject("missed"), due("unmarkable-1"))
        nc = await nats_py.connect(nats.url)
        sub = await nc.jetstream().subscribe(subjects.DEAD_LETTERS_ALL)
        letters = [json.loads((await sub.next_msg(timeout=30)).data) for _ in range(2)]
        await nc.close()
    finally:
        await broker.stop()
    by_subject = {letter["subject"]: letter for letter in letters}
    ok, failed = by_subject[subjects.deadline_subject("due")], by_subject[subjects.deadline_subject("missed")]
    assert [m.stream_seq for m in marked] == [ok["stream_seq"]]
    assert ok["marked_failed"] == "reminder 91110115MA04C2UX1E" and ok["service"] == "test-owner"
    assert failed["marked_failed"] is None and "database away" in failed["mark_error"]
    assert ok["uscc"] == "91110115MA04C2UX1E" and ok["district"] == "大兴区"
