"""What the staff API's routes depend on: the use cases' context and the ids they take in their paths."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from contracts.identifiers import TASK_ID_PATTERN, UNIT_ID_PATTERN, parse_unit_id
from greenfab.http import problem_responses
from services.workflow.staff.context import Staff

PROBLEMS = problem_responses(401, 403, 404, 409, 422, 503)
# Routes that read a unit's workflow may also answer that it is failing.
UNIT_PROBLEMS = problem_responses(500)


def _staff(request: Request) -> Staff:
    staff: Staff = request.app.state.staff
    return staff


def _unit_id(value: str) -> str:
    if parse_unit_id(value) is None:
        raise PydanticCustomError("uscc_invalid", "the unit id's USCC fails the GB 32100 check character")
    return value


def _task_id(value: str) -> str:
    _unit_id(value.rsplit(".", 1)[0])
    return value


StaffDep = Annotated[Staff, Depends(_staff)]
UnitId = Annotated[
    str,
    Path(pattern=UNIT_ID_PATTERN, description="The unit's workflow id: unit-<USCC>-<designation>."),
    AfterValidator(_unit_id),
]
TaskId = Annotated[
    str, Path(pattern=TASK_ID_PATTERN, description="The task's id: <unit id>.t<n>."), AfterValidator(_task_id)
]
