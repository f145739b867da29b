"""Clients built from contracts/ by outside tools, used against a running `greenfab up` (issue 15 item 7).

OpenAPI: openapi-python-client (PyPI, a dev dependency) generates a Python package from each service's
document; the test imports it and calls the stack through it. AsyncAPI: the AsyncAPI initiative's parser
(npm @asyncapi/parser, installed by scripts/ensure-contract-tools) validates each document; then a front end
that knows only the intake document declares over NATS on the address it names and reads the result back
on the status subject, each reply checked against the document's reply schema.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import nats as nats_py
import pytest

from greenfab import nats_config
from tests.conftest import uscc
from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("intake", "scoring", "workflow", "notify", "audit")
EXAMPLE = json.loads((ROOT / "examples" / "grading-declaration.json").read_text(encoding="utf-8"))
TOOLS = ROOT / ".tools" / "contract-tools"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("contract-stack") / "data")
    s.up()
    yield s
    assert s.stop() == 0


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ModuleType]]:
    """One generated client package per OpenAPI document, imported (generated side by side, in parallel)."""
    out = tmp_path_factory.mktemp("clients")
    generator = Path(sys.executable).with_name("openapi-python-client")
    procs = {}
    for service in SERVICES:
        config = out / f"{service}.yaml"
        # No post hooks: the generated code is imported, not linted (and the hooks would run ruff from PATH).
        config.write_text(f"post_hooks: []\npackage_name_override: greenfab_{service}_client\n")
        argv = [str(generator), "generate", "--path", str(ROOT / "contracts" / "openapi" / f"{service}.json")]
        argv += ["--config", str(config), "--meta", "none", "--output-path", str(out / f"greenfab_{service}_client")]
        procs[service] = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for service, proc in procs.items():
        output, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"openapi-python-client failed on {service}.json:\n{output}"
    sys.path.insert(0, str(out))
    try:
        yield {s: importlib.import_module(f"greenfab_{s}_client") for s in SERVICES}
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m.startswith("greenfab_") and m.endswith(("_client", "_client."))]:
            del sys.modules[name]


def call(package: ModuleType, operation: str, **kwargs: Any) -> Any:
    """``operation`` (its operationId in snake case, as the generator names its module) of ``package``'s API."""
    assert package.__file__ is not None
    for tag_module in (Path(package.__file__).parent / "api").iterdir():
        if (tag_module / f"{operation}.py").exists():
            module = importlib.import_module(f"{package.__name__}.api.{tag_module.name}.{operation}")
            return module.sync_detailed(**kwargs)
    raise AssertionError(f"{package.__name__} has no operation {operation}")


def test_a_generated_client_of_each_document_talks_to_the_running_stack(
    stack: Stack, clients: dict[str, ModuleType]
) -> None:
    def authenticated(service: str, role: str, scope: str | None) -> Any:
        token = stack.token(role, scope)
        return clients[service].AuthenticatedClient(
            base_url=stack.url(service), token=token, raise_on_unexpected_status=True
        )

    for service in SERVICES:
        anonymous = clients[service].Client(base_url=stack.url(service))
        health = call(clients[service], "health_healthz", client=anonymous)
        assert health.status_code == 200 and health.parsed.service == service

    intake = clients["intake"]
    enterprise = authenticated("intake", "enterprise", EXAMPLE["uscc"])
    body = intake.models.DeclarationCreate.from_dict(EXAMPLE)
    submitted = call(intake, "declarations_submit", client=enterprise, body=body, idempotency_key="contract-client-1")
    assert submitted.status_code == 202, submitted.content
    declared = submitted.parsed
    assert isinstance(declared, intake.models.DeclarationPublic) and declared.uscc == EXAMPLE["uscc"]

    deadline = time.monotonic() + 60
    while (
        read := call(intake, "declarations_read", client=enterprise, declaration_id=declared.id)
    ).parsed.status == "pending":
        assert time.monotonic() < deadline, "still pending after 60 s"
        time.sleep(0.3)
    assert read.parsed.status == "evaluated" and read.parsed.evaluation is not None

    stranger = authenticated("intake", "enterprise", uscc(4242))
    hidden = call(intake, "declarations_read", client=stranger, declaration_id=declared.id)
    assert hidden.status_code == 404 and isinstance(hidden.parsed, intake.models.Problem)

    verdict = call(clients["audit"], "audit_verify_chain", client=authenticated("audit", "auditor", None))
    assert verdict.status_code == 200 and verdict.parsed.intact is True
    inbox = call(clients["notify"], "inbox_read_inbox", client=authenticated("notify", "enterprise", EXAMPLE["uscc"]))
    assert inbox.status_code == 200 and isinstance(inbox.parsed.items, list) and inbox.parsed.limit == 50
    bureau = authenticated("workflow", "bureau", None)
    deadline = time.monotonic() + 60
    while not (units := call(clients["workflow"], "units_list_units", client=bureau)).parsed.items:
        assert time.monotonic() < deadline, "no unit workflow after 60 s"
        time.sleep(0.3)
    assert units.status_code == 200


def parser_tool() -> Path:
    """The AsyncAPI parser's runner, installing it first when `make test` has not (skip only when npm cannot)."""
    runner = TOOLS / "validate.mjs"
    if not (TOOLS / "node_modules" / "@asyncapi" / "parser").exists():
        if shutil.which("npm") is None:
            pytest.skip("npm is not installed: the AsyncAPI parser cannot be (scripts/ensure-contract-tools)")
        done = subprocess.run([str(ROOT / "scripts" / "ensure-contract-tools")], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"npm could not install @asyncapi/parser (no registry?):\n{done.stderr[-2000:]}")
    return runner


def test_the_asyncapi_parser_accepts_every_document() -> None:
    runner = parser_tool()
    docs = [str(ROOT / "contracts" / "asyncapi" / f"{s}.json") for s in SERVICES]
    done = subprocess.run(["node", str(runner), *docs], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(": ok (") == len(SERVICES), done.stdout


def test_a_front_end_built_from_the_asyncapi_document_declares_and_reads_the_result_over_nats(stack: Stack) -> None:
    doc = json.loads((ROOT / "contracts" / "asyncapi" / "intake.json").read_text(encoding="utf-8"))

    def contract(operation: str) -> tuple[str, jsonschema.Draft7Validator]:
        """The subject a request goes to, and a validator of its reply, read from the document alone."""
        op = doc["operations"][operation]
        address = doc["channels"][op["channel"]["$ref"].rsplit("/", 1)[1]]["address"]
        reply_channel = doc["channels"][op["reply"]["channel"]["$ref"].rsplit("/", 1)[1]]
        (reply_ref,) = reply_channel["messages"].values()
        payload = doc["components"]["messages"][reply_ref["$ref"].rsplit("/", 1)[1]]["payload"]
        return address, jsonschema.Draft7Validator({**payload, "components": doc["components"]})

    declare_subject, declare_reply = contract("intakeDeclare")
    status_subject, status_reply = contract("intakeStatus")
    token = stack.token("enterprise", EXAMPLE["uscc"])
    example = {**EXAMPLE, "declaration_id": "contract-over-nats-1"}

    async def run() -> dict[str, Any]:
        nc = await nats_py.connect(stack.nats_urls("frontend")[0], inbox_prefix=nats_config.inbox_prefix("frontend"))
        try:

            async def ask(subject: str, request: dict[str, Any], validator: jsonschema.Draft7Validator) -> Any:
                reply = json.loads((await nc.request(subject, json.dumps(request).encode(), timeout=20)).data)
                validator.validate(reply)
                return reply

            declared = await ask(declare_subject, {"token": token, "declaration": example}, declare_reply)
            assert declared["status"] == 202, declared
            asked = {"token": token, "declaration_id": declared["declaration"]["id"]}
            deadline = time.monotonic() + 60
            while (status := await ask(status_subject, asked, status_reply))["declaration"]["status"] == "pending":
                assert time.monotonic() < deadline, "still pending after 60 s"
                await asyncio.sleep(0.3)
            other = {"token": stack.token("enterprise", uscc(4243)), "declaration_id": asked["declaration_id"]}
            hidden = await ask(status_subject, other, status_reply)
            assert hidden["status"] == 404 and hidden["declaration"] is None
            bad = json.loads((await nc.request(status_subject, b"{not json", timeout=20)).data)
            status_reply.validate(bad)
            assert bad["status"] == 400
            return dict(status)
        finally:
            await nc.close()

    status = asyncio.run(run())
    assert status["status"] == 200
    assert status["declaration"]["status"] == "evaluated" and status["declaration"]["evaluation"] is not None
