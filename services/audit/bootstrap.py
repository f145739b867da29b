"""Audit's composition root."""

from __future__ import annotations

from greenfab.db import Database, make_engine
from greenfab.health import add_health_route
from greenfab.messaging import connect_service, service_broker
from greenfab.migrations import migrate
from greenfab.service import bounded, stop_broker
from services.audit import api, consumers
from services.audit.handlers import Chain
from services.audit.migrations import MIGRATIONS
from services.audit.settings import AuditSettings


class AuditService:
    name = "audit"

    def __init__(self, settings: AuditSettings) -> None:
        self.settings = settings
        self.db = Database(make_engine(settings.database_url, settings.database_schema))
        self.broker = service_broker(settings, "greenfab-audit")
        consumers.register(self.broker, Chain(self.db), settings.max_deliveries)
        self.app = api.build_app(self.db, settings.auth_secret)
        add_health_route(self.app, self.name, self.broker, self.db)

    async def start(self) -> None:
        await migrate(self.db.engine, MIGRATIONS, allowed=self.settings.migrate, schema=self.settings.database_schema)
        await connect_service(self.broker, self.settings)
        await self.broker.start()

    async def stop(self) -> None:
        await stop_broker(self.broker)
        await bounded("closing the database", self.db.close())


async def build() -> tuple[AuditService, str, int]:
    settings = AuditSettings()
    return AuditService(settings), settings.http_host, settings.http_port
