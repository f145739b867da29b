"""Scoring's composition root: the engine workers, the rules it holds, database, broker and its HTTP API."""

from __future__ import annotations

import asyncio

from greenfab.db import Database, create_tables, make_engine
from greenfab.health import add_health_route
from greenfab.messaging import connect_or_fail, ensure_streams, make_broker
from greenfab.service import bounded, stop_broker
from services.scoring import api, consumers
from services.scoring.rulebooks import Rulebooks
from services.scoring.settings import ScoringSettings
from services.scoring.tables import ScoringBase
from services.scoring.whatif import WhatIfRunner
from services.scoring.worker import EnginePool


class ScoringService:
    name = "scoring"

    def __init__(self, settings: ScoringSettings) -> None:
        self.settings = settings
        self.db = Database(make_engine(settings.database_url))
        self.pool = EnginePool(settings.rules_dir, settings.engine_processes)
        self.rules = Rulebooks(settings.rules_dir)
        self.runner = WhatIfRunner(settings.rules_dir)
        self.broker = make_broker(settings.nats_servers, "greenfab-scoring", settings.max_deliveries)
        announce = consumers.register(self.broker, self.db, self.pool, settings.max_deliveries, self.rules)
        self.app = api.build_app(self.db, self.pool, self.rules, settings.auth_secret, announce, self.runner)
        add_health_route(self.app, self.name, self.broker, self.db)

    async def start(self) -> None:
        await create_tables(self.db.engine, ScoringBase.metadata)
        await asyncio.get_running_loop().run_in_executor(None, self.pool.warm_up)
        await connect_or_fail(self.broker, self.settings.nats_servers, self.settings.startup_timeout_s)
        await ensure_streams(self.broker)
        await self.broker.start()

    async def stop(self) -> None:
        await stop_broker(self.broker)
        self.pool.close()
        self.runner.close()
        await bounded("closing the database", self.db.close())


async def build() -> tuple[ScoringService, str, int]:
    settings = ScoringSettings()
    return ScoringService(settings), settings.http_host, settings.http_port
