"""What every page shares: the signed-in person (from the session cookie), templates, and refusals.

The session cookie holds the same signed token the services take; it is HTTP-only, SameSite=Lax
and Secure (unless configured off), and lasts as long as the token. A page that needs a person
signed in sends anyone else, or anyone whose session has expired, to sign in and then back.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from contracts import labels
from greenfab.auth import AuthError, Principal, read_token
from services.console import days
from services.console.client import ApiError, Services
from services.console.cookies import CSRF_ANONYMOUS, SESSION
from services.console.csrf import token_for

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
TEMPLATES.env.filters["pairs"] = lambda values: [(v, v) for v in values]
TEMPLATES.env.filters["pairs_of"] = lambda mapping: list(mapping.items())

ROLE_ZH = labels.ROLE_ZH


TEMPLATES.env.globals.update(
    actor_zh=labels.actor_zh,
    channel_zh=labels.CHANNEL_ZH,
    decision_zh=labels.decision_zh,
    scheme_label=lambda scheme: labels.zh(labels.SCHEME_ZH, scheme),
)
STAFF = ("district", "bureau", "expert", "auditor")


@dataclass(frozen=True)
class Viewer:
    """The signed-in person and the token every API call carries."""

    principal: Principal
    token: str

    @property
    def role(self) -> str:
        return self.principal.role

    @property
    def scope(self) -> str | None:
        return self.principal.scope

    @property
    def label(self) -> str:
        who = self.principal.scope or self.principal.subject
        return f"{ROLE_ZH.get(self.role, self.role)} · {who}"


class SignInRequired(Exception):
    """Send the person to sign in, then back to ``next``."""

    def __init__(self, next_path: str, expired: bool) -> None:
        super().__init__(next_path)
        self.next_path = next_path
        self.expired = expired


class NotAllowed(Exception):
    """This page is not for the signed-in person's role."""


def _here(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def signin_url(next_path: str, expired: bool = False) -> str:
    return f"/signin?next={quote(next_path, safe='')}" + ("&expired=1" if expired else "")


def current_viewer(request: Request) -> Viewer | None:
    """The person whose session cookie this is; None without one (or with one that no longer holds)."""
    cached: Viewer | str | None = getattr(request.state, "viewer", "unset")
    if cached != "unset":
        return cached  # type: ignore[return-value]
    token = request.cookies.get(SESSION)
    viewer = None
    request.state.session_expired = False
    if token:
        try:
            viewer = Viewer(read_token(request.app.state.settings.auth_secret, f"Bearer {token}"), token)
        except AuthError:
            request.state.session_expired = True
    request.state.viewer = viewer
    return viewer


def signed_in(request: Request) -> Viewer:
    viewer = current_viewer(request)
    if viewer is None:
        raise SignInRequired(_here(request), expired=bool(request.state.session_expired))
    return viewer


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


MaybeViewer = Annotated[Viewer | None, Depends(current_viewer)]
SignedIn = Annotated[Viewer, Depends(signed_in)]
Api = Annotated[Services, Depends(services)]


def only(viewer: Viewer, *roles: str) -> None:
    if viewer.role not in roles:
        raise NotAllowed()


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page, with the signed-in person, the CSRF token for its forms, and today's date."""
    context.update(
        viewer=current_viewer(request),
        csrftoken=token_for(request),
        today=days.today(),
        role_zh=ROLE_ZH,
        signin_mode=request.app.state.settings.signin,
        path=request.url.path,
    )
    response = TEMPLATES.TemplateResponse(request, template, context, status_code=status)
    fresh = getattr(request.state, "new_csrf", None)
    if fresh:
        secure = request.app.state.settings.cookie_secure
        response.set_cookie(CSRF_ANONYMOUS, fresh, httponly=True, secure=secure, samesite="lax", path="/")
    return response


def refusal_status(error: ApiError) -> int:
    """The status a page shows a refusal with: the service's own, except that a sign-in problem is not ours."""
    return error.status if 400 <= error.status < 600 else 502
