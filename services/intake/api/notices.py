"""Routes: notices about a unit (rename, major adjustment, objection, district report, diagnosis, renovation)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Response

from contracts.http import NoticePublic
from contracts.notices import Notice
from greenfab.http import CurrentPrincipal
from services.intake import desk as cases
from services.intake.api.deps import NOTICE_RETRY, PROBLEMS, DeskDep

router = APIRouter(prefix="/v1", tags=["notices"], responses=PROBLEMS)


@router.post("/notices", status_code=202, response_model=NoticePublic, responses=NOTICE_RETRY)
async def submit_notice(
    notice: Annotated[Notice, Body()], response: Response, who: CurrentPrincipal, desk: DeskDep
) -> NoticePublic:
    """A rename, major-adjustment, diagnosis or renovation notice (the enterprise), an objection during
    publicity (anyone signed in), or a district report (that district's staff), about a unit that exists:
    checked with the workflow service while you wait, then stored and passed on. A notice never creates a
    unit; one about no unit is refused naming `$.uscc`."""
    answer, created = await cases.submit_notice(desk, notice, who)
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"/v1/notices/{answer.id}"
    return answer


@router.get("/notices/{notice_id}", response_model=NoticePublic)
async def read_notice(notice_id: str, who: CurrentPrincipal, desk: DeskDep) -> NoticePublic:
    """A notice: for its sender, the enterprise it is about, its district, and bureau or auditors."""
    return await cases.notice(desk, notice_id, who)
