"""A try that failed because NATS was away is not the message's fault: it never leads to the dead letters."""

from __future__ import annotations

import asyncio
from unittest import mock

from nats.errors import ConnectionClosedError, NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from nats.js.errors import BadRequestError, NoStreamResponseError

from contracts import subjects
from contracts.messages import DeadlineEvent
from greenfab import messaging
from greenfab.messaging import durable_subscription, ensure_streams, make_broker, publish
from tests.integration.test_messaging import count, due
from tests.support.servers import Nats


async def test_tries_lost_to_an_unavailable_nats_do_not_count_towards_dead_letters(nats: Nats) -> None:
    broker = make_broker([nats.url], "test", max_deliveries=2)
    seen: list[str] = []
    done = asyncio.Event()
    outage = [NoStreamResponseError(), NoRespondersError(), NatsTimeout()]

    @broker.subscriber(**durable_subscription(subjects.deadline_subject("due"), "test-outage", 2))
    async def publishes_onwards(event: DeadlineEvent) -> None:
        seen.append(event.id)
        if len(seen) <= 2 * len(outage):  # six tries fail as a stream electing its leader makes them fail
            raise outage[len(seen) % len(outage)]
        done.set()

    await broker.connect()
    await ensure_streams(broker)
    await broker.start()
    try:
        with mock.patch.object(messaging, "backoff", lambda attempt: 0.05):
            await publish(broker, subjects.deadline_subject("due"), due("outage-1"))
            await asyncio.wait_for(done.wait(), 60)
    finally:
        await broker.stop()
    assert seen == ["outage-1"] * 7, "retried past max_deliveries=2 and handled"
    assert await count(nats, subjects.DEAD_LETTERS.name) == 0


def test_only_nats_being_away_counts_as_unavailable() -> None:
    assert messaging.unavailable(NoStreamResponseError())
    assert messaging.unavailable(ConnectionClosedError())
    assert not messaging.unavailable(ValueError("bad data"))
    assert not messaging.unavailable(BadRequestError())
