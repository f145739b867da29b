"""Intake's composition root: builds the database, broker, relay and app; nothing at import."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from fastapi import FastAPI
from faststream.nats import NatsBroker

from contracts import subjects
from contracts.messages import NoticeReceived, SubmissionReceived
from greenfab.db import Database, make_engine
from greenfab.health import add_health_route
from greenfab.inputs import load_catalogue
from greenfab.messaging import DeadLetterHooks, connect_service, service_broker, stream_ref
from greenfab.migrations import migrate
from greenfab.service import bounded, stop_broker
from services.intake import api, consumers, notices
from services.intake.desk import Desk
from services.intake.evidence import EvidenceStore
from services.intake.indicators import Indicators
from services.intake.migrations import MIGRATIONS
from services.intake.outbox import OutboxRelay
from services.intake.settings import IntakeSettings
from services.intake.submissions import Submissions


class IntakeService:
    name = "intake"

    def __init__(self, settings: IntakeSettings) -> None:
        self.settings = settings
        self.db = Database(make_engine(settings.database_url, settings.database_schema))
        dead_letters: DeadLetterHooks = {}
        self.broker: NatsBroker = service_broker(settings, "greenfab-intake", dead_letters)
        self.broker.publisher(
            subjects.SUBMISSION_RECEIVED,
            stream=stream_ref(subjects.SUBMISSION_RECEIVED),
            schema=SubmissionReceived,
            title="intake/submission.received",
            description="Published by the outbox relay once a declaration is committed.",
        )
        self.broker.publisher(
            subjects.NOTICE_RECEIVED,
            stream=stream_ref(subjects.NOTICE_RECEIVED),
            schema=NoticeReceived,
            title="intake/notice.received",
            description="A rename, major-adjustment notice, objection or district report, once committed.",
        )
        consumers.register(self.broker, self.db, settings.max_deliveries, dead_letters)
        self.relay = OutboxRelay(self.db, self.broker, settings.outbox_poll_s)
        self._relay_task: asyncio.Task[None] | None = None
        self.submissions = Submissions(self.db, self.relay.wake, load_catalogue(settings.rules_dir))
        consumers.register_requests(self.broker, self.db, self.submissions, settings.auth_secret)
        desk = Desk(
            self.db, self.submissions, EvidenceStore(Path(settings.evidence_dir)), notices.nats_lookup(self.broker),
            Indicators(settings.rules_dir),
        )  # fmt: skip
        self.app: FastAPI = api.build_app(
            desk, settings.auth_secret, settings.max_body_bytes, settings.max_evidence_bytes, settings.body_timeout_s
        )
        add_health_route(self.app, self.name, self.broker, self.db)

    async def start(self) -> None:
        await migrate(self.db.engine, MIGRATIONS, allowed=self.settings.migrate, schema=self.settings.database_schema)
        await connect_service(self.broker, self.settings)
        await self.broker.start()
        self._relay_task = asyncio.create_task(self.relay.run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._relay_task is not None:
            self._relay_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._relay_task
        await stop_broker(self.broker)
        await bounded("closing the database", self.db.close())


async def build() -> tuple[IntakeService, str, int]:
    settings = IntakeSettings()
    return IntakeService(settings), settings.http_host, settings.http_port
