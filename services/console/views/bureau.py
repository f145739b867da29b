"""The bureau's pages (auditors read them too, and can act on nothing): dashboard, calls, the district
pools, evaluator bans, the registry of units, dead deliveries."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from services.console import charts, days, present
from services.console.client import ApiError
from services.console.reference import DESIGNATIONS, DISTRICTS
from services.console.web import Api, SignedIn, only, refusal_status, render

router = APIRouter()
READERS = ("bureau", "auditor")
# The registry's state filter (the staff API's state names; the rows carry their own Chinese names).
STATES_ZH = {
    "awaiting_recommendation": "待区级推荐", "not_recommended": "区级未推荐", "under_review": "市级评审中",
    "rejected": "未通过", "publicity": "公示中", "objection_review": "公示异议处理中", "listed": "已入围",
    "under_recheck": "复核中", "revoked": "已撤销", "graded": "已分级", "grade_path": "未达三级整改中",
    "national_recommended": "已推荐国家级", "national_listed": "已入围国家级名单",
}  # fmt: skip
BAN_GROUNDS = {"falsification": "弄虚作假", "concealment": "故意隐瞒", "miit_blacklist": "工信部平台黑名单"}


@router.get("/dashboard")
async def dashboard(request: Request, who: SignedIn, api: Api) -> Response:
    """Units per level per district; tasks due this week and overdue."""
    only(who, *READERS, "district")
    tasks, counts = await asyncio.gather(api.tasks(who.token), api.public_counts())
    today = days.today()
    rows = present.task_rows(tasks, today)
    groups, keys = present.levels_by_district(counts.grades)
    return render(
        request, "dashboard.html",
        levels_svg=charts.stacked(groups, keys, present.LEVEL_ZH, "各区绿色分级单位数（按等级）", "levels"),
        groups=groups, keys=keys, level_zh=present.LEVEL_ZH,
        week_svg=charts.columns(present.week_columns(rows, today), "本周到期及已逾期的待办", "week"),
        week=present.week_columns(rows, today), overdue=[r for r in rows if r.overdue],
        listed_by_district=present.listed_by_district(counts.listed), listed_total=counts.listed_total,
    )  # fmt: skip


@router.get("/calls")
async def calls(request: Request, who: SignedIn, api: Api) -> Response:
    return render(request, "calls.html", calls=await api.calls(), values={}, errors={}, can_open=who.role == "bureau")


@router.post("/calls")
async def open_call(
    request: Request,
    who: SignedIn,
    api: Api,
    scheme: Annotated[str, Form(max_length=40)] = "",
    title: Annotated[str, Form(max_length=200)] = "",
    opens_on: Annotated[str, Form(max_length=20)] = "",
    closes_on: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    values = {"scheme": scheme, "title": title, "opens_on": opens_on, "closes_on": closes_on}
    errors: dict[str, list[str]] = {}
    for name in values:
        if not values[name].strip():
            errors.setdefault(name, []).append("必填")
    if not errors:
        try:
            await api.open_call(who.token, values)
            return RedirectResponse("/calls?done=1", status_code=303)
        except ApiError as exc:
            if exc.status == 401:
                raise
            return render(request, "calls.html", refusal_status(exc), calls=await api.calls(), values=values,
                          errors=_by_field(exc), refusal=exc, can_open=who.role == "bureau")  # fmt: skip
    return render(request, "calls.html", 422, calls=await api.calls(), values=values, errors=errors,
                  can_open=who.role == "bureau")  # fmt: skip


def _by_field(exc: ApiError) -> dict[str, list[str]]:
    """A problem's field errors keyed by the body field their JSON path names (`$.title` → title)."""
    out: dict[str, list[str]] = {}
    for e in exc.errors:
        name = e.path.removeprefix("$.").split(".")[0].split("[")[0] or "_"
        out.setdefault(name, []).append(e.message_zh)
    return out


@router.get("/registry")
async def registry(
    request: Request,
    who: SignedIn,
    api: Api,
    designation: Annotated[str | None, Query(max_length=40)] = None,
    district: Annotated[str | None, Query(max_length=20)] = None,
    state: Annotated[str | None, Query(max_length=40)] = None,
    level: Annotated[str | None, Query(max_length=2)] = None,
) -> Response:
    """Every unit the person may see, filtered by scheme, district, state and level."""
    only(who, *READERS, "district", "expert")
    filters: dict[str, Any] = {
        "designation": designation or None, "district": district or None, "state": state or None,
        "level": int(level) if level and level.isdigit() else None,
    }  # fmt: skip
    limit = 200
    units = await api.units(who.token, filters, limit=limit)
    return render(
        request, "registry.html", units=units, filters={k: v or "" for k, v in filters.items()}, limit=limit,
        designations=DESIGNATIONS, districts=DISTRICTS, states=STATES_ZH, level_zh=present.LEVEL_ZH,
    )  # fmt: skip


@router.get("/pool")
async def pool(request: Request, who: SignedIn, api: Api) -> Response:
    only(who, *READERS, "district")
    return render(request, "pool.html", entries=await api.pool(who.token), values={}, errors={})


@router.post("/pool")
async def add_to_pool(
    request: Request,
    who: SignedIn,
    api: Api,
    uscc: Annotated[str, Form(max_length=40)] = "",
    enterprise_name: Annotated[str, Form(max_length=200)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    values = {"uscc": uscc.strip().upper(), "enterprise_name": enterprise_name.strip(), "note": note.strip() or None}
    try:
        await api.add_to_pool(who.token, values)
    except ApiError as exc:
        if exc.status == 401:
            raise
        return render(request, "pool.html", refusal_status(exc), entries=await api.pool(who.token),
                      values=values, errors=_by_field(exc), refusal=exc)  # fmt: skip
    return RedirectResponse("/pool", status_code=303)


@router.get("/bans")
async def bans(request: Request, who: SignedIn, api: Api) -> Response:
    return render(request, "bans.html", bans=await api.bans(), grounds=BAN_GROUNDS, values={}, errors={})


@router.post("/bans")
async def ban(
    request: Request,
    who: SignedIn,
    api: Api,
    evaluator_uscc: Annotated[str, Form(max_length=40)] = "",
    ground: Annotated[str, Form(max_length=40)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    values = {"evaluator_uscc": evaluator_uscc.strip().upper(), "ground": ground, "reason": reason.strip()}
    try:
        await api.ban_evaluator(who.token, values)
    except ApiError as exc:
        if exc.status == 401:
            raise
        return render(request, "bans.html", refusal_status(exc), bans=await api.bans(), grounds=BAN_GROUNDS,
                      values=values, errors=_by_field(exc), refusal=exc)  # fmt: skip
    return RedirectResponse("/bans", status_code=303)


@router.get("/deliveries")
async def deliveries(
    request: Request, who: SignedIn, api: Api, status: Annotated[str | None, Query(max_length=10)] = "dead"
) -> Response:
    only(who, *READERS)
    rows = await api.deliveries(who.token, status or None)
    return render(request, "deliveries.html", rows=rows, shown=status or "")


@router.post("/deliveries/{delivery_id}/retry")
async def retry(request: Request, delivery_id: int, who: SignedIn, api: Api) -> Response:
    try:
        await api.retry_delivery(who.token, delivery_id)
    except ApiError as exc:
        if exc.status == 401:
            raise
        rows = await api.deliveries(who.token, "dead") if who.role in READERS else []
        return render(request, "deliveries.html", refusal_status(exc), rows=rows, shown="dead", refusal=exc)
    return RedirectResponse("/deliveries?status=dead", status_code=303)
