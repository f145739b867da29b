"""Staff pages: the task inbox, a task with everything its decision needs, and a unit's page.

Every action is the staff API's: a refusal (wrong district, closed task, a reason 第八条 needs)
is shown in place, in Chinese, with what the person typed kept, and nothing has changed.
"""

from __future__ import annotations

import contextlib
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from contracts.http import DeclarationPublic, EvidenceReport
from contracts.staff import TaskDetail, UnitDetail
from services.console import days, present
from services.console.client import ApiError, Services
from services.console.reference import DESIGNATIONS, DISTRICTS, GROUNDS, ITEM_STATUS_ZH
from services.console.web import STAFF, Api, SignedIn, Viewer, only, refusal_status, render

router = APIRouter()
ACTED_ZH = {"claimed": "已认领", "released": "已释放", "decided": "已提交决定"}


@router.get("/tasks")
async def inbox(
    request: Request,
    who: SignedIn,
    api: Api,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    district: Annotated[str | None, Query(max_length=20)] = None,
    soon: Annotated[str | None, Query(max_length=2)] = None,
    mine: Annotated[str | None, Query(max_length=2)] = None,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    only(who, *STAFF)
    today = days.today()
    rows = present.task_rows(await api.tasks(who.token), today)
    shown = present.filter_tasks(
        rows, today, kind, district, soon == "1", who.principal.subject if mine == "1" else None
    )
    return render(
        request, "inbox.html", rows=shown, total=len(rows), counts=present.kind_counts(rows),
        districts=DISTRICTS, filters={"kind": kind or "", "district": district or "", "soon": soon == "1",
                                      "mine": mine == "1"},
        done=ACTED_ZH.get(done or ""),
    )  # fmt: skip


async def _task_context(api: Services, who: Viewer, task: TaskDetail) -> dict[str, Any]:
    """The declaration as submitted, its evidence, and the unit's live timeline."""
    declaration: DeclarationPublic | None = None
    evidence: EvidenceReport | None = None
    unit: UnitDetail | None = None
    sid = task.context.get("submission_id")
    if isinstance(sid, str):
        with contextlib.suppress(ApiError):
            declaration = await api.declaration(who.token, sid)
            evidence = await api.evidence(who.token, sid)
    with contextlib.suppress(ApiError):
        unit = await api.unit(who.token, task.workflow_id)
    evaluation = task.evaluation or (declaration.evaluation if declaration else None)
    expert_item = None
    if task.kind == "expert_score" and evaluation is not None:
        expert_item = next((i for i in evaluation.items if i.id == task.context.get("item")), None)
    today = days.today()
    return {
        "task": task,
        "due": days.remaining(days.due_day(task.due_at), today) if task.due_at else None,
        "declaration": declaration,
        "evidence": evidence,
        "unit": unit,
        "evaluation": evaluation,
        "expert_item": expert_item,
        "expert_gap": present.expert_gap(evaluation) if evaluation else None,
        "score_svg": present.score_chart(evaluation) if evaluation else None,
        "timeline_svg": present.unit_timeline(unit, today) if unit else None,
        "grounds": GROUNDS,
        "status_zh": ITEM_STATUS_ZH,
        "designations": DESIGNATIONS,
        "can_act": who.role in STAFF and task.status in ("open", "claimed"),
    }


async def _task_page(
    request: Request, who: Viewer, api: Services, task_id: str, status: int = 200, **extra: Any
) -> Response:
    task = await api.task(who.token, task_id)
    context = await _task_context(api, who, task)
    context.update(extra)
    return render(request, "task.html", status, **context)


@router.get("/tasks/{task_id}")
async def task_page(
    request: Request, task_id: str, who: SignedIn, api: Api, done: Annotated[str | None, Query(max_length=20)] = None
) -> Response:
    only(who, *STAFF)
    return await _task_page(request, who, api, task_id, done=ACTED_ZH.get(done or ""), values={})


@router.post("/tasks/{task_id}/claim")
async def claim(request: Request, task_id: str, who: SignedIn, api: Api) -> Response:
    return await _claim(request, task_id, who, api, release=False)


@router.post("/tasks/{task_id}/release")
async def release(request: Request, task_id: str, who: SignedIn, api: Api) -> Response:
    return await _claim(request, task_id, who, api, release=True)


async def _claim(request: Request, task_id: str, who: Viewer, api: Services, release: bool) -> Response:
    only(who, *STAFF)
    try:
        await api.claim(who.token, task_id, release=release)
    except ApiError as exc:
        if exc.status in (401, 404):
            raise
        return await _task_page(request, who, api, task_id, refusal_status(exc), refusal=exc, values={})
    back = request.query_params.get("back") == "inbox"
    done = "released" if release else "claimed"
    return RedirectResponse(f"/tasks?done={done}" if back else f"/tasks/{task_id}?done={done}", status_code=303)


@router.post("/tasks/{task_id}/decision")
async def decide(
    request: Request,
    task_id: str,
    who: SignedIn,
    api: Api,
    decision: Annotated[str, Form(max_length=40)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
    ground: Annotated[str, Form(max_length=40)] = "",
    points: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Complete the task; a refusal comes back on the same page with the reason and points kept."""
    only(who, *STAFF)
    values = {"decision": decision, "reason": reason, "ground": ground, "points": points}
    field_errors: dict[str, str] = {}
    body: dict[str, Any] = {"decision": decision, "reason": reason.strip() or None, "ground": ground or None}
    if not decision:
        field_errors["decision"] = "请选择决定"
    if points.strip():
        try:
            body["points"] = str(Decimal(points.strip()))
        except InvalidOperation:
            field_errors["points"] = "分值应为数字，如 3 或 2.5"
    if field_errors:
        return await _task_page(request, who, api, task_id, 422, field_errors=field_errors, values=values)
    try:
        await api.decide(who.token, task_id, body)
    except ApiError as exc:
        if exc.status in (401, 404):
            raise
        return await _task_page(request, who, api, task_id, refusal_status(exc), refusal=exc, values=values)
    return RedirectResponse(f"/tasks/{task_id}?done=decided", status_code=303)


@router.get("/units/{workflow_id}")
async def unit_page(request: Request, workflow_id: str, who: SignedIn, api: Api) -> Response:
    """A unit: its state, running deadlines with working days left, score and timeline."""
    unit = await api.unit(who.token, workflow_id)
    declaration: DeclarationPublic | None = None
    if unit.submissions:
        with contextlib.suppress(ApiError):
            declaration = await api.declaration(who.token, unit.submissions[-1])
    today = days.today()
    deadlines = [{**d.model_dump(), "remaining": days.remaining(d.due_on, today)} for d in unit.deadlines]
    evaluation = declaration.evaluation if declaration else None
    advice = None
    if evaluation is not None and who.role in ("enterprise", "district", "bureau", "expert", "auditor"):
        with contextlib.suppress(ApiError):  # the advice is extra: the page stands without it
            advice = present.advice_panel(await api.advice(who.token, unit.uscc, evaluation.scheme.value))
    audit = []
    if who.role in ("bureau", "auditor"):
        with contextlib.suppress(ApiError):  # the audit record is extra: the page stands without it
            audit = [r for r in await api.history(who.token, unit.uscc) if r.workflow_id in ("", workflow_id)]
    return render(
        request, "unit.html", unit=unit, deadlines=deadlines, declaration=declaration, evaluation=evaluation,
        audit=audit, advice=advice,
        score_svg=present.score_chart(evaluation) if evaluation else None,
        timeline_svg=present.unit_timeline(unit, today), designations=DESIGNATIONS, status_zh=ITEM_STATUS_ZH,
    )  # fmt: skip
