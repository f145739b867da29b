"""Accepting a declaration, whichever front end it came through: JSON, a form as typed, a workbook.

Each front end (HTTP routes, the NATS request/reply subject) is a thin adapter over this; every
refusal is a ProblemError carrying the RFC 9457 problem with every bad field.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError

from contracts.http import DeclarationCreate, DeclarationPublic, FieldError
from contracts.schemes import Scheme
from greenfab.auth import Principal, can_declare
from greenfab.db import Database
from greenfab.http import ProblemError, field_errors
from greenfab.inputs import Catalogue, load_catalogue
from services.intake import handlers
from services.intake.forms import FormSpec, load_forms, read_form
from services.intake.workbook import WorkbookError, read_workbook


def input_errors(catalogue: Catalogue, decl: DeclarationCreate, paths: Mapping[str, str]) -> list[FieldError]:
    """The input catalogue's problems as field errors: one per field named (both fields of a pair).

    ``paths`` maps an input to where the sender wrote it (a form's label path); else ``$.data.<input>``.
    """
    out = []
    for p in catalogue.check(decl.data, decl.declared_on):
        for name in p.fields:
            if name == "declared_on":
                path = "$.declared_on"
            else:
                head, dot, rest = name.partition(".")
                base = head.split("[")[0]
                path = paths[base] + name[len(base) :] if base in paths else f"$.data.{head}{dot}{rest}"
            out.append(FieldError(path=path, code=p.code, message_zh=p.message_zh, message_en=p.message_en))
    return out


def form_paths(spec: FormSpec) -> dict[str, str]:
    """Each input a form fills → the JSON path of its label, so a refusal points at what was typed."""
    out: dict[str, str] = {}
    for label, field in spec.fields.items():
        for name in [field["input"]] if "input" in field else field.get("inputs", []):
            out.setdefault(name, "$." + ".".join(label.split("/")))
    return out


class Submissions:
    def __init__(self, db: Database, on_commit: Callable[[], None], catalogue: Catalogue | None = None) -> None:
        self._db = db
        self._on_commit = on_commit
        self.forms = load_forms()
        # What a declaration's data may hold (rules/inputs, rules/eligibility/events.yaml): checked before storing.
        self.catalogue = catalogue or load_catalogue()

    def committed(self) -> None:
        """Something with an outbox event was committed: publish now rather than at the next poll."""
        self._on_commit()

    async def declare(
        self,
        body: DeclarationCreate,
        who: Principal,
        key: str | None,
        raw: dict[str, Any] | None = None,
        paths: Mapping[str, str] | None = None,
    ) -> tuple[DeclarationPublic, bool]:
        """Store a typed declaration (its USCC and district already checked by its model); (answer, created?).

        Nothing is stored unless every input is acceptable.
        """
        decl = body
        errors = input_errors(self.catalogue, decl, paths or {})
        if errors:
            raise ProblemError(422, "申报内容有误 / Invalid declaration", f"{len(errors)} field(s) invalid", errors)
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
        spec = self.forms[scheme]
        body, raw, errors = read_form(spec, form)
        try:
            decl = DeclarationCreate.model_validate(body)
        except ValidationError as exc:
            # A header field (申报单位, 统一社会信用代码, …) is named by the form's label, as every input is.
            header = {f"$.{name}": f"$.{labels[0]}" for name, labels in spec.header.items()}
            errors += [
                e.model_copy(update={"path": header.get(e.path, e.path)}) for e in field_errors(list(exc.errors()))
            ]
            decl = None
        paths = form_paths(spec)
        if decl is not None:
            errors += input_errors(self.catalogue, decl, paths)
        if errors or decl is None:
            raise ProblemError(422, "申报表内容有误 / Invalid form", f"{len(errors)} field(s) invalid", errors)
        return await self.declare(decl, who, key, raw, paths)

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
