"""Pages anyone can read without signing in: the start page, the listed units and published grades by
district and year (003 第十九条), and the calls."""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.console.reference import DESIGNATIONS, DISTRICTS
from services.console.web import Api, MaybeViewer, render

T = TypeVar("T")

router = APIRouter()
PAGE = 100


def _page(rows: list[T], number: str | None) -> tuple[list[T], dict[str, int]]:
    """One page of ``rows`` (100 a page) and where it is: the lists are public and can run to thousands."""
    pages = max(1, -(-len(rows) // PAGE))
    n = min(max(int(number), 1), pages) if number and number.isdigit() else 1
    return rows[(n - 1) * PAGE : n * PAGE], {"number": n, "pages": pages, "total": len(rows)}


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
    page: Annotated[str | None, Query(max_length=6)] = None,
) -> Response:
    designation = designation if designation in DESIGNATIONS else None
    units = await api.public_listed(designation)
    years = sorted({u.listed_on.year for u in units if u.listed_on}, reverse=True)
    shown = [
        u for u in units
        if (not district or u.district == district) and (not year or (u.listed_on and str(u.listed_on.year) == year))
    ]  # fmt: skip
    shown, pager = _page(shown, page)
    return render(
        request, "public_listed.html", units=shown, pager=pager, years=years, districts=DISTRICTS,
        designations=DESIGNATIONS,
        filters={"district": district or "", "year": year or "", "designation": designation or ""},
    )  # fmt: skip


@router.get("/public/grades")
async def grades(
    request: Request,
    api: Api,
    district: Annotated[str | None, Query(max_length=20)] = None,
    year: Annotated[str | None, Query(max_length=4)] = None,
    page: Annotated[str | None, Query(max_length=6)] = None,
) -> Response:
    rows = await api.public_grades()
    years = sorted({g.graded_on.year for g in rows if g.graded_on}, reverse=True)
    shown = [
        g for g in rows
        if (not district or g.district == district) and (not year or (g.graded_on and str(g.graded_on.year) == year))
    ]  # fmt: skip
    shown, pager = _page(shown, page)
    return render(request, "public_grades.html", rows=shown, pager=pager, years=years, districts=DISTRICTS,
                  filters={"district": district or "", "year": year or ""})  # fmt: skip


@router.get("/public/calls")
async def calls(request: Request, api: Api) -> Response:
    return render(request, "public_calls.html", calls=await api.calls())
