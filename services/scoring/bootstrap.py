"""Scoring's composition root: the engine workers, database, broker and a health endpoint."""

from __future__ import annotations

from fastapi import FastAPI

from greenfab.db import Database, make_engine
from greenfab.health import add_health_route
from greenfab.http import install_problem_handlers, operation_id
from greenfab.messaging import DeadLetterHooks, connect_service, service_broker
from greenfab.migrations import migrate
from greenfab.service import bounded, stop_broker
from services.scoring import consumers
from services.scoring.migrations import MIGRATIONS
from services.scoring.settings import ScoringSettings
from services.scoring.worker import EnginePool


class ScoringService:
    name = "scoring"

    def __init__(self, settings: ScoringSettings) -> None:
        self.settings = settings
        self.db = Database(make_engine(settings.database_url, settings.database_schema))
        self.pool = EnginePool(settings.rules_dir, settings.engine_processes)
        dead_letters: DeadLetterHooks = {}
        self.broker = service_broker(settings, "greenfab-scoring", dead_letters)
        consumers.register(self.broker, self.db, self.pool, settings.max_deliveries, dead_letters)
        self.app = FastAPI(
            title="greenfab scoring",
            version="1.0.0",
            description="Scoring service health. 评分服务。",
            generate_unique_id_function=operation_id,
        )
        install_problem_handlers(self.app)
        add_health_route(self.app, self.name, self.broker, self.db)

    async def start(self) -> None:
        await migrate(self.db.engine, MIGRATIONS, allowed=self.settings.migrate, schema=self.settings.database_schema)
        await self.pool.warm_up()
        await connect_service(self.broker, self.settings)
        await self.broker.start()

    async def stop(self) -> None:
        await stop_broker(self.broker)
        self.pool.close()
        await bounded("closing the database", self.db.close())


async def build() -> tuple[ScoringService, str, int]:
    settings = ScoringSettings()
    return ScoringService(settings), settings.http_host, settings.http_port
