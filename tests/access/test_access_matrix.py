"""The access-control matrix: every operation of every OpenAPI document × anonymous and the six roles × the
caller's own subject and another's, plus forged tokens, against a real `greenfab up`.

What each cell must answer comes from policy.yaml alone; this module only knows how to call a route
and how to read an answer. The answers seen are then held against the OpenAPI documents: each
status a route gave must be one it declares.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from string import Template
from typing import Any

import httpx
import jwt
import pytest
import yaml

from greenfab.auth import Principal, issue_token
from greenfab_cli.stack import auth_secret
from tests.access.world import Subject, World, grading_declaration, grading_form, grading_workbook, minimal_pdf
from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e

HERE = Path(__file__).resolve().parent
POLICY: dict[str, dict[str, dict[str, Any]]] = yaml.safe_load((HERE / "policy.yaml").read_text(encoding="utf-8"))
DOCUMENTS = {
    service: json.loads((HERE.parents[1] / "contracts" / "openapi" / f"{service}.json").read_text())
    for service in POLICY
}
CALLERS = ("anonymous", "enterprise", "district", "bureau", "expert", "auditor", "evaluator")
FORGERIES = (
    "wrong-secret",
    "expired",
    "alg-none",
    "tampered-payload",
    "role-system",
    "role-public",
    "role-unknown",
    "enterprise-scoped-to-a-district",
    "district-outside-beijing",
)
# Defects another helper fixes on their branch; the lead removes each mark when merging it.
KNOWN_DEFECTS: dict[tuple[str, str, str, str], str] = {}

OBSERVED: dict[tuple[str, str, str], set[int]] = defaultdict(set)


@dataclass(frozen=True)
class Cell:
    service: str
    route: str  # "METHOD /path" or "METHOD /path#variant", as policy.yaml names it
    caller: str
    subject: str  # own | other
    expect: str | int

    @property
    def method(self) -> str:
        return self.route.split(" ")[0]

    @property
    def path(self) -> str:
        return self.route.split(" ")[1].split("#")[0]

    @property
    def id(self) -> str:
        return f"{self.service}:{self.route}:{self.caller}:{self.subject}"


def about_a_subject(route: str, entry: dict[str, Any]) -> bool:
    """Whether the route's answer depends on whose records it names (so it is called for own and other)."""
    names = set(re.findall(r"{(\w+)}", route)) - set(entry.get("params", {}))
    body = entry.get("body")
    from_subject = isinstance(body, str) or (
        isinstance(body, dict) and (isinstance(body["json"], str) or "${uscc}" in json.dumps(body["json"]))
    )
    return bool(names) or "lists" in entry or from_subject


def cells() -> list[Cell]:
    out = []
    for service, routes in POLICY.items():
        for route, entry in routes.items():
            subjects = ("own", "other") if about_a_subject(route, entry) else ("own",)
            for caller in CALLERS:
                answer = entry[caller]
                for subject in subjects:
                    expect = answer[subject] if isinstance(answer, dict) else answer
                    out.append(Cell(service, route, caller, subject, expect))
    return out


def forged_cells() -> list[tuple[str, str, str]]:
    return [
        (service, route, forgery)
        for service, routes in POLICY.items()
        for route, entry in routes.items()
        if entry["anonymous"] == 401
        for forgery in FORGERIES
    ]


def marked(cell: Cell) -> Any:
    reason = KNOWN_DEFECTS.get((cell.service, cell.route, cell.caller, cell.subject))
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(cell, id=cell.id, marks=marks)


# ----- calling a route -------------------------------------------------------------------------


def caller_token(stack: Stack, world: World, caller: str) -> str | None:
    scope = {"enterprise": world.own.uscc, "district": world.own.district}.get(caller)
    return None if caller == "anonymous" else stack.token(caller, scope)


def forged_token(stack: Stack, world: World, forgery: str) -> str:
    secret = auth_secret(stack.data_dir)
    own = world.own.uscc
    good = issue_token(secret, Principal(role="enterprise", subject=own, scope=own))

    def raw(claims: dict[str, Any], key: str = secret) -> str:
        now = int(time.time())
        return jwt.encode({"iss": "greenfab", "iat": now, "exp": now + 86400 * 2, **claims}, key, "HS256")

    if forgery == "wrong-secret":
        return issue_token("another-secret-" + "x" * 40, Principal(role="bureau", subject="b"))
    if forgery == "expired":
        return issue_token(secret, Principal(role="bureau", subject="b"), timedelta(seconds=-60))
    header, payload, signature = good.split(".")
    if forgery == "alg-none":
        none = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
        return f"{none}.{payload}."
    if forgery == "tampered-payload":
        claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
        claims.update(role="bureau", scope=None)
        return f"{header}.{base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b'=').decode()}.{signature}"
    claims = {
        "role-system": {"sub": "workflow", "role": "system"},
        "role-public": {"sub": "anyone", "role": "public"},
        "role-unknown": {"sub": "root", "role": "admin"},
        "enterprise-scoped-to-a-district": {"sub": own, "role": "enterprise", "scope": world.own.district},
        "district-outside-beijing": {"sub": "pudong", "role": "district", "scope": "浦东新区"},
    }[forgery]
    return raw(claims)


def fill(template: Any, values: dict[str, str]) -> Any:
    if isinstance(template, str):
        return Template(template).substitute(values)
    if isinstance(template, list):
        return [fill(v, values) for v in template]
    if isinstance(template, dict):
        return {k: fill(v, values) for k, v in template.items()}
    return template


def request_for(service: str, route: str, subject: Subject, world: World) -> dict[str, Any]:
    """The method, URL path, query and body of one call of ``route`` about ``subject``."""
    entry = POLICY[service][route]
    method, path = route.split(" ")[0], route.split(" ")[1].split("#")[0]
    values = {**vars(subject), "auto_listed": world.auto_listed, "recent_day": str(date.today() - timedelta(days=3))}
    params = entry.get("params", {})
    url = re.sub(r"{(\w+)}", lambda m: str(params.get(m.group(1), values.get(m.group(1)))), path)
    call: dict[str, Any] = {"method": method, "url": url, "params": entry.get("query"), "headers": {}}
    body = entry.get("body")
    if body == "pdf":
        call["content"], call["headers"]["content-type"] = minimal_pdf(subject.uscc), "application/pdf"
    elif body == "xlsx-grading":
        call["content"] = grading_workbook(subject)
        call["headers"]["content-type"] = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    elif isinstance(body, dict):
        template = body["json"]
        named = {"grading-declaration": grading_declaration, "grading-form": grading_form}
        call["json"] = named[template](subject) if isinstance(template, str) else fill(template, values)
    return call


CLIENTS: dict[str, httpx.Client] = {}


@pytest.fixture(scope="module", autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    for client in CLIENTS.values():
        client.close()
    CLIENTS.clear()


def send(stack: Stack, service: str, call: dict[str, Any], token: str | None) -> httpx.Response:
    headers = dict(call.pop("headers"))
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    url = stack.url(service)
    client = CLIENTS.get(url) or CLIENTS.setdefault(url, httpx.Client(base_url=url, timeout=60))
    return client.request(headers=headers, **call)


def verdict(cell: Cell, r: httpx.Response, subject: Subject) -> str | None:
    """Why ``r`` is not what the cell expects, or None."""
    status, expect = r.status_code, cell.expect
    if status >= 500:
        return f"server error {status}"
    if isinstance(expect, int):
        return None if status == expect else f"expected {expect}"
    if expect == "pass":
        return None if status not in (401, 403, 404) else "refused where the policy lets the caller through"
    if not 200 <= status < 300:
        return f"expected {expect} (2xx)"
    if expect in ("listed", "unlisted"):
        key = str(getattr(subject, POLICY[cell.service][cell.route]["lists"]))
        present = [v for v in {key, *subject.identifiers()} if v and v in r.text]
        if expect == "listed" and key not in r.text:
            return f"the answer does not list {key}"
        if expect == "unlisted" and present:
            return f"the answer shows another's records: {present}"
    return None


# ----- the matrix --------------------------------------------------------------------------------


def test_every_operation_has_a_declared_policy_and_declares_its_token() -> None:
    for service, doc in DOCUMENTS.items():
        operations = {f"{m.upper()} {p}": op for p, ops in doc["paths"].items() for m, op in ops.items()}
        declared = {route.split("#")[0] for route in POLICY[service]}
        assert declared == set(operations), f"{service}: policy.yaml and the OpenAPI document disagree"
        for route, entry in POLICY[service].items():
            secured = operations[route.split("#")[0]].get("security") == [{"bearer": []}]
            assert secured == (entry["anonymous"] == 401), f"{service} {route}: bearer scheme declared {secured}"


@pytest.mark.parametrize("cell", [marked(c) for c in cells()])
def test_access(cell: Cell, stack: Stack, world: World) -> None:
    subject = world.own if cell.subject == "own" else world.other
    r = send(
        stack,
        cell.service,
        request_for(cell.service, cell.route, subject, world),
        caller_token(stack, world, cell.caller),
    )
    OBSERVED[(cell.service, cell.method, cell.path)].add(r.status_code)
    why = verdict(cell, r, subject)
    assert why is None, f"{cell.caller} on {cell.subject} subject: {why}; got {r.status_code} {r.text[:300]}"
    if r.status_code >= 400:
        assert r.headers["content-type"] == "application/problem+json", r.headers


@pytest.mark.parametrize(("service", "route", "forgery"), forged_cells(), ids=lambda v: str(v))
def test_forged_tokens_are_refused(service: str, route: str, forgery: str, stack: Stack, world: World) -> None:
    call = request_for(service, route, world.own, world)
    r = send(stack, service, call, forged_token(stack, world, forgery))
    OBSERVED[(service, route.split(" ")[0], route.split(" ")[1].split("#")[0])].add(r.status_code)
    assert r.status_code == 401, f"{forgery}: {r.status_code} {r.text[:300]}"


def test_every_answer_seen_is_declared_in_the_openapi_documents(world: World) -> None:
    undeclared = {}
    for (service, method, path), statuses in sorted(OBSERVED.items()):
        declared = set(DOCUMENTS[service]["paths"][path][method.lower()]["responses"])
        missing = {s for s in statuses if str(s) not in declared}
        if missing:
            undeclared[f"{service} {method} {path}"] = sorted(missing)
    assert OBSERVED, "run with the matrix above"
    assert not undeclared, f"answers the OpenAPI documents do not declare: {undeclared}"
