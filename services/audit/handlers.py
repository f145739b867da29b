"""Audit's use cases: append a message to the chain once, read a unit's timeline, load the chain to verify."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import insert as sa_insert
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from contracts.audit import AuditFinding, AuditRecord, AuditVerdict
from contracts.envelope import utcnow
from contracts.paging import Page
from greenfab.db import Database
from greenfab.group_commit import Grouped
from greenfab.paging import Key, Keyset, PageAsk
from services.audit.domain.chain import GENESIS, SEALED_FIELDS, Row, payload_text, seal, verify
from services.audit.domain.entries import UNIT_DISTRICT_KINDS, Entry, entry_of
from services.audit.tables import AuditRow


class Chain(Grouped[Entry, int | None]):
    """The append side: group commit (greenfab/group_commit.py). Messages that arrive while a transaction is open
    wait and go together in the next one (one duplicate check, one read of the head, one commit for all), so a
    burst costs a few commits, not one per message (per message, audit fell behind at 25 declarations/s:
    bench/FINDINGS.md 2.6). Each caller returns only once its record is committed, so its message is acked after
    the commit: nothing lost. One writer per process; replicas race on seq and the loser's whole group retries."""

    max_group = 200  # records per transaction (and bound parameters in its duplicate check)
    retry_alone = False  # a group fails only when the database does: each message is retried or dead-lettered

    def __init__(self, db: Database) -> None:
        super().__init__()
        self.db = db

    async def append(self, message: dict[str, Any]) -> int | None:
        """Record ``message``; its seq, or None when it is already on record (a redelivery)."""
        return await self(entry_of(message))

    async def _commit(self, entries: list[Entry]) -> list[int | None]:
        """Chain every entry not yet on record, in order, in one transaction; each one's seq or None."""
        ids = {e.source_id for e in entries}
        for _ in range(20):
            async with self.db.session() as s:
                on_record = set(
                    (await s.exec(select(AuditRow.source_id).where(col(AuditRow.source_id).in_(ids)))).all()
                )
                last = select(AuditRow.seq, AuditRow.hash).order_by(col(AuditRow.seq).desc()).limit(1)
                head = (await s.exec(last)).first()
                seq, prev = head if head else (0, GENESIS)
                recorded_at = utcnow().isoformat()
                rows: list[dict[str, Any]] = []
                seqs: list[int | None] = []
                for entry in entries:
                    if entry.source_id in on_record:
                        seqs.append(None)
                        continue
                    on_record.add(entry.source_id)  # the same message twice in one group: the second is a repeat
                    fields = {
                        **{k: v for k, v in entry.__dict__.items() if k != "payload"},
                        "payload": payload_text(entry.payload),
                        "recorded_at": recorded_at,
                        "prev_hash": prev,
                    }
                    seq, prev = seq + 1, seal(fields)
                    rows.append({**fields, "seq": seq, "hash": prev})
                    seqs.append(seq)
                if rows:
                    await (await s.connection()).execute(sa_insert(AuditRow), rows)
                    try:
                        await s.commit()
                    except IntegrityError:
                        await s.rollback()
                        continue  # another replica took these seqs (or recorded one of these messages): look again
                return seqs
        raise RuntimeError(f"could not append {len(entries)} records: the chain kept moving")


def public(row: AuditRow) -> AuditRecord:
    data = row.model_dump()
    data["payload"] = json.loads(row.payload)
    return AuditRecord.model_validate(data)


TIMELINE = Keyset("audit.timeline", (Key(col(AuditRow.occurred_at), str), Key(col(AuditRow.seq), int)))
CHAIN = Keyset("audit.chain", (Key(col(AuditRow.seq), int),))
BATCH = 500


async def unit_on_record(db: Database, uscc: str) -> tuple[bool, str]:
    """Whether any record names the unit, and its district (the latest record that states it, or "")."""
    async with db.session() as s:
        mine = select(AuditRow.seq).where(AuditRow.uscc == uscc).limit(1)
        if (await s.exec(mine)).first() is None:
            return False, ""
        stated = (
            select(AuditRow.district)
            .where(AuditRow.uscc == uscc, col(AuditRow.kind).in_(UNIT_DISTRICT_KINDS), AuditRow.district != "")
            .order_by(col(AuditRow.occurred_at).desc(), col(AuditRow.seq).desc())
            .limit(1)
        )
        return True, (await s.exec(stated)).first() or ""


async def timeline_page(db: Database, uscc: str, ask: PageAsk) -> Page[AuditRecord]:
    """One page of a unit's timeline, in the order things happened."""
    async with db.session() as s:
        rows = (await s.exec(TIMELINE.select(select(AuditRow).where(AuditRow.uscc == uscc), ask, (uscc,)))).all()
    return TIMELINE.page(rows, ask, public, (uscc,))


# The export reads stored columns only (no ORM objects, no models): services/audit/export.py writes them.
_COLUMNS = tuple(AuditRow.__table__.c)  # type: ignore[attr-defined]


async def stream(db: Database, keyset: Keyset, uscc: str | None = None) -> AsyncIterator[list[Any]]:
    """Every stored record (or a unit's), batch after batch in the keyset's order, as rows of its columns: an
    export of any size holds one batch in memory, and each batch is its own short read, so writers are not
    held up."""
    filters = (uscc,)
    ask = PageAsk(limit=BATCH)
    while True:
        query: Any = sa_select(*_COLUMNS)
        if uscc is not None:
            query = query.where(col(AuditRow.uscc) == uscc)
        async with db.session() as s:
            rows = (await s.exec(keyset.select(query, ask, filters))).all()
        page = keyset.page(rows, ask, lambda row: row, filters)
        if page.items:
            yield list(page.items)
        if page.next_cursor is None:
            return
        ask = PageAsk(limit=BATCH, cursor=page.next_cursor)


async def timeline(db: Database, uscc: str) -> list[AuditRow]:
    """Every record about a unit, in the order things happened (ties in chain order)."""
    async with db.session() as s:
        query = select(AuditRow).where(AuditRow.uscc == uscc).order_by(col(AuditRow.occurred_at), col(AuditRow.seq))
        return list((await s.exec(query)).all())


async def all_rows(db: Database) -> list[AuditRow]:
    async with db.session() as s:
        return list((await s.exec(select(AuditRow).order_by(col(AuditRow.seq)))).all())


async def verdict(db: Database) -> AuditVerdict:
    """Verify the whole chain (verify needs every hash at hand, so it is read whole)."""
    rows = [
        Row(seq=r.seq, hash=r.hash, fields={k: str(getattr(r, k)) for k in SEALED_FIELDS}) for r in await all_rows(db)
    ]
    findings = verify(rows)
    return AuditVerdict(
        records=len(rows),
        head_seq=rows[-1].seq if rows else 0,
        head_hash=rows[-1].hash if rows else GENESIS,
        intact=not findings,
        findings=[AuditFinding(**f.__dict__) for f in findings],
    )
