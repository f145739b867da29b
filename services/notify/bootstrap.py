"""Notify's composition root."""

from __future__ import annotations

from greenfab.db import Database, create_tables, make_engine
from greenfab.health import add_health_route
from greenfab.messaging import connect_or_fail, ensure_streams, make_broker
from greenfab.service import bounded, stop_broker
from services.notify import api, consumers
from services.notify.settings import NotifySettings
from services.notify.tables import NotifyBase


class NotifyService:
    name = "notify"

    def __init__(self, settings: NotifySettings) -> None:
        self.settings = settings
        self.db = Database(make_engine(settings.database_url))
        self.broker = make_broker(settings.nats_servers, "greenfab-notify", settings.max_deliveries)
        consumers.register(self.broker, self.db, settings.max_deliveries)
        self.app = api.build_app(self.db, settings.auth_secret)
        add_health_route(self.app, self.name, self.broker, self.db)

    async def start(self) -> None:
        await create_tables(self.db.engine, NotifyBase.metadata)
        await connect_or_fail(self.broker, self.settings.nats_servers, self.settings.startup_timeout_s)
        await ensure_streams(self.broker)
        await self.broker.start()

    async def stop(self) -> None:
        await stop_broker(self.broker)
        await bounded("closing the database", self.db.close())


async def build() -> tuple[NotifyService, str, int]:
    settings = NotifySettings()
    return NotifyService(settings), settings.http_host, settings.http_port
