"""Notify's use cases: record each notification once, list a principal's inbox."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from greenfab.db import Database
from services.notify.domain import Draft
from services.notify.tables import InboxItem


async def record(db: Database, source_event: str, drafts: list[Draft]) -> int:
    """Store the drafts; a redelivered event adds nothing (unique per event and recipient). How many were new."""
    added = 0
    for draft in drafts:
        try:
            async with db.session() as s:
                s.add(
                    InboxItem(
                        recipient=draft.recipient,
                        recipient_role=draft.recipient_role,
                        title=draft.title,
                        body=draft.body,
                        source_event=source_event,
                    )
                )
                await s.commit()
            added += 1
        except IntegrityError:
            continue
    return added


async def inbox(db: Database, recipient: str, limit: int) -> list[InboxItem]:
    async with db.session() as s:
        query = (
            select(InboxItem).where(InboxItem.recipient == recipient).order_by(col(InboxItem.id).desc()).limit(limit)
        )
        return list((await s.exec(query)).all())
