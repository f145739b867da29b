"""Principals and access tokens: who is calling, with which role and scope.

Tokens are HS256 JWTs signed with the shared ``GREENFAB_AUTH_SECRET``; ``greenfab token`` issues
them. Access checks live here, in one place, so every service asks the same question.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
from pydantic import BaseModel, Field

from contracts.envelope import Actor, Role

ISSUER = "greenfab"


class Principal(BaseModel):
    """An authenticated caller."""

    role: Role = Field(description="enterprise, evaluator, district, bureau, expert, auditor.")
    subject: str = Field(description="Who: the enterprise's USCC or a staff id.")
    scope: str | None = Field(default=None, description="The USCC (enterprise) or district the principal acts on.")

    def actor(self) -> Actor:
        return Actor(role=self.role, subject=self.subject, scope=self.scope)


class AuthError(Exception):
    """The caller is not authenticated (401) or not allowed (403)."""

    def __init__(self, status: int, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.status = status
        self.message_zh = message_zh
        self.message_en = message_en


def issue_token(secret: str, principal: Principal, ttl: timedelta = timedelta(days=30)) -> str:
    """A signed token for ``principal``."""
    now = datetime.now(UTC)
    claims = {
        "iss": ISSUER,
        "sub": principal.subject,
        "role": principal.role,
        "scope": principal.scope,
        "iat": now,
        "exp": now + ttl,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def read_token(secret: str, authorization: str | None) -> Principal:
    """The principal of an ``Authorization: Bearer …`` header, or AuthError(401)."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise AuthError(401, "缺少访问令牌（Authorization: Bearer …）", "missing bearer token in Authorization header")
    token = authorization.split(" ", 1)[1].strip()
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], issuer=ISSUER, options={"require": ["exp", "sub"]})
        return Principal(role=claims["role"], subject=claims["sub"], scope=claims.get("scope"))
    except jwt.ExpiredSignatureError as exc:
        raise AuthError(401, "访问令牌已过期", "token expired") from exc
    except (jwt.InvalidTokenError, KeyError, ValueError) as exc:
        raise AuthError(401, "访问令牌无效", f"invalid token: {exc}") from exc


def can_read_enterprise(principal: Principal, uscc: str, district: str) -> bool:
    """May ``principal`` read the records of enterprise ``uscc`` in ``district``?"""
    if principal.role in ("bureau", "auditor", "expert"):
        return True
    if principal.role == "enterprise":
        return principal.scope == uscc
    if principal.role == "district":
        return principal.scope == district
    return False


def can_declare(principal: Principal, uscc: str) -> bool:
    """May ``principal`` submit a declaration for ``uscc``? Only the enterprise itself."""
    return principal.role == "enterprise" and principal.scope == uscc


STAFF_ROLES = ("district", "bureau", "expert", "auditor")


def out_of_scope_status(principal: Principal) -> int:
    """The status for a record that exists but lies outside ``principal``'s scope.

    Staff may learn that a record is not theirs (403: a district asking about another district's unit);
    anyone else hears 404, exactly as for a record that does not exist, so ids cannot be probed.
    """
    return 403 if principal.role in STAFF_ROLES else 404
