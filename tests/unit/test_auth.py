"""Tokens name a person in one of the six roles, with a scope that fits the role; anything else is refused."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from greenfab.auth import AuthError, Principal, issue_token, read_token, scope_problem
from greenfab_cli import cli
from tests.conftest import SECRET, token

USCC = "91110115MA04C2UX1E"


def bearer(raw: str) -> str:
    return f"Bearer {raw}"


def signed(claims: dict[str, object], secret: str = SECRET) -> str:
    now = datetime.now(UTC)
    return jwt.encode({"iss": "greenfab", "iat": now, "exp": now + timedelta(hours=1), **claims}, secret, "HS256")


@pytest.mark.parametrize(
    ("role", "scope"),
    [
        ("enterprise", USCC),
        ("district", "顺义区"),
        ("bureau", None),
        ("expert", None),
        ("auditor", None),
        ("evaluator", None),
        ("evaluator", "91110108551385082Q"),
    ],
)
def test_each_of_the_six_roles_with_a_fitting_scope_is_read(role: str, scope: str | None) -> None:
    who = read_token(SECRET, bearer(token(role, scope)))
    assert (who.role, who.scope) == (role, scope)


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"sub": "workflow", "role": "system"}, "system"),  # services' own actor: never a bearer token
        ({"sub": "anyone", "role": "public"}, "public"),  # the public reads without a token
        ({"sub": "x", "role": "admin"}, "admin"),
        ({"sub": "x"}, "no role"),
        ({"sub": USCC, "role": "enterprise", "scope": "顺义区"}, "an enterprise scoped to a district"),
        ({"sub": USCC, "role": "enterprise", "scope": "91110115MA04C2UX1F"}, "a USCC with a wrong check character"),
        ({"sub": USCC, "role": "enterprise", "scope": USCC.lower()}, "a USCC not as stored"),
        ({"sub": USCC, "role": "enterprise"}, "an enterprise without its USCC"),
        ({"sub": "s", "role": "district", "scope": USCC}, "a district scoped to a USCC"),
        ({"sub": "s", "role": "district", "scope": "顺义"}, "a district not by its full name"),
        ({"sub": "s", "role": "district", "scope": "浦东新区"}, "not one of Beijing's districts"),
        ({"sub": "s", "role": "bureau", "scope": "顺义区"}, "the bureau with a scope"),
        ({"sub": "s", "role": "evaluator", "scope": "顺义区"}, "an evaluator scoped to a district"),
        ({"sub": "", "role": "bureau"}, "no subject"),
    ],
)
def test_a_signed_token_outside_the_six_roles_or_their_scopes_is_refused(claims: dict[str, object], why: str) -> None:
    with pytest.raises(AuthError) as err:
        read_token(SECRET, bearer(signed(claims)))
    assert err.value.status == 401, why


def test_forged_tokens_are_refused() -> None:
    good = token("bureau", None)
    header, payload, signature = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "auditor"
    tampered = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    none_header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').decode().rstrip("=")
    expired = issue_token(SECRET, Principal(role="bureau", subject="b"), timedelta(seconds=-1))
    forged = {
        "wrong secret": token("bureau", None, "another-secret-of-at-least-thirty-two-chars"),
        "tampered payload": f"{header}.{tampered}.{signature}",
        "alg none": f"{none_header}.{payload}.",
        "expired": expired,
        "not a JWT": "abc",
    }
    for what, raw in forged.items():
        with pytest.raises(AuthError) as err:
            read_token(SECRET, bearer(raw))
        assert err.value.status == 401, what
    with pytest.raises(AuthError):
        read_token(SECRET, None)
    with pytest.raises(AuthError):
        read_token(SECRET, f"Basic {good}")


def test_principals_cannot_be_built_outside_the_rules_either() -> None:
    with pytest.raises(ValueError, match="USCC"):
        Principal(role="enterprise", subject="x", scope="顺义区")
    with pytest.raises(ValueError):
        Principal(role="system", subject="workflow")
    assert scope_problem("district", "大兴区") is None
    assert scope_problem("auditor", None) is None


@pytest.mark.parametrize(
    ("argv", "ok"),
    [
        (["--role", "enterprise", "--scope", USCC], True),
        (["--role", "district", "--scope", "顺义区"], True),
        (["--role", "bureau", "--subject", "bureau-li"], True),
        (["--role", "evaluator"], True),
        (["--role", "enterprise", "--scope", "顺义区"], False),
        (["--role", "enterprise", "--scope", "91110115MA04C2UX1F"], False),
        (["--role", "enterprise"], False),
        (["--role", "district", "--scope", USCC], False),
        (["--role", "district", "--scope", "朝阳"], False),
        (["--role", "bureau", "--scope", "顺义区"], False),
        (["--role", "auditor", "--scope", USCC], False),
    ],
)
def test_greenfab_token_checks_that_the_scope_fits_the_role(
    argv: list[str], ok: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GREENFAB_AUTH_SECRET", SECRET)
    with pytest.raises(SystemExit) as done:
        cli.main(["token", "--data-dir", str(tmp_path), *argv])
    out = capsys.readouterr()
    assert (done.value.code == 0) is ok, out.err
    if ok:
        who = read_token(SECRET, bearer(out.out.strip()))
        assert who.role == argv[1]
    else:
        assert "does not fit" in out.err and not out.out
