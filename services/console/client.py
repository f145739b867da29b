"""Every call the console makes to the services' HTTP APIs, in one place.

Each method takes the signed-in person's token, so every scope rule stays in the services. A
refusal comes back as ApiError carrying the service's problem document (status, Chinese and
English title, each bad field). List methods follow cursor pages when a service answers with
``{"items": [...], "next_cursor": ...}`` and accept a plain list too, so paging can arrive in a
service without touching the pages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from contracts import labels
from contracts.advice import Advice
from contracts.audit import AuditRecord
from contracts.forms import FormDefinition
from contracts.http import DeclarationPublic, DeclarationSummary, EvidenceReport, FieldError, Notification
from contracts.notify import Delivery
from contracts.staff import (
    CallPublic,
    EvaluatorBanPublic,
    ListedUnit,
    PoolEntryPublic,
    PublicCounts,
    PublishedGrade,
    TaskDetail,
    TaskPublic,
    UnitDetail,
    UnitRow,
)
from services.console.settings import ConsoleSettings

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PAGE = 500  # the largest page every list route accepts
HISTORY = 5_000  # a unit's audit timeline shown on its page (the whole one is the CSV export)


@dataclass
class ApiError(Exception):
    """A service refused or could not answer; ``errors`` name each bad field."""

    status: int
    title: str
    detail: str | None = None
    errors: list[FieldError] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.status} {self.title}"

    @property
    def title_zh(self) -> str:
        """The Chinese half of a bilingual title ("中文 / English")."""
        return self.title.split(" / ", 1)[0]

    def messages_zh(self) -> list[str]:
        """What to show a person: each field's Chinese message, or the title when no field is named."""
        return [e.message_zh for e in self.errors] or [self.title_zh]


def _error(response: httpx.Response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    errors = [FieldError.model_validate(e) for e in body.get("errors") or [] if isinstance(e, dict)]
    title = str(body.get("title") or f"服务返回 {response.status_code} / Service answered {response.status_code}")
    return ApiError(response.status_code, title, body.get("detail"), errors)


class Services:
    """The intake, staff (workflow), notify, audit and scoring APIs."""

    def __init__(self, settings: ConsoleSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.base = {
            "intake": settings.intake_url.rstrip("/"),
            "workflow": settings.workflow_url.rstrip("/"),
            "notify": settings.notify_url.rstrip("/"),
            "audit": settings.audit_url.rstrip("/"),
            "scoring": settings.scoring_url.rstrip("/"),
        }
        self.http = httpx.AsyncClient(timeout=settings.api_timeout_s, transport=transport)

    async def close(self) -> None:
        await self.http.aclose()

    async def call(
        self,
        method: str,
        service: str,
        path: str,
        token: str | None,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """One request; ApiError for anything but a 2xx (503 when the service cannot be reached)."""
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        query = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
        try:
            response = await self.http.request(
                method, self.base[service] + path, params=query, json=json, content=content, headers=sent
            )
        except httpx.HTTPError as exc:
            raise ApiError(503, f"{labels.service_zh(service)}暂不可用 / {service} unavailable", str(exc)) from exc
        if response.is_success:
            return response
        raise _error(response)

    async def collect(
        self, service: str, path: str, token: str | None, params: dict[str, Any] | None = None, limit: int = PAGE
    ) -> list[Any]:
        """Up to ``limit`` rows of a list route, page after page."""
        out: list[Any] = []
        cursor: str | None = None
        while len(out) < limit:
            query = {**(params or {}), "limit": min(PAGE, limit - len(out)), "cursor": cursor}
            body = (await self.call("GET", service, path, token, params=query)).json()
            if isinstance(body, list):
                out.extend(body)
                break
            out.extend(body.get("items", []))
            cursor = body.get("next_cursor")
            if not cursor:
                break
        return out[:limit]

    # ----- intake ------------------------------------------------------------------------------

    async def form_definition(self, scheme: str) -> FormDefinition:
        return FormDefinition.model_validate((await self.call("GET", "intake", f"/v1/forms/{scheme}", None)).json())

    async def form_template(self, scheme: str) -> bytes:
        return (await self.call("GET", "intake", f"/v1/forms/{scheme}/template.xlsx", None)).content

    async def declare_form(self, token: str, scheme: str, form: dict[str, Any], key: str) -> DeclarationPublic:
        r = await self.call("POST", "intake", f"/v1/forms/{scheme}", token, json=form, headers={"Idempotency-Key": key})
        return DeclarationPublic.model_validate(r.json())

    async def declare_workbook(self, token: str, scheme: str, content: bytes, key: str) -> DeclarationPublic:
        headers = {"Content-Type": XLSX, "Idempotency-Key": key}
        r = await self.call("POST", "intake", f"/v1/forms/{scheme}/xlsx", token, content=content, headers=headers)
        return DeclarationPublic.model_validate(r.json())

    async def declarations(self, token: str, limit: int = 50) -> list[DeclarationSummary]:
        rows = await self.collect("intake", "/v1/declarations", token, limit=limit)
        return [DeclarationSummary.model_validate(r) for r in rows]

    async def declaration(self, token: str, declaration_id: str) -> DeclarationPublic:
        r = await self.call("GET", "intake", f"/v1/declarations/{declaration_id}", token)
        return DeclarationPublic.model_validate(r.json())

    async def evidence(self, token: str, declaration_id: str) -> EvidenceReport:
        r = await self.call("GET", "intake", f"/v1/declarations/{declaration_id}/evidence", token)
        return EvidenceReport.model_validate(r.json())

    async def upload_evidence(
        self, token: str, declaration_id: str, item: str, filename: str, content_type: str, content: bytes
    ) -> None:
        path = f"/v1/declarations/{declaration_id}/evidence/{item}"
        await self.call(
            "POST", "intake", path, token, params={"filename": filename}, content=content,
            headers={"Content-Type": content_type},
        )  # fmt: skip

    async def evidence_file(self, token: str, declaration_id: str, item: str, sha256: str) -> httpx.Response:
        return await self.call("GET", "intake", f"/v1/declarations/{declaration_id}/evidence/{item}/{sha256}", token)

    async def send_notice(self, token: str, notice: dict[str, Any]) -> dict[str, Any]:
        return dict((await self.call("POST", "intake", "/v1/notices", token, json=notice)).json())

    # ----- staff API (workflow) ----------------------------------------------------------------

    async def tasks(self, token: str, status: str = "active", kind: str | None = None) -> list[TaskPublic]:
        rows = await self.collect("workflow", "/v1/tasks", token, {"status": status, "kind": kind})
        return [TaskPublic.model_validate(r) for r in rows]

    async def task(self, token: str, task_id: str) -> TaskDetail:
        return TaskDetail.model_validate((await self.call("GET", "workflow", f"/v1/tasks/{task_id}", token)).json())

    async def claim(self, token: str, task_id: str, release: bool = False) -> None:
        await self.call("POST", "workflow", f"/v1/tasks/{task_id}/{'release' if release else 'claim'}", token)

    async def decide(self, token: str, task_id: str, decision: dict[str, Any]) -> TaskPublic:
        r = await self.call("POST", "workflow", f"/v1/tasks/{task_id}/decision", token, json=decision)
        return TaskPublic.model_validate(r.json())

    async def units(self, token: str, filters: dict[str, Any], limit: int = 100) -> list[UnitRow]:
        rows = await self.collect("workflow", "/v1/units", token, filters, limit=limit)
        return [UnitRow.model_validate(r) for r in rows]

    async def unit(self, token: str, workflow_id: str) -> UnitDetail:
        return UnitDetail.model_validate((await self.call("GET", "workflow", f"/v1/units/{workflow_id}", token)).json())

    async def unit_action(self, token: str, workflow_id: str, action: dict[str, Any]) -> UnitDetail:
        r = await self.call("POST", "workflow", f"/v1/units/{workflow_id}/actions", token, json=action)
        return UnitDetail.model_validate(r.json())

    async def calls(self) -> list[CallPublic]:
        return [CallPublic.model_validate(r) for r in await self.collect("workflow", "/v1/calls", None)]

    async def open_call(self, token: str, call: dict[str, Any]) -> CallPublic:
        return CallPublic.model_validate((await self.call("POST", "workflow", "/v1/calls", token, json=call)).json())

    async def pool(self, token: str) -> list[PoolEntryPublic]:
        return [PoolEntryPublic.model_validate(r) for r in await self.collect("workflow", "/v1/pool", token)]

    async def add_to_pool(self, token: str, entry: dict[str, Any]) -> None:
        await self.call("POST", "workflow", "/v1/pool", token, json=entry)

    async def bans(self) -> list[EvaluatorBanPublic]:
        rows = await self.collect("workflow", "/v1/evaluator-bans", None)
        return [EvaluatorBanPublic.model_validate(r) for r in rows]

    async def ban_evaluator(self, token: str, ban: dict[str, Any]) -> None:
        await self.call("POST", "workflow", "/v1/evaluator-bans", token, json=ban)

    async def page(
        self, service: str, path: str, token: str | None, params: dict[str, Any], cursor: str | None, limit: int = PAGE
    ) -> tuple[list[Any], str | None]:
        """One page of a list route and the next page's cursor (None on the last)."""
        body = (
            await self.call("GET", service, path, token, params={**params, "limit": limit, "cursor": cursor})
        ).json()
        return list(body["items"]), body.get("next_cursor")

    async def public_counts(self) -> PublicCounts:
        """The published lists counted by district (the dashboard's figures), in one call."""
        return PublicCounts.model_validate((await self.call("GET", "workflow", "/v1/public/counts", None)).json())

    async def public_listed(
        self, filters: dict[str, Any], cursor: str | None = None
    ) -> tuple[list[ListedUnit], str | None]:
        rows, following = await self.page("workflow", "/v1/public/listed", None, filters, cursor, 100)
        return [ListedUnit.model_validate(r) for r in rows], following

    async def public_grades(
        self, filters: dict[str, Any], cursor: str | None = None
    ) -> tuple[list[PublishedGrade], str | None]:
        rows, following = await self.page("workflow", "/v1/public/grades", None, filters, cursor, 100)
        return [PublishedGrade.model_validate(r) for r in rows], following

    # ----- notify and audit --------------------------------------------------------------------

    async def inbox(self, token: str, limit: int = 50) -> list[Notification]:
        return [Notification.model_validate(r) for r in await self.collect("notify", "/v1/inbox", token, limit=limit)]

    async def deliveries(self, token: str, status: str | None = None, limit: int = 100) -> list[Delivery]:
        rows = await self.collect("notify", "/v1/deliveries", token, {"status": status}, limit=limit)
        return [Delivery.model_validate(r) for r in rows]

    async def retry_delivery(self, token: str, delivery_id: int) -> None:
        await self.call("POST", "notify", f"/v1/deliveries/{delivery_id}/retry", token)

    async def history(self, token: str, uscc: str) -> list[AuditRecord]:
        rows = await self.collect("audit", f"/v1/units/{uscc}/history", token, limit=HISTORY)
        return [AuditRecord.model_validate(r) for r in rows]

    # ----- scoring -----------------------------------------------------------------------------

    async def advice(self, token: str, uscc: str, scheme: str) -> Advice:
        """The advisor on the unit's latest declaration of ``scheme`` (the enterprise, its district, staff)."""
        response = await self.call("GET", "scoring", f"/v1/units/{uscc}/advice", token, params={"scheme": scheme})
        return Advice.model_validate(response.json())
