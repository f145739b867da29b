"""Scoring's composition root: the engine workers, rulebooks, database, broker, and its HTTP API (advice,
what-if, rulebook publication and replay, health)."""

from __future__ import annotations

from greenfab.db import Database, make_engine
from greenfab.health import add_health_route
from greenfab.messaging import DeadLetterHooks, connect_service, service_broker
from greenfab.migrations import migrate
from greenfab.service import bounded, stop_broker
from services.scoring import api, consumers
from services.scoring.migrations import MIGRATIONS
from services.scoring.rulebooks import Rulebooks
from services.scoring.settings import ScoringSettings
from services.scoring.whatif import WhatIfRunner
from services.scoring.worker import EnginePool


class ScoringService:
    name = "scoring"

    def __init__(self, settings: ScoringSettings) -> None:
        self.settings = settings
        self.db = Database(make_engine(settings.database_url, settings.database_schema))
        self.pool = EnginePool(settings.rules_dir, settings.engine_processes)
        self.rules = Rulebooks(settings.rules_dir)
        self.runner = WhatIfRunner(settings.rules_dir)
        dead_letters: DeadLetterHooks = {}
        self.broker = service_broker(settings, "greenfab-scoring", dead_letters)
        announce = consumers.register(
            self.broker, self.db, self.pool, settings.max_deliveries, dead_letters, self.rules
        )
        self.app = api.build_app(self.db, self.pool, self.rules, settings.auth_secret, announce, self.runner)
        add_health_route(self.app, self.name, self.broker, self.db)

    async def start(self) -> None:
        await migrate(self.db.engine, MIGRATIONS, allowed=self.settings.migrate, schema=self.settings.database_schema)
        await self.pool.warm_up()
        await connect_service(self.broker, self.settings)
        await self.broker.start()

    async def stop(self) -> None:
        await stop_broker(self.broker)
        self.pool.close()
        self.runner.close()
        await bounded("closing the database", self.db.close())


async def build() -> tuple[ScoringService, str, int]:
    settings = ScoringSettings()
    return ScoringService(settings), settings.http_host, settings.http_port
