"""Notify's HTTP API (/v1): the caller's inbox, its channel choice, and the delivery log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, FastAPI, Path, Query

from contracts.http import FieldError, Notification
from contracts.notify import ChannelChoice, ChannelChoicePublic, ChannelName, Delivery, DeliveryStatus
from contracts.paging import Page
from greenfab.auth import Principal
from greenfab.db import Database
from greenfab.http import SQL_INT_MAX, BureauCaller, CurrentPrincipal, ProblemError, problem_responses, service_app
from greenfab.paging import Paging
from services.notify import handlers
from services.notify.domain import recipient_of
from services.notify.tables import RecipientRow
from services.notify.webhook_guard import WebhookGuard, WebhookRefused

PROBLEMS = problem_responses(401, 403, 404, 422)
STAFF_WIDE = ("bureau", "auditor")


def _recipient(who: Principal) -> tuple[str, str]:
    """The caller's inbox: its role and the name within it (a USCC, a district, the role's shared inbox)."""
    name = recipient_of(who.role, who.scope)
    if not name:
        raise ProblemError(403, "该身份没有收件范围 / No inbox scope", "the token carries no scope")
    return who.role, name


async def _check_webhook(webhooks: WebhookGuard, url: str) -> None:
    """Refuse a webhook URL that points inside (after resolving it), naming the field."""
    try:
        await webhooks.target(url)
    except WebhookRefused as exc:
        error = FieldError(
            path="$.webhook_url",
            code="webhook_address_refused",
            message_zh="回调地址须为公网 https 地址，不能指向内网、本机或云元数据地址",
            message_en=str(exc),
        )
        raise ProblemError(422, "回调地址不可用 / Webhook URL refused", str(exc), [error]) from exc


def _choice(row: RecipientRow, secret: str | None = None) -> ChannelChoicePublic:
    return ChannelChoicePublic(
        recipient=row.recipient,
        channels=row.channels.split(","),
        email=row.email,
        webhook_url=row.webhook_url,
        webhook_secret=secret,
    )


def build_app(db: Database, secret: str, webhooks: WebhookGuard, wake: Callable[[], None] = lambda: None) -> FastAPI:
    app = service_app(
        title="greenfab notify API",
        version="1.0.0",
        description="The in-app inbox, channel choice and delivery log. 站内消息、提醒渠道与投递记录。",
        secret=secret,
    )
    router = APIRouter(prefix="/v1", responses=PROBLEMS)

    @router.get("/inbox", response_model=Page[Notification], tags=["inbox"])
    async def read_inbox(who: CurrentPrincipal, paging: Paging) -> Page[Notification]:
        """Notifications for the caller (its USCC, its district, or the bureau's shared inbox), newest first."""
        return paging.answer(await handlers.inbox(db, *_recipient(who), paging))

    @router.get("/channels", response_model=ChannelChoicePublic, tags=["channels"])
    async def read_channels(who: CurrentPrincipal) -> ChannelChoicePublic:
        """The caller's channel choice (the inbox alone until it chooses)."""
        role, name = _recipient(who)
        row = await handlers.recipient(db, role, name)
        if row is None:
            return ChannelChoicePublic(recipient=name, channels=["inbox"], email=None, webhook_url=None)
        return _choice(row)

    @router.put("/channels", response_model=ChannelChoicePublic, tags=["channels"])
    async def choose_channels(who: CurrentPrincipal, body: ChannelChoice) -> ChannelChoicePublic:
        """Choose channels. Choosing a new webhook URL returns its signing secret, once."""
        if who.role not in ("enterprise", "district", "bureau"):
            raise ProblemError(403, "该角色不接收提醒 / This role receives no reminders", who.role)
        if body.webhook_url:
            await _check_webhook(webhooks, str(body.webhook_url))
        row, new_secret = await handlers.choose(
            db,
            *_recipient(who),
            list(dict.fromkeys(body.channels)),
            str(body.email) if body.email else None,
            str(body.webhook_url) if body.webhook_url else None,
        )
        return _choice(row, new_secret)

    @router.get("/deliveries", response_model=Page[Delivery], tags=["deliveries"])
    async def delivery_log(
        who: CurrentPrincipal,
        paging: Paging,
        status: Annotated[DeliveryStatus | None, Query(description="Only this status, e.g. `dead`.")] = None,
        channel: Annotated[ChannelName | None, Query()] = None,
        recipient: Annotated[str | None, Query(max_length=64, description="Bureau, auditors: one recipient.")] = None,
    ) -> Page[Delivery]:
        """The delivery log, newest first: bureau and auditors see every recipient, others their own."""
        role = None
        if who.role not in STAFF_WIDE:
            role, recipient = _recipient(who)
        return paging.answer(await handlers.deliveries(db, role, recipient, status, channel, paging))

    @router.post("/deliveries/{delivery_id}/retry", response_model=Delivery, tags=["deliveries"])
    async def retry_delivery(who: BureauCaller, delivery_id: Annotated[int, Path(ge=1, le=SQL_INT_MAX)]) -> Delivery:
        """Bureau staff: send a dead delivery again (after fixing the address or server)."""
        row = await handlers.retry(db, delivery_id)
        if row is None:
            raise ProblemError(404, "没有该投递记录 / No such delivery", str(delivery_id))
        wake()
        return handlers.delivery(row)

    app.include_router(router)
    return app
