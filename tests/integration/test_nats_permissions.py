"""Each service's own NATS user may publish and subscribe only on its subjects (issue 12, item 15).

Run against a real nats-server with the configuration `greenfab up` generates; the permissions
come from contracts.nats_roles, which is checked against what each service registers on its broker.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import tempfile
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import nats as nats_py
import pytest

from contracts import subjects
from contracts.nats_roles import ROLES
from greenfab import nats_config
from greenfab.messaging import ensure_streams_with
from greenfab.nats_config import Node
from greenfab_cli import specs
from greenfab_cli.stack import tool_path
from tests.support.servers import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class SecuredNats:
    url: str
    passwords: dict[str, str]

    async def connect(self, user: str, errors: list[str] | None = None) -> Any:
        async def collect(exc: Exception) -> None:
            if errors is not None:
                errors.append(str(exc))

        return await nats_py.connect(
            self.url,
            user=user,
            password=self.passwords[user],
            inbox_prefix=nats_config.inbox_prefix(user),
            error_cb=collect,
            allow_reconnect=False,
        )


@pytest.fixture
def secured_nats() -> Iterator[SecuredNats]:
    with tempfile.TemporaryDirectory(prefix="gf-nats-auth-") as tmp:
        folder = Path(tmp)
        node = Node("nats", "127.0.0.1", free_port(), free_port(), folder / "store")
        passwords = nats_config.load_or_make_passwords(folder)
        conf = folder / "nats.conf"
        conf.write_text(nats_config.render(node, [], passwords))
        proc = subprocess.Popen([tool_path("nats-server"), "-c", str(conf)], stderr=subprocess.DEVNULL)
        try:

            def ready() -> bool:
                with urllib.request.urlopen(f"http://127.0.0.1:{node.monitor_port}/healthz", timeout=1) as r:
                    return bool(r.status == 200)

            wait_until(ready, 20, "nats-server")
            yield SecuredNats(f"nats://127.0.0.1:{node.port}", passwords)
        finally:
            proc.terminate()
            proc.wait(15)


@pytest.fixture
async def streams(secured_nats: SecuredNats) -> AsyncIterator[Any]:
    """The streams, made as the stack makes them (admin); yields an admin JetStream context to count messages."""
    nc = await secured_nats.connect(nats_config.ADMIN)
    js = nc.jetstream()
    await ensure_streams_with(js, replicas=1)
    yield js
    await nc.close()


async def attempt_publish(secured_nats: SecuredNats, user: str, subject: str) -> list[str]:
    """Publish to JetStream as ``user``; the errors the server sent back (empty: it was stored)."""
    errors: list[str] = []
    nc = await secured_nats.connect(user, errors)
    try:
        await nc.jetstream().publish(subject, b"{}", timeout=1)
    except nats_py.errors.TimeoutError:
        pass  # refused messages are never acknowledged
    finally:
        await nc.close()
    return errors


async def messages(js: Any, stream: str) -> int:
    return int((await js.stream_info(stream)).state.messages)


async def test_intake_cannot_publish_evaluation_completed(secured_nats: SecuredNats, streams: Any) -> None:
    errors = await attempt_publish(secured_nats, "intake", subjects.EVALUATION_COMPLETED)
    assert any('permissions violation for publish to "greenfab.evaluation.completed"' in e for e in errors), errors
    assert await messages(streams, subjects.EVALUATIONS.name) == 0
    # and what it owns goes through (so the refusal above is the permission, not a broken connection)
    assert await attempt_publish(secured_nats, "intake", subjects.SUBMISSION_RECEIVED) == []
    assert await messages(streams, subjects.SUBMISSIONS.name) == 1


async def test_notify_cannot_publish_submission_received(secured_nats: SecuredNats, streams: Any) -> None:
    errors = await attempt_publish(secured_nats, "notify", subjects.SUBMISSION_RECEIVED)
    assert any('permissions violation for publish to "greenfab.submission.received"' in e for e in errors), errors
    assert await messages(streams, subjects.SUBMISSIONS.name) == 0
    assert await attempt_publish(secured_nats, "scoring", subjects.EVALUATION_COMPLETED) == []


async def test_a_service_can_neither_read_another_s_replies_nor_drop_a_stream(
    secured_nats: SecuredNats, streams: Any
) -> None:
    errors: list[str] = []
    nc = await secured_nats.connect("notify", errors)
    try:
        await nc.subscribe("_INBOX_intake.>")
        await nc.subscribe(subjects.SUBMISSION_RECEIVED)
        with pytest.raises(nats_py.errors.TimeoutError):
            await nc.jetstream(timeout=1).delete_stream(subjects.LIFECYCLE.name)
        await nc.flush()
    finally:
        await nc.close()
    assert any('subscription to "_inbox_intake.>"' in e for e in errors), errors
    assert any(f'subscription to "{subjects.SUBMISSION_RECEIVED}"' in e for e in errors), errors
    assert await messages(streams, subjects.LIFECYCLE.name) == 0  # still there to be asked


async def test_a_wrong_password_is_refused(secured_nats: SecuredNats) -> None:
    with pytest.raises(nats_py.errors.Error, match=r"[Aa]uthorization"):
        await nats_py.connect(secured_nats.url, user="intake", password="changeme", allow_reconnect=False)


def test_the_roles_name_exactly_what_each_service_registers_on_its_broker() -> None:
    """A consumer or publisher added without its line in contracts/nats_roles.py fails here, not in production."""
    built = specs._services()
    try:
        for service in built:
            check_role(service)
    finally:
        for service in built:
            if hasattr(service, "pool"):
                service.pool.close()


def check_role(service: Any) -> None:
    role = ROLES[service.name]
    consumed, served, published = set(), set(), set()
    for sub in service.broker.subscribers:
        options = cast(Any, sub).extra_options
        subject = cast(Any, sub).subject.broker_address
        if "stream" in options:
            consumed.add((subject, options["durable"]))
        else:
            served.add(subject)
    for pub in service.broker.publishers:
        published.add(cast(Any, pub).subject.broker_address)
    assert consumed == set(role.consumes), service.name
    assert served == set(role.serves), service.name
    assert published == set(role.publishes), service.name


async def test_intake_runs_as_its_own_user_and_answers_a_front_end_over_nats(
    secured_nats: SecuredNats, streams: Any, tmp_path: Path
) -> None:
    """Start-up (streams, its durable consumer) and request/reply work within intake's permissions."""
    from services.intake.bootstrap import IntakeService
    from services.intake.settings import IntakeSettings
    from tests.conftest import SECRET, token

    settings = IntakeSettings(
        nats_url=secured_nats.url, nats_user="intake", nats_password=secured_nats.passwords["intake"],
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'intake.db'}", auth_secret=SECRET, http_port=0,
        outbox_poll_s=0.1, evidence_dir=str(tmp_path / "evidence"),
    )  # fmt: skip
    service = IntakeService(settings)
    await service.start()
    errors: list[str] = []
    try:
        nc = await secured_nats.connect("frontend", errors)
        declaration = json.loads((ROOT / "examples" / "grading-declaration.json").read_text())
        code = declaration["uscc"]
        request = {"token": token("enterprise", code), "declaration": declaration}
        reply = json.loads((await nc.request(subjects.INTAKE_DECLARE, json.dumps(request).encode(), timeout=20)).data)
        await nc.close()
        assert reply["status"] == 202, reply
        for _ in range(200):  # the outbox relay publishes it as intake's user
            if await messages(streams, subjects.SUBMISSIONS.name) == 1:
                break
            await asyncio.sleep(0.1)
        assert await messages(streams, subjects.SUBMISSIONS.name) == 1
    finally:
        await service.stop()
    assert errors == []
