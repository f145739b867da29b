"""Pages anyone can read without signing in: the start page, the listed units and published grades by
district and year (003 第十九条), and the calls."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.console.reference import DESIGNATIONS, DISTRICTS
from services.console.web import Api, MaybeViewer, render

router = APIRouter()


@router.get("/")
async def home(request: Request, who: MaybeViewer) -> Response:
    return render(request, "home.html")


@router.get("/public/listed")
async def listed(
    request: Request,
    api: Api,
    district: Annotated[str | None, Query(max_length=20)] = None,
    year: Annotated[str | None, Query(max_length=4)] = None,
    designation: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    designation = designation if designation in DESIGNATIONS else None
    units = await api.public_listed(designation)
    years = sorted({u.listed_on.year for u in units if u.listed_on}, reverse=True)
    shown = [
        u for u in units
        if (not district or u.district == district) and (not year or (u.listed_on and str(u.listed_on.year) == year))
    ]  # fmt: skip
    return render(
        request, "public_listed.html", units=shown, years=years, districts=DISTRICTS, designations=DESIGNATIONS,
        filters={"district": district or "", "year": year or "", "designation": designation or ""},
    )  # fmt: skip


@router.get("/public/grades")
async def grades(
    request: Request,
    api: Api,
    district: Annotated[str | None, Query(max_length=20)] = None,
    year: Annotated[str | None, Query(max_length=4)] = None,
) -> Response:
    rows = await api.public_grades()
    years = sorted({g.graded_on.year for g in rows if g.graded_on}, reverse=True)
    shown = [
        g for g in rows
        if (not district or g.district == district) and (not year or (g.graded_on and str(g.graded_on.year) == year))
    ]  # fmt: skip
    return render(request, "public_grades.html", rows=shown, years=years, districts=DISTRICTS,
                  filters={"district": district or "", "year": year or ""})  # fmt: skip


@router.get("/public/calls")
async def calls(request: Request, api: Api) -> Response:
    return render(request, "public_calls.html", calls=await api.calls())
