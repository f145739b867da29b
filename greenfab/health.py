"""Health reports: each service's dependencies, checked live, and the /healthz route that serves them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from faststream.nats import NatsBroker

from contracts.http import Health
from greenfab.db import Database

Check = Callable[[], Awaitable[None]]


def nats_check(broker: NatsBroker) -> Check:
    async def check() -> None:
        conn = broker._connection  # noqa: SLF001 - faststream exposes no public "is connected"
        if conn is None or not conn.is_connected:
            raise ConnectionError("not connected")

    return check


async def health_report(name: str, checks: dict[str, Check]) -> Health:
    results: dict[str, str] = {}
    for key, check in checks.items():
        try:
            await check()
            results[key] = "ok"
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            results[key] = f"down: {type(exc).__name__}: {exc}"
    status = "ok" if all(v == "ok" for v in results.values()) else "degraded"
    return Health(service=name, status=status, checks=results)


def add_health_route(
    app: FastAPI, name: str, broker: NatsBroker, db: Database, extra: dict[str, Check] | None = None
) -> None:
    """GET /healthz: 200 when every dependency answers, 503 otherwise."""
    checks: dict[str, Check] = {"nats": nats_check(broker), "database": db.ping, **(extra or {})}

    @app.get("/healthz", response_model=Health, tags=["health"])
    async def healthz() -> JSONResponse:
        report = await health_report(name, checks)
        return JSONResponse(report.model_dump(), status_code=200 if report.status == "ok" else 503)
