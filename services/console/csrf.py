"""CSRF protection for the console's forms: a token tied to the session, checked on every POST.

A signed-in person's token is an HMAC of their session token; before sign-in it is an HMAC of
a random value kept in its own cookie. Every form carries it in ``csrftoken``; a POST whose token
does not match, or that comes from another origin, is refused before anything is done. (The
session cookie is SameSite=Lax as well, so browsers do not send it with another site's POST.)
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import Request

from services.console.cookies import CSRF_ANONYMOUS as ANON_COOKIE
from services.console.cookies import SESSION as COOKIE

FIELD = "csrftoken"


class CsrfRefused(Exception):
    """The form did not come from this site's page."""


def _mac(secret: str, value: str) -> str:
    return hmac.new(secret.encode(), f"csrf:{value}".encode(), hashlib.sha256).hexdigest()[:40]


def anonymous_value(request: Request) -> str:
    """The random value behind a signed-out person's token (made on first use, set by ``remember``)."""
    value = request.cookies.get(ANON_COOKIE) or getattr(request.state, "new_csrf", None)
    if not value:
        value = secrets.token_urlsafe(24)
        request.state.new_csrf = value
    return str(value)


def token_for(request: Request) -> str:
    secret = request.app.state.settings.auth_secret
    session = request.cookies.get(COOKIE)
    return _mac(secret, session) if session else _mac(secret, "anon:" + anonymous_value(request))


async def verify(request: Request) -> None:
    """A router dependency: POSTs must carry this session's token and come from this site."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    origin = request.headers.get("origin")
    if origin and urlsplit(origin).netloc != request.headers.get("host"):
        raise CsrfRefused(f"origin {origin}")
    form = await request.form()
    sent = form.get(FIELD)
    secret = request.app.state.settings.auth_secret
    candidates = []
    if request.cookies.get(COOKIE):
        candidates.append(_mac(secret, request.cookies[COOKIE]))
    if request.cookies.get(ANON_COOKIE):
        candidates.append(_mac(secret, "anon:" + request.cookies[ANON_COOKIE]))
    if not isinstance(sent, str) or not any(hmac.compare_digest(sent, c) for c in candidates):
        raise CsrfRefused("token")
