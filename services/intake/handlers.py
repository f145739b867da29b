"""Intake's use cases over a unit of work: accept a declaration, read it, record its evaluation."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, cast

from pydantic import BaseModel, Field
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from contracts import subjects
from contracts.envelope import new_id, utcnow
from contracts.http import DeclarationCreate, DeclarationPublic, DeclarationSummary, FieldError, NoticePublic
from contracts.messages import EvaluationCompleted, NoticeReceived, SubmissionReceived
from contracts.paging import Page
from greenfab.auth import Principal
from greenfab.db import Database, JSONText, compact_json
from greenfab.group_commit import GroupCommit
from greenfab.paging import Key, Keyset, PageAsk
from services.intake import domain
from services.intake.tables import Declaration, EvidenceFile, NoticeRecord, OutboxMessage


class Conflict(Exception):
    """The same id or idempotency key was used for a different declaration."""

    def __init__(self, error: FieldError) -> None:
        super().__init__(error.message_en)
        self.error = error


def _head(row: Any, status: str) -> dict[str, Any]:
    """The fields a declaration and its list row share (DeclarationHead), from a row or a row of columns."""
    return {
        "id": row.id,
        "declaration_id": row.client_id,
        "scheme": row.scheme,
        "uscc": row.uscc,
        "enterprise_name": row.enterprise_name,
        "district": row.district,
        "declared_on": row.declared_on,
        "received_at": row.received_at,
        "status": status,
        "status_zh": domain.STATUS_ZH[status],
    }


def to_public(row: Declaration) -> DeclarationPublic:
    return DeclarationPublic(
        **_head(row, domain.status_of(row.evaluation, row.error)),
        data=row.data,
        raw=row.raw,
        evaluation=row.evaluation,
        error=row.error,
    )


async def _existing(db: Database, decl: DeclarationCreate, idempotency_key: str | None) -> Declaration | None:
    async with db.session() as s:
        if decl.declaration_id:
            by_id = select(Declaration).where(
                Declaration.uscc == decl.uscc, Declaration.client_id == decl.declaration_id
            )
            row = (await s.exec(by_id)).first()
            if row is not None:
                return row
        if idempotency_key:
            found = await s.exec(
                select(Declaration).where(Declaration.uscc == decl.uscc, Declaration.idempotency_key == idempotency_key)
            )
            return found.first()
    return None


def _check_same(row: Declaration, fingerprint: str, how: str) -> None:
    if row.fingerprint != fingerprint:
        raise Conflict(
            FieldError(
                path="$.declaration_id" if how == "id" else "$",
                code="idempotency_conflict",
                message_zh="该编号/幂等键已用于另一份不同的申报",
                message_en=f"this {'declaration_id' if how == 'id' else 'Idempotency-Key'} "
                "was already used for a different declaration",
            )
        )


async def accept_declaration(
    db: Database,
    decl: DeclarationCreate,
    principal: Principal,
    idempotency_key: str | None,
    raw: dict[str, Any] | None = None,
) -> tuple[DeclarationPublic, bool]:
    """Store the declaration and its outbox event in one transaction; (answer, created?)."""
    fingerprint = domain.fingerprint(decl)
    how = "id" if decl.declaration_id else "key"
    existing = await _existing(db, decl, idempotency_key)
    if existing is not None:
        _check_same(existing, fingerprint, how)
        return to_public(existing), False

    # Always our own id: the client's declaration_id is only unique within its enterprise.
    declaration_id = new_id()
    correlation_id = new_id()
    row = Declaration(
        id=declaration_id,
        client_id=decl.declaration_id,
        scheme=decl.scheme.value,
        uscc=decl.uscc,
        enterprise_name=decl.enterprise_name,
        district=decl.district,
        declared_on=decl.declared_on,
        data=decl.data,
        raw=raw,
        fingerprint=fingerprint,
        idempotency_key=idempotency_key,
        correlation_id=correlation_id,
    )
    event = SubmissionReceived(
        correlation_id=correlation_id,
        actor=principal.actor(),
        submission_id=declaration_id,
        scheme=decl.scheme,
        uscc=decl.uscc,
        enterprise_name=decl.enterprise_name,
        district=decl.district,
        declared_on=decl.declared_on,
        data=decl.data,
    )
    outbox = OutboxMessage(
        message_id=event.id, subject=subjects.SUBMISSION_RECEIVED, payload=event.model_dump(mode="json")
    )
    try:
        async with db.writing() as s:  # writers take turns (Database.writing), not SQLite's busy sleeps
            s.add(row)
            s.add(outbox)
            await s.commit()
    except IntegrityError:
        # A concurrent retry won the race: answer with what it stored.
        existing = await _existing(db, decl, idempotency_key)
        if existing is None:
            raise
        _check_same(existing, fingerprint, how)
        return to_public(existing), False
    return to_public(row), True


async def get_declaration(db: Database, declaration_id: str) -> Declaration | None:
    async with db.session() as s:
        return await s.get(Declaration, declaration_id)


DECLARATIONS = Keyset(
    "declarations",
    (Key(col(Declaration.received_at), datetime, descending=True), Key(col(Declaration.id), str, descending=True)),
)


# A list row is the declaration without its inputs and evaluation (about 11 kB a row): only the columns a
# row shows, and the evaluation's headline read out of its JSON by the database.
_EVALUATION = Declaration.evaluation  # a JSON column: indexing it extracts a field in SQL
SUMMARY_COLUMNS = (
    col(Declaration.id),
    col(Declaration.client_id),
    col(Declaration.scheme),
    col(Declaration.uscc),
    col(Declaration.enterprise_name),
    col(Declaration.district),
    col(Declaration.declared_on),
    col(Declaration.received_at),
    col(Declaration.error),
    _EVALUATION["total"].as_string().label("total"),  # type: ignore[index]
    _EVALUATION["level"].as_integer().label("level"),  # type: ignore[index]
    _EVALUATION["passed"].as_boolean().label("passed"),  # type: ignore[index]
    _EVALUATION["provisional"].as_boolean().label("provisional"),  # type: ignore[index]
)


def to_summary(row: Any) -> DeclarationSummary:
    # Every evaluation has a total: its absence is the absence of the evaluation.
    status = domain.status_of(None if row.total is None else {}, row.error)
    return DeclarationSummary(
        **_head(row, status),
        total=row.total,
        level=row.level,
        passed=None if row.passed is None else bool(row.passed),
        provisional=None if row.provisional is None else bool(row.provisional),
        error=row.error,
    )


async def list_declarations(
    db: Database, *, uscc: str | None, district: str | None, ask: PageAsk
) -> Page[DeclarationSummary]:
    """Declarations within the given scope, newest first, one page of summaries."""
    # sqlmodel's select is typed for up to four columns; the rows are read by name (to_summary).
    query: Any = sa_select(*SUMMARY_COLUMNS)
    if uscc is not None:
        query = query.where(Declaration.uscc == uscc)
    if district is not None:
        query = query.where(Declaration.district == district)
    async with db.session() as s:
        rows = (await s.exec(DECLARATIONS.select(query, ask))).all()
    return DECLARATIONS.page(rows, ask, to_summary)


class ReceivedEvaluation(EvaluationCompleted):
    """An evaluation.completed as received: its head read, its evaluation kept as the JSON text scoring sent.

    Scoring publishes the engine worker's text unread, after every other field (services/scoring/handlers.py
    ``Announcement``). Intake only stores it, and reading the whole ~7.8 kB evaluation into pydantic models
    and writing it again was a third of intake's busy time (bench/FINDINGS.md 2.6). ``evaluation`` stays None
    here; ``evaluation_json`` holds the text ("null" when scoring failed)."""

    evaluation_json: str = Field(default="null", exclude=True)

    @classmethod
    def of(cls, event: EvaluationCompleted) -> ReceivedEvaluation:
        """One built from a message already read whole (a test, or a body in another field order)."""
        evaluation = event.evaluation.model_dump(mode="json") if event.evaluation else None
        return cls._built(event, compact_json(evaluation))

    @classmethod
    def read(cls, body: bytes) -> ReceivedEvaluation:
        """The message from its bytes: the head validated, the evaluation's text checked to be JSON and kept.

        Every field but the evaluation comes before it in Announcement's order (``"evaluator_uscc":``, the last
        field, is in the head), so the first top-level ``,"evaluation":`` splits the two; the head fields hold
        no object with such a key, and inside a JSON string its quote would be escaped. A body in another
        order is read whole, as before."""
        text = body.decode()
        at = text.find(_EVALUATION_KEY)
        if at < 0 or _LAST_HEAD_FIELD not in text[:at] or not text.endswith("}"):
            return cls.of(EvaluationCompleted.model_validate_json(body))
        evaluation = text[at + len(_EVALUATION_KEY) : -1]
        value = json.loads(evaluation)  # the text is stored as is: it must be JSON, an object or null
        if value is not None and not isinstance(value, dict):
            raise ValueError("evaluation.completed: the evaluation is neither an object nor null")
        head = EvaluationCompleted.model_validate_json(text[:at] + ',"evaluation":null}')
        return cls._built(head, evaluation)

    @classmethod
    def _built(cls, head: EvaluationCompleted, evaluation_json: str) -> ReceivedEvaluation:
        fields = {name: getattr(head, name) for name in EvaluationCompleted.model_fields}
        return cls.model_construct(**{**fields, "evaluation": None, "evaluation_json": evaluation_json})


_EVALUATION_KEY = ',"evaluation":'
_LAST_HEAD_FIELD = '"evaluator_uscc":'


async def record_evaluation(db: Database, event: EvaluationCompleted) -> None:
    """Attach scoring's answer to its declaration (idempotent: a redelivery rewrites the same)."""
    received = event if isinstance(event, ReceivedEvaluation) else ReceivedEvaluation.of(event)
    await GroupCommit(db, record_evaluations)(received)


async def record_evaluations(s: AsyncSession, events: list[ReceivedEvaluation]) -> list[None]:
    """record_evaluation for many in one transaction (the consumer's group commit: greenfab/group_commit.py);
    an unknown declaration fails the group, and then only its own message when each is tried alone."""
    now = utcnow()
    for event in events:
        row = await s.get(Declaration, event.submission_id)
        if row is None:
            raise LookupError(f"evaluation for unknown declaration {event.submission_id}")
        # The text as received goes into the JSON column as it is (greenfab.db.JSONText), not re-encoded.
        text = event.evaluation_json
        row.evaluation = None if text == "null" else cast("dict[str, Any]", JSONText(text))
        row.error = event.error
        row.evaluated_at = now
        s.add(row)
    return [None] * len(events)


async def mark_failed(db: Database, declaration_id: str, reason: str) -> bool:
    """Set a declaration that is still pending to failed with ``reason``; whether it did (one already answered
    keeps its answer)."""
    async with db.session() as s:
        row = await s.get(Declaration, declaration_id)
        if row is None or row.evaluation is not None or row.error:
            return False
        row.error = reason
        row.evaluated_at = utcnow()
        s.add(row)
        await s.commit()
    return True


def _same_link(declaration_id: str, item: str, sha256: str) -> SelectOfScalar[EvidenceFile]:
    return select(EvidenceFile).where(
        EvidenceFile.declaration_id == declaration_id, EvidenceFile.item == item, EvidenceFile.sha256 == sha256
    )


async def link_evidence(
    db: Database, declaration_id: str, item: str, sha256: str, filename: str, content_type: str, size: int
) -> EvidenceFile:
    """Link stored bytes to an indicator (idempotent: the same file twice is one link)."""
    async with db.session() as s:
        row = (await s.exec(_same_link(declaration_id, item, sha256))).first()
        if row is not None:
            return row
        row = EvidenceFile(
            declaration_id=declaration_id,
            item=item,
            sha256=sha256,
            filename=filename,
            content_type=content_type,
            size=size,
        )
        s.add(row)
        try:
            await s.commit()
        except IntegrityError:
            await s.rollback()
            again = await s.exec(
                select(EvidenceFile).where(
                    EvidenceFile.declaration_id == declaration_id,
                    EvidenceFile.item == item,
                    EvidenceFile.sha256 == sha256,
                )
            )
            return again.one()
        return row


async def evidence_of(db: Database, declaration_id: str) -> list[EvidenceFile]:
    async with db.session() as s:
        rows = await s.exec(
            select(EvidenceFile).where(EvidenceFile.declaration_id == declaration_id).order_by(col(EvidenceFile.id))
        )
        return list(rows.all())


def notice_public(row: NoticeRecord) -> NoticePublic:
    return NoticePublic(
        id=row.id, kind=row.kind, uscc=row.uscc, received_at=row.received_at, actor=row.actor, notice=row.body
    )


async def accept_notice(
    db: Database, notice: BaseModel, principal: Principal, district: str | None
) -> tuple[NoticePublic, bool]:
    """Store a notice about a unit in ``district`` and its event in one transaction; a retry with the same
    notice_id by the same sender gets the first answer, anyone else's is a conflict (and learns nothing of it)."""
    body = notice.model_dump(mode="json")
    fingerprint = hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    notice_id = body.get("notice_id") or new_id()
    async with db.session() as s:
        existing = await s.get(NoticeRecord, notice_id)
    if existing is not None:
        if existing.fingerprint != fingerprint or existing.actor != principal.actor().model_dump():
            raise Conflict(
                FieldError(
                    path="$.notice_id",
                    code="idempotency_conflict",
                    message_zh="该编号已用于另一份不同的通知",
                    message_en="this notice_id was already used for a different notice",
                )
            )
        return notice_public(existing), False
    row = NoticeRecord(
        id=notice_id,
        kind=body["kind"],
        uscc=body["uscc"],
        district=district,
        actor=principal.actor().model_dump(),
        body=body,
        fingerprint=fingerprint,
    )
    event = NoticeReceived(
        correlation_id=new_id(),
        actor=principal.actor(),
        notice_id=notice_id,
        uscc=row.uscc,
        district=district,
        notice=body,
    )
    async with db.session() as s:
        s.add(row)
        s.add(
            OutboxMessage(message_id=event.id, subject=subjects.NOTICE_RECEIVED, payload=event.model_dump(mode="json"))
        )
        try:
            await s.commit()
        except IntegrityError:
            await s.rollback()
            again = await s.get(NoticeRecord, notice_id)
            if again is None:
                raise
            return notice_public(again), False
    return notice_public(row), True


async def get_notice(db: Database, notice_id: str) -> NoticeRecord | None:
    async with db.session() as s:
        return await s.get(NoticeRecord, notice_id)
