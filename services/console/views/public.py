"""Pages anyone can read without signing in: the start page, the listed units and published grades by
district and year (003 第十九条), and the calls."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.console import days
from services.console.reference import DESIGNATIONS, DISTRICTS
from services.console.web import Api, MaybeViewer, render

router = APIRouter()
Cursor = Annotated[str | None, Query(max_length=1024)]


def _years() -> list[int]:
    """The years to filter by: the programme's (from 2019) up to this one."""
    return list(range(days.today().year, 2018, -1))


def _filters(**given: str | None) -> dict[str, str]:
    return {k: v for k, v in given.items() if v}


def _pager(cursor: str | None, following: str | None) -> dict[str, str | bool | None]:
    """Where the page is: the first or a later one, and the cursor of the next (None on the last)."""
    return {"first": not cursor, "next": following}


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
    cursor: Cursor = None,
) -> Response:
    filters = _filters(
        district=district if district in DISTRICTS else None,
        year=year if year and year.isdigit() else None,
        designation=designation if designation in DESIGNATIONS else None,
    )
    units, following = await api.public_listed(filters, cursor)
    return render(
        request, "public_listed.html", units=units, pager=_pager(cursor, following), years=_years(),
        districts=DISTRICTS, designations=DESIGNATIONS,
        filters={"district": "", "year": "", "designation": "", **filters},
    )  # fmt: skip


@router.get("/public/grades")
async def grades(
    request: Request,
    api: Api,
    district: Annotated[str | None, Query(max_length=20)] = None,
    year: Annotated[str | None, Query(max_length=4)] = None,
    cursor: Cursor = None,
) -> Response:
    filters = _filters(
        district=district if district in DISTRICTS else None, year=year if year and year.isdigit() else None
    )
    rows, following = await api.public_grades(filters, cursor)
    return render(request, "public_grades.html", rows=rows, pager=_pager(cursor, following), years=_years(),
                  districts=DISTRICTS, filters={"district": "", "year": "", **filters})  # fmt: skip


@router.get("/public/calls")
async def calls(request: Request, api: Api) -> Response:
    return render(request, "public_calls.html", calls=await api.calls())
