"""Principals and access tokens: who is calling, with which role and scope.

Tokens are HS256 JWTs signed with the shared ``GREENFAB_AUTH_SECRET``; ``greenfab token`` issues
them. Access checks live here, in one place, so every service asks the same question.

A token names a person in one of the six roles, with the scope that role needs: an enterprise its
USCC, district staff their district, an evaluator (optionally) its own USCC, the others none. A
token for any other role (`system` is how services sign their own messages) or with a scope that
does not fit its role is refused, whoever signed it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal, Self

import jwt
from pydantic import BaseModel, Field, ValidationError, model_validator

from contracts.envelope import Actor
from contracts.identifiers import DISTRICTS, check_uscc

ISSUER = "greenfab"

PersonRole = Literal["enterprise", "evaluator", "district", "bureau", "expert", "auditor"]
"""The roles a person can hold; services act as `system`, which no token carries."""


def is_uscc(value: str) -> bool:
    """A USCC exactly as stored: 18 characters, upper case, with a valid GB 32100 check character."""
    return check_uscc(value) == value


def scope_problem(role: str, scope: str | None) -> str | None:
    """Why ``scope`` does not fit ``role``, or None when it does."""
    if role == "enterprise":
        return None if scope and is_uscc(scope) else "an enterprise's scope is its USCC (GB 32100, check character too)"
    if role == "district":
        return None if scope in DISTRICTS else f"a district's scope is one of {'、'.join(DISTRICTS)}"
    if role == "evaluator":
        return None if scope is None or is_uscc(scope) else "an evaluator's scope, when given, is its own USCC"
    return None if scope is None else f"the {role} role carries no scope"


class Principal(BaseModel):
    """An authenticated person: one of the six roles, with the scope the role needs."""

    role: PersonRole = Field(description="enterprise, evaluator, district, bureau, expert, auditor.")
    subject: str = Field(min_length=1, max_length=128, description="Who: the enterprise's USCC or a staff id.")
    scope: str | None = Field(default=None, description="The USCC (enterprise) or district the principal acts on.")

    @model_validator(mode="after")
    def _scope_fits_role(self) -> Self:
        problem = scope_problem(self.role, self.scope)
        if problem:
            raise ValueError(problem)
        return self

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
    except jwt.ExpiredSignatureError as exc:
        raise AuthError(401, "访问令牌已过期", "token expired") from exc
    except jwt.InvalidTokenError as exc:
        raise AuthError(401, "访问令牌无效", f"invalid token: {exc}") from exc
    try:
        return Principal(role=claims.get("role"), subject=claims["sub"], scope=claims.get("scope"))
    except (KeyError, ValidationError) as exc:
        why = "; ".join(str(e["msg"]) for e in exc.errors()) if isinstance(exc, ValidationError) else str(exc)
        raise AuthError(401, "访问令牌的角色或范围无效", f"invalid token: {why}") from exc


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
