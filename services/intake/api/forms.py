"""Routes: a scheme's form (definition and fillable workbook) and declarations submitted as typed or uploaded."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from contracts.forms import FormDefinition
from contracts.http import DeclarationPublic
from contracts.schemes import Scheme
from greenfab.http import CurrentPrincipal, ProblemError
from services.intake.api.deps import PROBLEMS, RETRY, XLSX, DeskDep, IdempotencyKey, answered
from services.intake.workbook import definition, template

router = APIRouter(prefix="/v1", tags=["forms"], responses=PROBLEMS)


@router.post("/forms/{scheme}", status_code=202, response_model=DeclarationPublic, responses=RETRY)
async def submit_form(
    scheme: Scheme,
    form: dict[str, Any],
    response: Response,
    who: CurrentPrincipal,
    desk: DeskDep,
    idempotency_key: IdempotencyKey = None,
) -> DeclarationPublic:
    """Submit a declaration exactly as typed into the form (Chinese labels, full-width digits, ticks, 万元…).

    It is normalised (rules in services/intake/normalise.py), every problem is reported at once,
    and the raw values are kept beside the normalised ones.
    """
    return answered(await desk.submissions.declare_form(scheme, form, who, idempotency_key), response)


@router.get("/forms/{scheme}", response_model=FormDefinition)
async def form_definition(scheme: Scheme, desk: DeskDep) -> FormDefinition:
    """The scheme's form: every field with its label, type, unit, options and help, and the 证明材料 column."""
    return definition(desk.submissions.forms[scheme])


@router.get("/forms/{scheme}/template.xlsx", response_class=Response, responses={200: {"content": {XLSX: {}}}})
async def form_template(scheme: Scheme, desk: DeskDep) -> Response:
    """The fillable workbook of a scheme's form (the same as `greenfab template SCHEME`); no sign-in needed."""
    headers = {"Content-Disposition": f'attachment; filename="{scheme.value}-form.xlsx"'}
    return Response(template(desk.submissions.forms[scheme]), media_type=XLSX, headers=headers)


@router.post(
    "/forms/{scheme}/xlsx",
    status_code=202,
    response_model=DeclarationPublic,
    responses=RETRY,
    openapi_extra={
        "requestBody": {"required": True, "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}}
    },
)
async def submit_workbook(
    scheme: Scheme,
    request: Request,
    response: Response,
    who: CurrentPrincipal,
    desk: DeskDep,
    idempotency_key: IdempotencyKey = None,
) -> DeclarationPublic:
    """Upload the filled workbook from `greenfab template SCHEME` (body: the .xlsx file itself)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    if kind not in (XLSX, "application/octet-stream"):
        raise ProblemError(415, "请上传 xlsx 工作簿 / Upload an .xlsx workbook", f"content type {kind!r} is not {XLSX}")
    content = await request.body()
    return answered(await desk.submissions.declare_workbook(scheme, content, who, idempotency_key), response)
