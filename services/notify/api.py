"""Notify's HTTP API (/v1): the caller's in-app inbox."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Query

from contracts.http import Notification, Problem
from greenfab.db import Database
from greenfab.http import CurrentPrincipal, ProblemError, install_problem_handlers
from services.notify import handlers

PROBLEMS: dict[int | str, dict[str, object]] = {
    code: {"model": Problem, "content": {"application/problem+json": {}}} for code in (401, 403, 422)
}


def build_app(db: Database, secret: str) -> FastAPI:
    app = FastAPI(title="greenfab notify API", version="1.0.0", description="The in-app inbox. 站内消息。")
    install_problem_handlers(app)
    app.state.auth_secret = secret
    router = APIRouter(prefix="/v1", responses=PROBLEMS)

    @router.get("/inbox", response_model=list[Notification])
    async def read_inbox(who: CurrentPrincipal, limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[Notification]:
        """Notifications for the caller's scope (its USCC, or its district), newest first."""
        if who.scope is None:
            raise ProblemError(403, "该身份没有收件范围 / No inbox scope", "the token carries no scope")
        rows = await handlers.inbox(db, who.scope, limit)
        return [
            Notification(
                id=str(r.id),
                recipient=r.recipient,
                title=r.title,
                body=r.body,
                created_at=r.created_at,
                source_event=r.source_event,
            )
            for r in rows
        ]

    app.include_router(router)
    return app
