"""Notify's composition root."""

from __future__ import annotations

from greenfab.db import Database, make_engine
from greenfab.health import add_health_route
from greenfab.messaging import connect_service, service_broker
from greenfab.migrations import migrate
from greenfab.service import bounded, stop_broker
from services.notify import api, consumers
from services.notify.channels import SmtpChannel, WebhookChannel
from services.notify.dispatcher import Channel, Dispatcher, RetryPolicy
from services.notify.domain import Links
from services.notify.migrations import MIGRATIONS
from services.notify.settings import NotifySettings
from services.notify.template_loader import load_templates
from services.notify.webhook_guard import WebhookGuard


class NotifyService:
    name = "notify"

    def __init__(self, settings: NotifySettings) -> None:
        self.settings = s = settings
        self.db = Database(make_engine(s.database_url, s.database_schema))
        guard = WebhookGuard(s.webhook_allow_list, s.webhook_require_https)
        channels: dict[str, Channel] = {
            "email": SmtpChannel(
                host=s.smtp_host,
                port=s.smtp_port,
                sender=s.smtp_from,
                timeout_s=s.send_timeout_s,
                username=s.smtp_username,
                password=s.smtp_password,
                starttls=s.smtp_starttls,
            ),
            "webhook": WebhookChannel(s.send_timeout_s, guard),
        }
        self.dispatcher = Dispatcher(
            self.db, channels, RetryPolicy(s.max_attempts, s.retry_base_s, s.retry_cap_s, s.lease_s), s.poll_s
        )
        self.broker = service_broker(s, "greenfab-notify")
        links = Links(enterprise=s.enterprise_url, staff=s.staff_url)
        templates = load_templates(s.templates)
        consumers.register(self.broker, self.db, s.max_deliveries, templates, links, self.dispatcher.wake.set)
        self.app = api.build_app(self.db, s.auth_secret, guard, self.dispatcher.wake.set)
        add_health_route(self.app, self.name, self.broker, self.db)

    async def start(self) -> None:
        await migrate(self.db.engine, MIGRATIONS, allowed=self.settings.migrate, schema=self.settings.database_schema)
        await connect_service(self.broker, self.settings)
        self.dispatcher.start()
        await self.broker.start()

    async def stop(self) -> None:
        await stop_broker(self.broker)
        await bounded("stopping the dispatcher", self.dispatcher.stop())
        await bounded("closing the database", self.db.close())


async def build() -> tuple[NotifyService, str, int]:
    settings = NotifySettings()
    return NotifyService(settings), settings.http_host, settings.http_port
