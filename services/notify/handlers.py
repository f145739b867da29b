"""Notify's use cases: record each event's notifications once per recipient and channel, list inboxes,
the delivery log and recipients' choices."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from contracts.envelope import utcnow
from contracts.http import Notification
from contracts.notify import Delivery
from contracts.paging import Page
from greenfab.db import Database
from greenfab.group_commit import GroupCommit
from greenfab.paging import Key, Keyset, PageAsk
from services.notify.domain import Draft, channels_for
from services.notify.tables import DeliveryRow, InboxItem, RecipientRow


@dataclass(frozen=True)
class Event:
    """One event's notifications to record: its id, its drafts, and the event itself (the webhook body)."""

    source_event: str
    drafts: list[Draft]
    payload: dict[str, Any]


async def record(db: Database, source_event: str, drafts: list[Draft], event: dict[str, Any]) -> int:
    """Store each draft's deliveries; a redelivered event adds nothing. How many rows were new.

    The consumer records through ``GroupCommit(db, record_events)`` (many events, one transaction); this is
    the same for one event.
    """
    return await GroupCommit(db, record_events)(Event(source_event, drafts, event))


async def record_events(s: AsyncSession, events: list[Event]) -> list[int]:
    """Each event's deliveries in one transaction (not committed here); how many rows each added.

    The inbox is written at once (it is our own table); e-mail and webhook rows wait for the
    dispatcher. A draft with an error becomes a dead delivery, where staff see it. A delivery already
    stored (a redelivered event, or the same event twice in one group) is skipped: one query finds the
    group's stored deliveries, and the keys added in this group are remembered.
    """
    ids = list({e.source_event for e in events})
    taken = set(
        (
            await s.exec(
                select(
                    DeliveryRow.source_event, DeliveryRow.recipient_role, DeliveryRow.recipient, DeliveryRow.channel
                ).where(col(DeliveryRow.source_event).in_(ids))
            )
        ).all()
    )
    # An inbox item is only ever written with its inbox delivery (below): the deliveries stored say which exist.
    inboxed: set[tuple[str, str, str]] = set()
    chosen: dict[tuple[str, str], list[str] | None] = {}
    counts = []
    for e in events:
        added = 0
        payload = json.dumps(e.payload, ensure_ascii=False, default=str)
        for draft in e.drafts:
            if draft.error:
                channels = ["inbox"]
            else:
                who = (draft.recipient_role, draft.recipient)
                if who not in chosen:
                    choice = await s.get(RecipientRow, who)
                    chosen[who] = choice.channels.split(",") if choice else None
                channels = channels_for(chosen[who])
            for channel in channels:
                name = draft.recipient or "?"
                key = (e.source_event, draft.recipient_role, name, channel)
                to_inbox = channel == "inbox" and not draft.error
                inbox_key = (e.source_event, draft.recipient_role, draft.recipient)
                if key in taken or (to_inbox and inbox_key in inboxed):
                    continue
                taken.add(key)
                row = DeliveryRow(
                    source_event=e.source_event,
                    recipient=name,
                    recipient_role=draft.recipient_role,
                    channel=channel,
                    template=draft.template,
                    title=draft.title[:200],
                    body=draft.body,
                    payload=payload,
                )
                if draft.error:
                    row.status, row.last_error = "dead", draft.error
                elif channel == "inbox":
                    row.status, row.attempts, row.sent_at = "sent", 1, utcnow()
                s.add(row)
                if to_inbox:
                    inboxed.add(inbox_key)
                    s.add(
                        InboxItem(
                            recipient=draft.recipient,
                            recipient_role=draft.recipient_role,
                            title=draft.title[:200],
                            body=draft.body,
                            source_event=e.source_event,
                        )
                    )
                added += 1
        counts.append(added)
    return counts


INBOX = Keyset("inbox", (Key(col(InboxItem.id), int, descending=True),))
DELIVERIES = Keyset("deliveries", (Key(col(DeliveryRow.id), int, descending=True),))


def notification(r: InboxItem) -> Notification:
    return Notification(
        id=str(r.id),
        recipient=r.recipient,
        title=r.title,
        body=r.body,
        created_at=r.created_at,
        source_event=r.source_event,
    )


def delivery(row: DeliveryRow) -> Delivery:
    return Delivery.model_validate(row, from_attributes=True)


async def inbox(db: Database, role: str, name: str, ask: PageAsk) -> Page[Notification]:
    """A recipient's inbox, newest first: its role and its name, never the name alone."""
    async with db.session() as s:
        mine = (InboxItem.recipient_role == role) & (InboxItem.recipient == name)
        rows = (await s.exec(INBOX.select(select(InboxItem).where(mine), ask))).all()
    return INBOX.page(rows, ask, notification)


async def deliveries(
    db: Database,
    role: str | None,
    recipient: str | None,
    status: str | None,
    channel: str | None,
    ask: PageAsk,
) -> Page[Delivery]:
    """The delivery log within the given scope and filters, newest first."""
    filters = (role, recipient, status, channel)
    async with db.session() as s:
        query = select(DeliveryRow)
        if role is not None:
            query = query.where(DeliveryRow.recipient_role == role)
        if recipient is not None:
            query = query.where(DeliveryRow.recipient == recipient)
        if status is not None:
            query = query.where(DeliveryRow.status == status)
        if channel is not None:
            query = query.where(DeliveryRow.channel == channel)
        rows = (await s.exec(DELIVERIES.select(query, ask, filters))).all()
    return DELIVERIES.page(rows, ask, delivery, filters)


async def retry(db: Database, delivery_id: int) -> DeliveryRow | None:
    """Put a dead (or failing) delivery back in the queue, now; None if there is no such delivery."""
    async with db.session() as s:
        row = await s.get(DeliveryRow, delivery_id)
        if row is None:
            return None
        if row.status != "sent":
            row.status, row.next_attempt_at, row.attempts = "pending", utcnow(), 0
            s.add(row)
            await s.commit()
            await s.refresh(row)
        return row


async def recipient(db: Database, role: str, name: str) -> RecipientRow | None:
    async with db.session() as s:
        return await s.get(RecipientRow, (role, name))


async def choose(
    db: Database, role: str, name: str, channels: list[str], email: str | None, webhook_url: str | None
) -> tuple[RecipientRow, str | None]:
    """Save a recipient's choice; a new webhook secret when a webhook is chosen without one (shown once)."""
    async with db.session() as s:
        row = await s.get(RecipientRow, (role, name)) or RecipientRow(recipient_role=role, recipient=name)
        new_secret = None
        if webhook_url and (row.webhook_secret is None or row.webhook_url != webhook_url):
            new_secret = secrets.token_urlsafe(32)
            row.webhook_secret = new_secret
        row.channels, row.email, row.webhook_url, row.updated_at = ",".join(channels), email, webhook_url, utcnow()
        s.add(row)
        await s.commit()
        await s.refresh(row)
    return row, new_secret
