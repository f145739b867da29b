"""The console's composition root: settings, the services' client, the app."""

from __future__ import annotations

from services.console.app import build_app
from services.console.client import Services
from services.console.settings import ConsoleSettings


class ConsoleService:
    name = "console"

    def __init__(self, settings: ConsoleSettings) -> None:
        self.settings = settings
        self.services = Services(settings)
        self.app = build_app(settings, self.services)

    async def start(self) -> None:
        """Nothing to connect: each page calls the services when it is asked for."""

    async def stop(self) -> None:
        await self.services.close()


async def build() -> tuple[ConsoleService, str, int]:
    settings = ConsoleSettings()
    return ConsoleService(settings), settings.http_host, settings.http_port
