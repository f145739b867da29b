"""Scoring's reads and writes beyond one evaluation: units' latest declarations, rulebook snapshots by version."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, cast

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import load_only
from sqlmodel import col, select

from contracts.envelope import utcnow
from contracts.schemes import Scheme
from greenfab.db import Database
from services.scoring.editions import Snapshot
from services.scoring.tables import RulebookEdition, StoredEvaluation

_LATEST = (
    col(StoredEvaluation.uscc),
    col(StoredEvaluation.scheme),
    col(StoredEvaluation.declared_on).desc(),
    col(StoredEvaluation.created_at).desc(),
)


async def latest(db: Database, uscc: str, scheme: Scheme) -> StoredEvaluation | None:
    """The unit's latest declaration of ``scheme`` that was scored (or refused), with its evaluation."""
    async with db.session() as s:
        query = (
            select(StoredEvaluation)
            .where(StoredEvaluation.uscc == uscc, StoredEvaluation.scheme == scheme.value)
            .where(col(StoredEvaluation.data).is_not(None))
            .order_by(*_LATEST[2:])
            .limit(1)
        )
        return (await s.exec(query)).first()


async def latest_declarations(db: Database, schemes: set[Scheme] | None = None) -> list[str]:
    """Every unit's latest declaration per scheme, one JSON line each (the what-if's input).

    Only the columns a what-if reads are loaded (not the stored evaluations).
    """
    wanted = (
        StoredEvaluation.uscc,
        StoredEvaluation.scheme,
        StoredEvaluation.declared_on,
        StoredEvaluation.created_at,
        StoredEvaluation.district,
        StoredEvaluation.enterprise_name,
        StoredEvaluation.data,
    )
    query = (
        select(StoredEvaluation)
        .options(load_only(*(cast(Any, c) for c in wanted)))
        .where(col(StoredEvaluation.data).is_not(None))
        .order_by(*_LATEST)
    )
    if schemes:
        query = query.where(col(StoredEvaluation.scheme).in_([s.value for s in schemes]))
    async with db.session() as s:
        rows = (await s.exec(query)).all()
    return list(_first_per_unit(rows))


def _first_per_unit(rows: Iterable[StoredEvaluation]) -> Iterator[str]:
    seen: tuple[str, str] | None = None
    for row in rows:
        if (row.uscc, row.scheme) == seen or row.declared_on is None:
            continue
        seen = (row.uscc, row.scheme)
        unit = {
            "uscc": row.uscc,
            "scheme": row.scheme,
            "declared_on": row.declared_on.isoformat(),
            "district": row.district,
            "enterprise_name": row.enterprise_name,
            "data": row.data,
        }
        yield json.dumps(unit, ensure_ascii=False, default=str)


async def keep_snapshot(
    db: Database, snap: Snapshot, published_by: str | None = None, reason: str | None = None
) -> RulebookEdition:
    """Store a version's snapshot once (a publication adds who and why to it)."""
    async with db.session() as s:
        row = await s.get(RulebookEdition, snap.version)
        if row is None:
            row = RulebookEdition(
                version=snap.version,
                scheme=snap.scheme.value,
                edition=str(snap.edition["edition"]),
                effective_from=datetime.fromisoformat(str(snap.edition["effective_from"])).date(),
                content=snap.model_dump(mode="json"),
            )
        if published_by is not None:
            row.published_by, row.published_reason, row.published_at = published_by, reason, utcnow()
        s.add(row)
        try:
            await s.commit()
        except IntegrityError:  # another process stored it first: the content is the same (same hash)
            await s.rollback()
        return row


async def snapshot_of(db: Database, version: str) -> Snapshot | None:
    async with db.session() as s:
        row = await s.get(RulebookEdition, version)
    return Snapshot.model_validate(row.content) if row is not None else None


async def published(db: Database) -> list[RulebookEdition]:
    async with db.session() as s:
        query = select(RulebookEdition).order_by(col(RulebookEdition.scheme), col(RulebookEdition.effective_from))
        return list((await s.exec(query)).all())
