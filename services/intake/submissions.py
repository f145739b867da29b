"""Accepting a declaration, whichever front end it came through: JSON, a form as typed, a workbook.

Each front end (HTTP routes, the NATS request/reply subject) is a thin adapter over this; every
refusal is a ProblemError carrying the RFC 9457 problem with every bad field.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from contracts.http import DeclarationCreate, DeclarationPublic, FieldError
from contracts.schemes import Scheme
from greenfab.auth import Principal, can_declare
from greenfab.db import Database
from greenfab.http import ProblemError, field_errors
from services.intake import handlers
from services.intake.forms import load_forms, read_form
from services.intake.workbook import WorkbookError, read_workbook


class Submissions:
    def __init__(self, db: Database, on_commit: Callable[[], None]) -> None:
        self._db = db
        self._on_commit = on_commit
        self.forms = load_forms()

    def committed(self) -> None:
        """Something with an outbox event was committed: publish now rather than at the next poll."""
        self._on_commit()

    async def declare(
        self, body: DeclarationCreate, who: Principal, key: str | None, raw: dict[str, Any] | None = None
    ) -> tuple[DeclarationPublic, bool]:
        """Store a typed declaration (its USCC and district already checked by its model); (answer, created?)."""
        decl = body
        if not can_declare(who, decl.uscc):
            raise ProblemError(
                403, "无权为该单位申报 / Not allowed", "only the enterprise itself may declare for its USCC"
            )
        try:
            answer, created = await handlers.accept_declaration(self._db, decl, who, key, raw)
        except handlers.Conflict as exc:
            raise ProblemError(409, "重复提交冲突 / Conflict", exc.error.message_en, [exc.error]) from exc
        if created:
            self._on_commit()
        return answer, created

    async def declare_form(
        self, scheme: Scheme, form: dict[str, Any], who: Principal, key: str | None
    ) -> tuple[DeclarationPublic, bool]:
        """Normalise a form as typed, then store it with its raw values."""
        body, raw, errors = read_form(self.forms[scheme], form)
        try:
            decl = DeclarationCreate.model_validate(body)
        except ValidationError as exc:
            errors += field_errors(list(exc.errors()))
            decl = None
        if errors or decl is None:
            raise ProblemError(422, "申报表内容有误 / Invalid form", f"{len(errors)} field(s) invalid", errors)
        return await self.declare(decl, who, key, raw)

    async def declare_workbook(
        self, scheme: Scheme, content: bytes, who: Principal, key: str | None
    ) -> tuple[DeclarationPublic, bool]:
        """Read a filled workbook in a worker thread (bounded: see workbook.py), then store it as its form."""
        try:
            form = await asyncio.to_thread(read_workbook, self.forms[scheme], content)
        except WorkbookError as exc:
            error = FieldError(path="$", code=exc.code, message_zh=exc.message_zh, message_en=exc.message_en)
            raise ProblemError(422, "工作簿有误 / Invalid workbook", str(exc), [error]) from exc
        return await self.declare_form(scheme, form, who, key)
