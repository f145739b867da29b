"""NATS JetStream plumbing every service shares: broker, streams, reliable publish and consume.

At-least-once delivery: messages are acked only after their handler succeeded; a failure is
retried with backoff, and after ``max_deliveries`` tries the message goes to a dead-letter
subject with its error. Before that, the owner of what the message was about is called (a
``DeadLetterHook`` registered for the consumer) to set it to a visible failed state, and the
dead letter itself (contracts.messages.DeadLettered) is an event staff are notified of: no
message fails unseen. Publishing sets ``Nats-Msg-Id`` so JetStream drops a duplicate published
within the stream's duplicate window.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import traceback
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, cast

import nats
import nats.js.errors
from faststream import AckPolicy
from faststream._internal.middlewares import BaseMiddleware
from faststream.message import StreamMessage
from faststream.nats import JStream, NatsBroker, NatsMessage, PullSub
from faststream.security import SASLPlaintext
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError
from pydantic import BaseModel

from contracts import subjects
from contracts.envelope import Actor, Envelope, new_id
from contracts.messages import DeadLettered
from contracts.nats_roles import stream_of as stream_of
from greenfab.settings import NatsCredentials, ServiceSettings

log = logging.getLogger(__name__)

DUPLICATE_WINDOW = timedelta(hours=1)
# How long a delivered message may stay unacked before JetStream redelivers it. Handlers here take
# milliseconds; after a crash, this is how long the messages it held wait before another try.
ACK_WAIT_S = 10


# Tries of a dead-letter hook before the dead letter goes out saying the owner could not mark it.
HOOK_TRIES = 3

DeadLetterHook = Callable[[DeadLettered], Awaitable[str | None]]
"""Marks what a dead-lettered message was about as failed; returns what it marked (None: nothing to mark)."""
DeadLetterHooks = dict[str, DeadLetterHook]
"""Hooks by durable consumer name: a service fills it as it registers its subscribers."""


class StartupError(RuntimeError):
    """A dependency could not be reached at start-up; the message names it."""


def make_broker(
    servers: list[str],
    name: str,
    max_deliveries: int,
    hooks: DeadLetterHooks | None = None,
    credentials: NatsCredentials | None = None,
) -> NatsBroker:
    """A broker for one service, as its own NATS user when ``credentials`` are given; nothing connects until
    ``start``. ``hooks`` may be filled after this call."""
    options: dict[str, Any] = {}
    if credentials is not None:
        options = {
            "security": SASLPlaintext(username=credentials.user, password=credentials.password),
            # Replies come back on the user's own prefix: no service may read another's replies.
            "inbox_prefix": credentials.inbox_prefix,
        }
    return NatsBroker(
        servers,
        name=name,
        middlewares=(dead_letter_middleware(max_deliveries, name, hooks if hooks is not None else {}),),
        max_reconnect_attempts=-1,
        connect_timeout=2,
        # faststream's own logger writes ANSI colours whatever the output is; log through ours instead.
        logger=logging.getLogger(f"greenfab.nats.{name}"),
        **options,
    )


def service_broker(settings: ServiceSettings, name: str, hooks: DeadLetterHooks | None = None) -> NatsBroker:
    """The broker of a service, from its settings (servers, its NATS user, tries before dead-lettering);
    ``hooks`` mark what a dead-lettered message was about as failed (see make_broker)."""
    return make_broker(settings.nats_servers, name, settings.max_deliveries, hooks, settings.nats_credentials)


async def connect_service(broker: NatsBroker, settings: ServiceSettings) -> None:
    """Connect a service's broker (or raise StartupError naming NATS) and make sure the streams exist."""
    if settings.nats_credentials is not None:
        _pull_inboxes(broker, settings.nats_credentials.inbox_prefix)
    await connect_or_fail(broker, settings.nats_servers, settings.startup_timeout_s, settings.nats_credentials)
    await ensure_streams(broker, settings.nats_stream_replicas)


async def connect_or_fail(
    broker: NatsBroker, servers: list[str], timeout: float, credentials: NatsCredentials | None = None
) -> None:
    """Connect, or raise StartupError naming NATS if it does not answer (or refuses the user) within ``timeout``."""
    try:
        await asyncio.wait_for(_probe(servers, credentials), timeout)
    except (TimeoutError, OSError, nats.errors.NoServersError) as exc:
        raise StartupError(f"cannot reach NATS at {', '.join(servers)}: {exc or type(exc).__name__}") from exc
    await broker.connect()


async def _probe(servers: list[str], credentials: NatsCredentials | None) -> None:
    user = credentials.user if credentials else None
    # A plain connection with no reconnects fails fast; the broker's own keeps retrying forever.
    while True:
        try:
            nc = await nats.connect(
                servers,
                allow_reconnect=False,
                connect_timeout=1,
                max_reconnect_attempts=0,
                user=user,
                password=credentials.password if credentials else None,
                error_cb=_quiet,
            )
        except nats.errors.Error as exc:
            if "authorization" in str(exc).lower():
                raise StartupError(f"NATS at {', '.join(servers)} refused user {user or '(none)'}: {exc}") from exc
            await asyncio.sleep(0.2)
            continue
        except Exception:  # noqa: BLE001 - any other failure means "not yet"
            await asyncio.sleep(0.2)
            continue
        await nc.close()
        return


async def _quiet(exc: Exception) -> None:
    log.debug("NATS probe: %s", exc)


def _pull_inboxes(broker: NatsBroker, prefix: str) -> None:
    # faststream hands each pull consumer nats-py's default `_INBOX.` prefix unless told otherwise, and a
    # service's NATS user may subscribe only to its own prefix.
    for subscriber in broker.subscribers:
        options = cast(Any, subscriber).extra_options
        if "inbox_prefix" in options:
            options["inbox_prefix"] = f"{prefix}.".encode()


async def ensure_streams(broker: NatsBroker, replicas: int = 1) -> None:
    """Create every missing stream; update those this service publishes into.

    A service may update only its own streams (its NATS user may do no more); the stack's admin
    user creates and updates them all before any service starts (``ensure_streams_with``).
    """
    owned = {stream_of(cast(Any, p).subject.broker_address) for p in broker.publishers}
    await ensure_streams_with(broker.connection.jetstream(), replicas, owned)


async def ensure_streams_with(js: JetStreamContext, replicas: int, update: set[str] | None = None) -> None:
    """Create each missing stream with ``replicas``; bring those in ``update`` (None: all) to the configuration."""
    for spec in subjects.ALL_STREAMS:
        config = StreamConfig(
            name=spec.name,
            subjects=list(spec.subjects),
            description=spec.description,
            storage=StorageType.FILE,
            duplicate_window=DUPLICATE_WINDOW.total_seconds(),
            num_replicas=replicas,
        )
        try:
            info = await js.stream_info(spec.name)
        except NotFoundError:
            try:
                await js.add_stream(config)
                continue
            except BadRequestError:
                info = await js.stream_info(spec.name)  # another service created it between our look and our add
        current = info.config
        if _same(current, config):
            continue
        if update is None or spec.name in update:
            await js.update_stream(config)
        else:
            log.warning("stream %s differs from the settings (replicas %s, wanted %s); its owner updates it",
                        spec.name, current.num_replicas, replicas)  # fmt: skip


def _same(current: StreamConfig, wanted: StreamConfig) -> bool:
    return (
        sorted(current.subjects or []) == sorted(wanted.subjects or [])
        and (current.num_replicas or 1) == wanted.num_replicas
        and current.description == wanted.description
        and current.duplicate_window == wanted.duplicate_window
        and current.storage == wanted.storage
    )


def stream_ref(subject: str) -> JStream:
    """The stream of ``subject`` as FastStream wants it; streams are declared by ensure_streams, not here."""
    return JStream(stream_of(subject), declare=False)


def durable_subscription(subject: str, durable: str, max_deliveries: int) -> dict[str, Any]:
    """Subscriber options for a durable JetStream pull consumer whose acks this module manages."""
    return {
        "subject": subject,
        "stream": stream_ref(subject),
        "durable": durable,
        "pull_sub": PullSub(batch_size=16, timeout=1.0),
        "ack_policy": AckPolicy.MANUAL,
        # The server redelivers without limit: the middleware decides when a message is dead-lettered, and
        # tries that failed only because NATS was away do not count.
        "config": ConsumerConfig(max_deliver=-1, ack_wait=ACK_WAIT_S),
    }


async def publish(broker: NatsBroker, subject: str, message: Envelope) -> None:
    """Publish ``message`` to JetStream and wait for the server's ack; de-duplicated by its id."""
    await broker.publish(
        message.model_dump(mode="json"),
        subject,
        headers={"Nats-Msg-Id": message.id},
        correlation_id=message.correlation_id,
        stream=stream_of(subject),
        timeout=10,
    )


async def publish_json(broker: NatsBroker, subject: str, body: bytes, message_id: str, correlation_id: str) -> None:
    """As publish(), for a message serialised already: ``body`` (its JSON) is sent as it is."""
    await broker.publish(
        body,
        subject,
        headers={"Nats-Msg-Id": message_id, "content-type": "application/json"},
        correlation_id=correlation_id,
        stream=stream_of(subject),
        timeout=10,
    )


async def request(broker: NatsBroker, subject: str, body: BaseModel, timeout: float = 60) -> dict[str, Any]:
    """Core NATS request/reply with a pydantic body; the reply's JSON object."""
    reply = await broker.request(body.model_dump(mode="json"), subject, timeout=timeout)
    decoded = await reply.decode()
    if not isinstance(decoded, dict):
        raise RuntimeError(f"unexpected reply on {subject}: {decoded!r}")
    return decoded


def _is_jetstream(msg: StreamMessage[Any]) -> bool:
    reply = getattr(msg.raw_message, "reply", "") or ""
    return reply.startswith("$JS.ACK")


def backoff(attempt: int) -> float:
    """Seconds before try ``attempt + 1``: exponential, capped at 30 s."""
    return float(min(30.0, 0.5 * 2 ** max(0, attempt - 1)))


def dead_letter_middleware(max_deliveries: int, service: str, hooks: DeadLetterHooks) -> type[BaseMiddleware]:
    """A consume middleware: ack on success, retry with backoff on failure, dead-letter at the end."""

    class DeadLetter(BaseMiddleware):
        async def consume_scope(self, call_next: Callable[[Any], Awaitable[Any]], msg: StreamMessage[Any]) -> Any:
            if not _is_jetstream(msg):
                return await call_next(msg)
            attempt = msg.raw_message.metadata.num_delivered
            if attempt > max_deliveries + MAX_UNAVAILABLE_TRIES:
                # Delivered this often with no outcome: NATS away for many minutes, or a message that
                # kills the process before any handler returns. Either way staff must see it.
                await _fail(
                    msg, RuntimeError(f"delivered {attempt} times without an outcome"), max_deliveries, service, hooks
                )
                return None
            try:
                result = await call_next(msg)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - every failure is retried or dead-lettered
                if unavailable(exc):
                    await _retry_later(msg, exc, attempt)
                else:
                    await _fail(msg, exc, max_deliveries, service, hooks)
                return None
            await msg.ack()
            return result

    return DeadLetter


# Tries a message may spend waiting for NATS itself (a node lost, a stream electing its leader) before it
# is dead-lettered anyway; with backoff capped at 30 s, about 25 minutes.
MAX_UNAVAILABLE_TRIES = 50

_UNAVAILABLE = (
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.ConnectionDrainingError,
    nats.errors.StaleConnectionError,
    nats.errors.OutboundBufferLimitError,
    nats.errors.NoServersError,
    nats.js.errors.NoStreamResponseError,
    nats.js.errors.ServiceUnavailableError,
    TimeoutError,
    ConnectionError,
)


def unavailable(exc: BaseException) -> bool:
    """True if ``exc`` says NATS (or a connection) is away for now, not that the message cannot be handled."""
    return isinstance(exc, _UNAVAILABLE)


async def _retry_later(msg: StreamMessage[Any], exc: Exception, attempt: int) -> None:
    # Not the message's fault: a NATS node died or a stream is electing its leader. Such tries do not
    # count towards dead-lettering (the consumer redelivers without limit); the message waits and comes back.
    log.warning("handling %s (delivery %d) waits for NATS: %s", msg.raw_message.subject, attempt, exc or type(exc))
    with contextlib.suppress(Exception):  # if even the nak is lost, JetStream redelivers after the ack wait
        await cast(NatsMessage, msg).nack(delay=backoff(attempt))


def _peek(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value[:64] if isinstance(value, str) else None


def dead_letter_record(msg: StreamMessage[Any], exc: Exception, service: str) -> DeadLettered:
    """The dead letter of ``msg``, which failed with ``exc``: everything staff need to see and replay it."""
    raw = msg.raw_message
    meta = raw.metadata
    body = _peek(raw.data)
    return DeadLettered(
        id=f"dlq-{meta.stream}-{meta.sequence.stream}-{meta.consumer}",
        correlation_id=_text(body.get("correlation_id")) or new_id(),
        actor=Actor(role="system", subject=service),
        subject=raw.subject,
        stream=meta.stream,
        stream_seq=meta.sequence.stream,
        consumer=meta.consumer,
        service=service,
        deliveries=meta.num_delivered,
        error=f"{type(exc).__name__}: {exc}"[:2000],
        traceback="".join(traceback.format_exception(exc))[-4000:],
        data=raw.data.decode("utf-8", "replace"),
        uscc=_text(body.get("uscc")),
        district=_text(body.get("district")),
    )


async def _mark_failed(hook: DeadLetterHook, record: DeadLettered) -> DeadLettered:
    """Let the owner mark what the message was about as failed; retried, since the dead letter is the last word."""
    for attempt in range(1, HOOK_TRIES + 1):
        try:
            return record.model_copy(update={"marked_failed": await hook(record)})
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # reported on the dead letter itself
            log.exception("marking %s seq %s failed did not work (try %d)", record.subject, record.stream_seq, attempt)
            if attempt == HOOK_TRIES:
                return record.model_copy(update={"mark_error": f"{type(exc).__name__}: {exc}"[:2000]})
            await asyncio.sleep(backoff(attempt))
    raise AssertionError("unreachable")


async def _fail(
    msg: StreamMessage[Any], exc: Exception, max_deliveries: int, service: str, hooks: DeadLetterHooks
) -> None:
    raw = msg.raw_message
    meta = raw.metadata
    attempt = meta.num_delivered
    log.warning("handling %s (try %d of %d) failed: %s", raw.subject, attempt, max_deliveries, exc)
    if attempt < max_deliveries:
        await cast(NatsMessage, msg).nack(delay=backoff(attempt))
        return
    if raw.subject.startswith(subjects.DEAD_LETTER_PREFIX + "."):
        # A dead letter's own consumer gave up: the letter stays in its stream; another would only loop.
        log.error("handling dead letter %s seq %s failed for good: %s", raw.subject, meta.sequence.stream, exc)
        await msg.reject()
        return
    record = dead_letter_record(msg, exc, service)
    hook = hooks.get(meta.consumer)
    if hook is not None:
        record = await _mark_failed(hook, record)
    js = raw._client.jetstream()  # noqa: SLF001 - the message's own connection
    await js.publish(
        subjects.dead_letter_subject(raw.subject),
        record.model_dump_json().encode(),
        headers={"Nats-Msg-Id": record.id},
        stream=subjects.DEAD_LETTERS.name,
    )
    log.error("dead-lettered %s seq %s after %d tries: %s", raw.subject, meta.sequence.stream, attempt, exc)
    await msg.reject()
