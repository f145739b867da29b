"""The console's web app: pages, static files, sign-in, CSRF protection, and how refusals are shown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.console.client import ApiError, Services
from services.console.csrf import CsrfRefused, verify
from services.console.settings import ConsoleSettings
from services.console.views import bureau, enterprise, public, signin, staff
from services.console.web import NotAllowed, SignInRequired, render, signin_url

STATIC = Path(__file__).parent / "static"
MAX_BODY = 21 * 1024 * 1024  # an evidence file (20 MB at intake) and its form


def build_app(settings: ConsoleSettings, services: Services) -> FastAPI:
    """The console's pages; every POST is checked for its CSRF token first."""
    app = FastAPI(title="greenfab console", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.services = services
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        # Pages name their icon; this is for what asks the site's root anyway (bookmarks, other clients).
        return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")

    for module in (public, signin, staff, bureau, enterprise):
        app.include_router(module.router, dependencies=[Depends(verify)])

    @app.middleware("http")
    async def _limits(request: Request, call_next: Any) -> Response:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            return HTMLResponse("<h1>文件过大（上限 20 MB）</h1>", status_code=413)
        response: Response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
        )
        return response

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        return JSONResponse({"service": "console", "status": "ok", "checks": {}})

    @app.exception_handler(SignInRequired)
    async def _signin(_: Request, exc: SignInRequired) -> Response:
        return RedirectResponse(signin_url(exc.next_path, exc.expired), status_code=303)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, _: CsrfRefused) -> Response:
        return render(request, "error.html", 403, title="表单已失效",
                      messages=["请返回上一页，刷新后再提交（表单校验码不符或来自其他网站）。"])  # fmt: skip

    @app.exception_handler(NotAllowed)
    async def _not_allowed(request: Request, _: NotAllowed) -> Response:
        return render(request, "error.html", 403, title="无权访问", messages=["您的身份不能使用此页面。"])

    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError) -> Response:
        if exc.status == 401:
            path = request.url.path if request.method == "GET" else "/"
            return RedirectResponse(signin_url(path, expired=True), status_code=303)
        return render(request, "error.html", exc.status, title=exc.title_zh, messages=exc.messages_zh(), error=exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        title = "页面不存在" if exc.status_code == 404 else f"请求未完成（{exc.status_code}）"
        return render(request, "error.html", exc.status_code, title=title, messages=[str(exc.detail)])

    return app
