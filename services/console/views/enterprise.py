"""Enterprises' pages: declare through the form (or its workbook), add evidence, follow each unit,
send rename and major-adjustment notices; and the reminders inbox and objections, for anyone signed in."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from contracts.labels import NOTICE_KIND_ZH
from services.console import days, forms, present
from services.console.client import ApiError, Services
from services.console.reference import DESIGNATIONS, ITEM_STATUS_ZH
from services.console.web import Api, SignedIn, Viewer, only, refusal_status, render

router = APIRouter()
EVIDENCE_TYPES = {
    "application/pdf", "image/jpeg", "image/png",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}  # fmt: skip
# The notices an enterprise (or anyone, for an objection) files here, named as everywhere else (contracts/labels.py).
NOTICE_KINDS = {k: NOTICE_KIND_ZH[k] for k in ("rename", "major_adjustment", "objection")}
ADJUSTMENTS = {"reorganisation": "重组", "main_business_change": "主营业务变更", "relocation": "厂区迁址"}


# An indicator's name in the select is cut to at most this many characters (green-factory rows run to 44,
# too wide for a phone), at the last pause (，、；（) within it when that leaves a readable phrase.
LABEL_CHARS = 20
_PAUSES = "，、；：（("


def indicator_label(item: str, name_zh: str) -> str:
    """The id, then the name shortened to fit a select: "GF-1-1 新改扩建遵守节能评估审查、三同时…"."""
    name = name_zh.strip()
    if len(name) > LABEL_CHARS:
        head = name[:LABEL_CHARS]
        pause = max(head.rfind(c) for c in _PAUSES)
        name = (head[:pause] if pause >= LABEL_CHARS // 2 - 2 else head).rstrip("，、；：,;: ") + "…"
    return f"{item} {name}".strip()


def _scheme(scheme: str) -> str:
    if scheme not in forms.SCHEMES:
        raise ApiError(404, "没有该申报类型 / No such scheme")
    return scheme


@router.get("/my")
async def my_units(request: Request, who: SignedIn, api: Api) -> Response:
    only(who, "enterprise")
    units = await api.units(who.token, {})
    declarations = await api.declarations(who.token)
    return render(request, "my.html", units=units, declarations=declarations, designations=DESIGNATIONS)


@router.get("/declare")
async def choose(request: Request, who: SignedIn, api: Api) -> Response:
    only(who, "enterprise")
    return render(request, "declare_choose.html", schemes=forms.SCHEMES, calls=await api.calls())


async def _form_page(
    request: Request, api: Services, scheme: str, status: int = 200, values: dict[str, Any] | None = None,
    errors: dict[str, list[str]] | None = None, general: list[str] | None = None, refusal: ApiError | None = None,
) -> Response:  # fmt: skip
    definition = await api.form_definition(scheme)
    return render(
        request, "declare.html", status, scheme=scheme, scheme_zh=forms.SCHEMES[scheme], definition=definition,
        sections=forms.sections(definition), field_id=forms.field_id, values=values or {}, errors=errors or {},
        general=general or [], refusal=refusal, idempotency_key=uuid.uuid4().hex,
    )  # fmt: skip


@router.get("/declare/{scheme}")
async def declare_form(request: Request, scheme: str, who: SignedIn, api: Api) -> Response:
    only(who, "enterprise")
    return await _form_page(request, api, _scheme(scheme), values={"统一社会信用代码": who.scope or ""})


def _posted(form: FormData) -> dict[str, Any]:
    """Each field's value as typed; a field sent more than once (ticked boxes) as the list of them."""
    out: dict[str, Any] = {}
    for key in set(form.keys()) - {"csrftoken", "idempotency_key"}:
        found = [v for v in form.getlist(key) if isinstance(v, str)]
        out[key] = found if len(found) > 1 else (found[0] if found else "")
    return out


@router.post("/declare/{scheme}")
async def declare(request: Request, scheme: str, who: SignedIn, api: Api) -> Response:
    """Send the form as typed; intake's problems come back beside each field, with everything kept."""
    only(who, "enterprise")
    definition = await api.form_definition(_scheme(scheme))
    raw = await request.form()
    key = str(raw.get("idempotency_key") or uuid.uuid4().hex)[:64]
    values = _posted(raw)
    try:
        declaration = await api.declare_form(who.token, scheme, forms.assemble(definition, values), key)
    except ApiError as exc:
        if exc.status == 401:
            raise
        placed, general = forms.errors_by_field(definition, exc.errors)
        if not exc.errors:
            general = exc.messages_zh()
        return await _form_page(request, api, scheme, refusal_status(exc), values, placed, general, exc)
    return RedirectResponse(f"/declarations/{declaration.id}?new=1", status_code=303)


@router.get("/declare/{scheme}/template.xlsx")
async def template(scheme: str, api: Api) -> Response:
    content = await api.form_template(_scheme(scheme))
    headers = {"Content-Disposition": f'attachment; filename="{scheme}-form.xlsx"'}
    return Response(content, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers=headers)  # fmt: skip


@router.post("/declare/{scheme}/xlsx")
async def upload_workbook(
    request: Request, scheme: str, who: SignedIn, api: Api, workbook: Annotated[UploadFile, File()]
) -> Response:
    only(who, "enterprise")
    content = await workbook.read()
    try:
        declaration = await api.declare_workbook(who.token, _scheme(scheme), content, uuid.uuid4().hex)
    except ApiError as exc:
        if exc.status == 401:
            raise
        definition = await api.form_definition(scheme)
        placed, general = forms.errors_by_field(definition, exc.errors)
        general = [f"工作簿 {workbook.filename}：{m}" for m in (general or exc.messages_zh())]
        for path, messages in placed.items():
            general += [f"“{path}”：{m}" for m in messages]
        return await _form_page(request, api, scheme, refusal_status(exc), {}, placed, general, exc)
    return RedirectResponse(f"/declarations/{declaration.id}?new=1", status_code=303)


async def _declaration_page(
    request: Request, who: Viewer, api: Services, declaration_id: str, status: int = 200, **extra: Any
) -> Response:
    declaration = await api.declaration(who.token, declaration_id)
    evidence = await api.evidence(who.token, declaration_id)
    evaluation = declaration.evaluation
    # Intake says which indicators it accepts (the form's evidence list, else the scheme's rulebook items), so
    # the choice is there before the score is, and holds nothing intake would refuse.
    items = [(i.id, indicator_label(i.id, i.name_zh)) for i in evidence.indicators]
    return render(
        request, "declaration.html", status, declaration=declaration, evidence=evidence, evaluation=evaluation,
        score_svg=present.score_chart(evaluation) if evaluation else None, status_zh=ITEM_STATUS_ZH,
        indicators=items, new=request.query_params.get("new") == "1", **extra,
    )  # fmt: skip


@router.get("/declarations/{declaration_id}")
async def declaration_page(request: Request, declaration_id: str, who: SignedIn, api: Api) -> Response:
    return await _declaration_page(request, who, api, declaration_id, values={}, errors={})


@router.post("/declarations/{declaration_id}/evidence")
async def add_evidence(
    request: Request,
    declaration_id: str,
    who: SignedIn,
    api: Api,
    item: Annotated[str, Form(max_length=20)] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Upload one file for one indicator; the file's kind is checked again by intake, by its content."""
    errors: dict[str, list[str]] = {}
    content = await file.read() if file is not None else b""
    if not item:
        errors["item"] = ["请选择指标"]
    if not content:
        errors["file"] = ["请选择文件"]
    content_type = (file.content_type if file is not None else None) or "application/octet-stream"
    if content and content_type not in EVIDENCE_TYPES:
        errors["file"] = [f"不支持的文件类型（{content_type}）：请上传 PDF、JPEG、PNG、xlsx 或 docx"]
    values = {"item": item}
    if not errors:
        filename = (file.filename if file is not None else None) or "upload"
        try:
            await api.upload_evidence(who.token, declaration_id, item, filename[-255:], content_type, content)
            return RedirectResponse(f"/declarations/{declaration_id}?uploaded={item}", status_code=303)
        except ApiError as exc:
            if exc.status in (401, 404):
                raise
            return await _declaration_page(request, who, api, declaration_id, refusal_status(exc), values=values,
                                           errors={"file": exc.messages_zh()}, refusal=exc)  # fmt: skip
    return await _declaration_page(request, who, api, declaration_id, 422, values=values, errors=errors)


@router.get("/declarations/{declaration_id}/evidence/{item}/{sha256}")
async def evidence_file(declaration_id: str, item: str, sha256: str, who: SignedIn, api: Api) -> Response:
    r = await api.evidence_file(who.token, declaration_id, item, sha256)
    headers = {k: v for k, v in r.headers.items() if k.lower() in ("content-disposition",)}
    return Response(r.content, media_type=r.headers.get("content-type"), headers=headers)


@router.get("/notices/new")
async def notice_form(
    request: Request, who: SignedIn, kind: str = "rename", uscc: str = "", designation: str = ""
) -> Response:
    own = who.scope if who.role == "enterprise" else ""
    values = {"kind": kind if kind in NOTICE_KINDS else "rename", "uscc": uscc or own, "designation": designation}
    return _notice_page(request, values)


def _notice_page(request: Request, values: dict[str, Any], status: int = 200, **extra: Any) -> Response:
    return render(request, "notice.html", status, values=values, kinds=NOTICE_KINDS, adjustments=ADJUSTMENTS,
                  designations=DESIGNATIONS, errors=extra.pop("errors", {}), **extra)  # fmt: skip


@router.post("/notices")
async def send_notice(request: Request, who: SignedIn, api: Api) -> Response:
    """A rename or major adjustment (the enterprise itself), or an objection during publicity (anyone signed in)."""
    raw = await request.form()
    values = {k: str(v).strip() for k, v in raw.items() if k != "csrftoken" and isinstance(v, str)}
    kind = values.get("kind", "")
    fields = {
        "rename": ("old_name", "new_name", "completed_on"),
        "major_adjustment": ("adjustment", "completed_on", "description"),
        "objection": ("designation", "reason", "contact"),
    }.get(kind)
    if fields is None:
        return _notice_page(request, values, 422, errors={"kind": ["请选择通知类型"]})
    notice: dict[str, Any] = {"kind": kind, "uscc": values.get("uscc", "").upper()}
    notice |= {f: values.get(f) or None for f in fields}
    try:
        answer = await api.send_notice(who.token, notice)
    except ApiError as exc:
        if exc.status == 401:
            raise
        errors: dict[str, list[str]] = {}
        for e in exc.errors:
            errors.setdefault(e.path.removeprefix("$.").split(".")[-1] or "_", []).append(e.message_zh)
        return _notice_page(request, values, refusal_status(exc), errors=errors, refusal=exc)
    return _notice_page(request, values, 200, sent=answer)


@router.get("/inbox")
async def inbox(request: Request, who: SignedIn, api: Api) -> Response:
    """Reminders and notices for the person's enterprise, district or the bureau."""
    return render(request, "reminders.html", notes=await api.inbox(who.token), on=days.today())
