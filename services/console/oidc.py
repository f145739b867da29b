"""Sign-in through an OpenID Connect provider (authorization code flow), chosen by configuration.

GREENFAB_CONSOLE_SIGNIN=oidc with GREENFAB_CONSOLE_OIDC_ISSUER, _CLIENT_ID and _CLIENT_SECRET.
The provider's ID token must carry the person's role and scope in the claims named by
GREENFAB_CONSOLE_OIDC_ROLE_CLAIM / _SCOPE_CLAIM (default greenfab_role, greenfab_scope); the
console then issues the services' own signed token for the session, as the development sign-in does.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any
from urllib.parse import urlencode

import jwt
from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from pydantic import ValidationError

from greenfab.auth import Principal
from services.console.client import ApiError

STATE_COOKIE = "greenfab_oidc"
STATE_SECONDS = 600


def _failed(why: str) -> ApiError:
    return ApiError(403, "登录失败 / Sign-in failed", why)


async def _discovery(request: Request) -> dict[str, Any]:
    cached: dict[str, Any] | None = getattr(request.app.state, "oidc_discovery", None)
    if cached is not None:
        return cached
    settings = request.app.state.settings
    if not (settings.oidc_issuer and settings.oidc_client_id):
        raise _failed("GREENFAB_CONSOLE_OIDC_ISSUER and GREENFAB_CONSOLE_OIDC_CLIENT_ID must be set")
    url = settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration"
    response = await request.app.state.services.http.get(url)
    if not response.is_success:
        raise _failed(f"the provider's discovery document answered {response.status_code}")
    found: dict[str, Any] = response.json()
    request.app.state.oidc_discovery = found
    return found


def _serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.settings.auth_secret, salt="greenfab-oidc")


async def begin(request: Request, next_path: str) -> Response:
    """Send the person to the provider, remembering (signed, for 10 minutes) where they were going."""
    found = await _discovery(request)
    settings = request.app.state.settings
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    query = urlencode({
        "response_type": "code", "client_id": settings.oidc_client_id, "scope": "openid profile",
        "redirect_uri": str(request.url_for("oidc_callback")), "state": state, "nonce": nonce,
    })  # fmt: skip
    response = RedirectResponse(f"{found['authorization_endpoint']}?{query}", status_code=303)
    response.set_cookie(
        STATE_COOKIE, _serializer(request).dumps({"state": state, "nonce": nonce, "next": next_path}),
        max_age=STATE_SECONDS, httponly=True, secure=settings.cookie_secure, samesite="lax", path="/",
    )  # fmt: skip
    return response


async def finish(request: Request) -> tuple[Principal, str]:
    """The provider sent the person back: check the state, exchange the code, read role and scope."""
    try:
        saved = _serializer(request).loads(request.cookies.get(STATE_COOKIE, ""), max_age=STATE_SECONDS)
    except BadSignature as exc:
        raise _failed("the sign-in took too long or did not start here; try again") from exc
    if not secrets.compare_digest(str(request.query_params.get("state", "")), saved["state"]):
        raise _failed("state does not match")
    found = await _discovery(request)
    settings = request.app.state.settings
    token_response = await request.app.state.services.http.post(
        found["token_endpoint"],
        data={
            "grant_type": "authorization_code", "code": request.query_params.get("code", ""),
            "redirect_uri": str(request.url_for("oidc_callback")), "client_id": settings.oidc_client_id,
            "client_secret": settings.oidc_client_secret or "",
        },
    )  # fmt: skip
    if not token_response.is_success:
        raise _failed(f"the provider refused the code ({token_response.status_code})")
    id_token = str(token_response.json().get("id_token", ""))
    try:
        key = await asyncio.to_thread(jwt.PyJWKClient(found["jwks_uri"]).get_signing_key_from_jwt, id_token)
        claims = jwt.decode(
            id_token, key.key, algorithms=["RS256", "ES256", "PS256"], audience=settings.oidc_client_id,
            issuer=found.get("issuer", settings.oidc_issuer),
        )  # fmt: skip
    except jwt.PyJWTError as exc:
        raise _failed(f"the ID token does not hold: {exc}") from exc
    if claims.get("nonce") != saved["nonce"]:
        raise _failed("nonce does not match")
    try:
        principal = Principal(
            role=claims.get(settings.oidc_role_claim),
            subject=str(claims["sub"]),
            scope=claims.get(settings.oidc_scope_claim),
        )
    except ValidationError as exc:
        raise _failed(f"the ID token's {settings.oidc_role_claim} claim names no greenfab role") from exc
    return principal, str(saved["next"])
