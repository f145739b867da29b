"""What intake's routes depend on: the use cases' desk, the problems they may answer, and how a retry is told."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response

from contracts.http import DeclarationPublic, NoticePublic
from greenfab.http import problem_responses
from services.intake.desk import Desk

PROBLEMS = problem_responses(401, 403, 404, 409, 413, 415, 422)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# A retry (same Idempotency-Key or client id, same body) answers 200 with the first answer.
RETRY: dict[int | str, Any] = {200: {"model": DeclarationPublic, "description": "A retry: as first answered."}}
NOTICE_RETRY: dict[int | str, Any] = {200: {"model": NoticePublic, "description": "A retry: as first answered."}}


def _desk(request: Request) -> Desk:
    desk: Desk = request.app.state.desk
    return desk


DeskDep = Annotated[Desk, Depends(_desk)]
IdempotencyKey = Annotated[str | None, Header(max_length=128)]


def answered(result: tuple[DeclarationPublic, bool], response: Response) -> DeclarationPublic:
    """202 for a new declaration, 200 for a retry (the first answer again); Location names it either way."""
    answer, created = result
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"/v1/declarations/{answer.id}"
    return answer
