"""Signing in and out.

The development sign-in (GREENFAB_CONSOLE_SIGNIN=dev, which `greenfab up` sets) lets a person
pick a role and scope, for trying the system. With GREENFAB_CONSOLE_SIGNIN=oidc an OpenID
Connect provider signs people in instead (services/console/oidc.py); either way the session
cookie ends up holding the same signed token the services take.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from stdnum.cn import uscc as uscc_check

from greenfab.auth import Principal, issue_token
from services.console import oidc
from services.console.cookies import SESSION as COOKIE
from services.console.reference import DISTRICTS
from services.console.web import ROLE_ZH, render

router = APIRouter()
ROLES = ("enterprise", "district", "bureau", "expert", "auditor")


def safe_next(target: str | None) -> str:
    """Only a path on this site: never another host (//evil.example, https://…)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def start_session(request: Request, principal: Principal, next_path: str) -> Response:
    """Issue the person's token and keep it in the session cookie; then go where they were going."""
    settings = request.app.state.settings
    ttl = timedelta(minutes=settings.session_minutes)
    token = issue_token(settings.auth_secret, principal, ttl)
    response = RedirectResponse(safe_next(next_path), status_code=303)
    response.set_cookie(
        COOKIE, token, max_age=int(ttl.total_seconds()), httponly=True, secure=settings.cookie_secure,
        samesite="lax", path="/",
    )  # fmt: skip
    return response


def _dev_form(request: Request, status: int = 200, **context: object) -> Response:
    return render(
        request, "signin.html", status, roles=ROLES, districts=DISTRICTS,
        next_path=safe_next(request.query_params.get("next")), expired=request.query_params.get("expired") == "1",
        values={}, errors={}, **context,
    )  # fmt: skip


@router.get("/signin")
async def signin_page(request: Request) -> Response:
    mode = request.app.state.settings.signin
    if mode == "oidc":
        return await oidc.begin(request, safe_next(request.query_params.get("next")))
    if mode == "off":
        return render(request, "signin_off.html", 503)
    return _dev_form(request)


@router.post("/signin")
async def dev_signin(
    request: Request,
    role: Annotated[str, Form()] = "",
    scope_uscc: Annotated[str, Form()] = "",
    scope_district: Annotated[str, Form()] = "",
    subject: Annotated[str, Form()] = "",
    next_path: Annotated[str, Form(alias="next")] = "/",
) -> Response:
    """Development only: sign in as whoever the person picks."""
    if request.app.state.settings.signin != "dev":
        return render(request, "signin_off.html", 404)
    values = {"role": role, "scope_uscc": scope_uscc, "scope_district": scope_district, "subject": subject}
    errors: dict[str, str] = {}
    uscc = scope_uscc.strip().upper()
    if role not in ROLES:
        errors["role"] = "请选择身份"
    elif role == "enterprise" and not uscc_check.is_valid(uscc):
        errors["scope_uscc"] = "统一社会信用代码无效（18 位，GB 32100 校验位）"
    elif role == "district" and scope_district not in DISTRICTS:
        errors["scope_district"] = "请选择所在区"
    name = subject.strip()
    if len(name) > 64:
        errors["subject"] = "姓名或工号不超过 64 个字符"
    if errors:
        return render(
            request, "signin.html", 422, roles=ROLES, districts=DISTRICTS, next_path=safe_next(next_path),
            expired=False, values=values, errors=errors,
        )  # fmt: skip
    scope = uscc if role == "enterprise" else (scope_district if role == "district" else None)
    principal = Principal(role=role, subject=name or scope or f"{role}-demo", scope=scope)
    return start_session(request, principal, next_path)


@router.get("/signin/callback")
async def oidc_callback(request: Request) -> Response:
    if request.app.state.settings.signin != "oidc":
        return render(request, "signin_off.html", 404)
    principal, next_path = await oidc.finish(request)
    response = start_session(request, principal, next_path)
    response.delete_cookie(oidc.STATE_COOKIE, path="/")
    return response


@router.post("/signout")
async def signout(request: Request) -> Response:
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


__all__ = ["ROLE_ZH", "router"]
