"""Intake's use cases as the HTTP routes call them: each checks who may see or change what, then acts.

A declaration or notice that is absent and one that is not the caller's get the same 404, so ids cannot be
probed. Refusals are problem documents in Chinese and English; storage is in handlers.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from contracts.http import (
    DeclarationPublic,
    DeclarationSummary,
    EvidenceIndicator,
    EvidencePublic,
    EvidenceReport,
    EvidenceStatus,
    FieldError,
    NoticePublic,
)
from contracts.notices import AnyNotice
from contracts.paging import Page
from contracts.schemes import SCHEME_LABELS, Scheme
from greenfab.auth import Principal, can_declare, can_read_enterprise
from greenfab.db import Database
from greenfab.http import ProblemError
from greenfab.paging import PageAsk
from services.intake import handlers, notices
from services.intake.evidence import EvidenceError, EvidenceStore, check_file, requirements, safe_name
from services.intake.indicators import Indicator, Indicators
from services.intake.submissions import Submissions
from services.intake.tables import Declaration, EvidenceFile

# Who may list declarations at all; each sees only its own scope (an enterprise its USCC, a district its own).
LISTS_DECLARATIONS = frozenset({"enterprise", "district", "bureau", "auditor", "expert"})


@dataclass(frozen=True)
class Desk:
    """What intake's use cases need: the database, the submission rules, the evidence store, unit lookup
    and the rulebooks' indicators (which evidence may be filed under; the repository's rules by default)."""

    db: Database
    submissions: Submissions
    store: EvidenceStore
    units_of: notices.UnitLookup
    indicators: Indicators = field(default_factory=Indicators)


def _not_found(what: str, ident: str) -> ProblemError:
    return ProblemError(404, "未找到该申报 / Not found", f"no {what} {ident} visible to you")


async def readable(desk: Desk, declaration_id: str, who: Principal) -> Declaration:
    """The declaration if the caller may read it (its enterprise, its district, bureau, experts, auditors)."""
    row = await handlers.get_declaration(desk.db, declaration_id)
    if row is None or not can_read_enterprise(who, row.uscc, row.district):
        raise _not_found("declaration", declaration_id)
    return row


async def declaration(desk: Desk, declaration_id: str, who: Principal) -> DeclarationPublic:
    return handlers.to_public(await readable(desk, declaration_id, who))


async def declarations(desk: Desk, who: Principal, ask: PageAsk) -> Page[DeclarationSummary]:
    """One page of the declarations within the caller's scope, newest first."""
    if who.role not in LISTS_DECLARATIONS:
        raise ProblemError(403, "无权查看申报 / Not allowed")
    uscc = who.scope if who.role == "enterprise" else None
    district = who.scope if who.role == "district" else None
    return await handlers.list_declarations(desk.db, uscc=uscc, district=district, ask=ask)


async def uploadable(desk: Desk, row: Declaration) -> tuple[Indicator, ...]:
    """The indicators evidence may be filed under on this declaration (its form's list, else its rulebook's)."""
    scheme = Scheme(row.scheme)
    asked = desk.submissions.forms[scheme].evidence
    # The rulebook is read (and re-read once changed) off the event loop.
    return await asyncio.to_thread(desk.indicators.uploadable, scheme, row.declared_on, asked)


def _unknown_indicator(item: str, scheme: str, allowed: tuple[Indicator, ...]) -> ProblemError:
    some = "、".join(i.id for i in allowed[:5]) + ("…" if len(allowed) > 5 else "")
    some_en = ", ".join(i.id for i in allowed[:5]) + (", …" if len(allowed) > 5 else "")
    error = FieldError(
        path="$.item",
        code="unknown_indicator",
        message_zh=f"{item} 不是本申报（{SCHEME_LABELS[Scheme(scheme)]}）的评价指标，"
        f"可上传的指标如 {some}（共 {len(allowed)} 项）",
        message_en=f"{item} is not an indicator of this {scheme} declaration; valid ones include {some_en}"
        f" ({len(allowed)} in all)",
    )
    return ProblemError(422, "没有该评价指标 / Unknown indicator", error.message_en, [error])


async def attach_evidence(
    desk: Desk,
    declaration_id: str,
    item: str,
    who: Principal,
    body: Callable[[], Awaitable[bytes]],
    content_type: str,
    filename: str,
) -> EvidencePublic:
    """Check and store a file for one of the declaration's indicators; only the enterprise that declared may.

    ``body`` reads the upload: it is read only once the caller may upload, not before.
    """
    row = await readable(desk, declaration_id, who)
    if not can_declare(who, row.uscc):
        raise ProblemError(403, "只有申报单位可以上传证明材料 / Not allowed", "only the enterprise may add evidence")
    # Before the body is read: a file for an indicator the scheme does not have is refused unread.
    allowed = await uploadable(desk, row)
    if item not in {i.id for i in allowed}:
        raise _unknown_indicator(item, row.scheme, allowed)
    content = await body()
    if not content:
        raise ProblemError(422, "文件为空 / Empty file", "the upload has no content")
    try:
        # Parsing a PDF or an archive's directory is CPU work: off the event loop.
        await asyncio.to_thread(check_file, content_type, content)
    except EvidenceError as exc:
        error = FieldError(path="$", code=exc.code, message_zh=exc.message_zh, message_en=exc.message_en)
        raise ProblemError(exc.status, exc.message_zh, exc.message_en, [error]) from exc
    digest = await asyncio.to_thread(desk.store.put, content)
    name = safe_name(filename, content_type)
    link = await handlers.link_evidence(desk.db, declaration_id, item, digest, name, content_type, len(content))
    return EvidencePublic.model_validate(link, from_attributes=True)


async def evidence_report(desk: Desk, declaration_id: str, who: Principal) -> EvidenceReport:
    """Each indicator's evidence: what the form asks for, what was uploaded, what is missing."""
    row = await readable(desk, declaration_id, who)
    linked: dict[str, list[dict[str, Any]]] = {}
    for f in await handlers.evidence_of(desk.db, declaration_id):
        linked.setdefault(f.item, []).append(EvidencePublic.model_validate(f, from_attributes=True).model_dump())
    asked = dict(desk.submissions.forms[Scheme(row.scheme)].evidence)
    for extra in linked:
        asked.setdefault(extra, {"required": False, "what": ""})
    items = [
        EvidenceStatus(
            item=r.item,
            required=r.required,
            what=r.what,
            status=r.status,
            severity=None if r.status == "ok" else ("error" if r.required else "warning"),
            files=[EvidencePublic(**f) for f in r.files],
        )
        for r in requirements(asked, linked)
    ]
    complete = all(i.status != "missing_required" for i in items)
    indicators = [EvidenceIndicator(id=i.id, name_zh=i.name_zh) for i in await uploadable(desk, row)]
    return EvidenceReport(declaration_id=declaration_id, complete=complete, items=items, indicators=indicators)


async def evidence_file(desk: Desk, declaration_id: str, item: str, sha256: str, who: Principal) -> EvidenceFile:
    """One evidence file's record on a declaration the caller may read."""
    await readable(desk, declaration_id, who)
    for f in await handlers.evidence_of(desk.db, declaration_id):
        if f.item == item and f.sha256 == sha256:
            return f
    raise ProblemError(404, "未找到该文件 / Not found", "no such evidence file on this declaration")


async def submit_notice(desk: Desk, notice: AnyNotice, who: Principal) -> tuple[NoticePublic, bool]:
    """Check the notice against the unit it is about (while the sender waits), then store it; (answer, created?)."""
    district = await notices.check(desk.units_of, notice, who)
    try:
        answer, created = await handlers.accept_notice(desk.db, notice, who, district)
    except handlers.Conflict as exc:
        raise ProblemError(409, "重复提交冲突 / Conflict", exc.error.message_en, [exc.error]) from exc
    if created:
        desk.submissions.committed()
    return answer, created


async def notice(desk: Desk, notice_id: str, who: Principal) -> NoticePublic:
    """A notice: for its sender, the enterprise it is about, its district, and bureau or auditors."""
    row = await handlers.get_notice(desk.db, notice_id)
    visible = row is not None and (
        row.actor.get("subject") == who.subject or can_read_enterprise(who, row.uscc, row.district or "")
    )
    if row is None or not visible:
        raise ProblemError(404, "未找到该通知 / Not found", f"no notice {notice_id} visible to you")
    return handlers.notice_public(row)
