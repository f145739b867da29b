"""The whole system as a user runs it: `greenfab up`, a declaration across all four services, a crash."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import nats as nats_py
import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from contracts import subjects
from tests.conftest import uscc
from tests.e2e.stack import Stack, declaration

pytestmark = pytest.mark.e2e
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "grading-declaration.json"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("stack") / "data")
    s.up()
    yield s
    assert s.stop() == 0


def wait_evaluated(client: httpx.Client, declaration_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/v1/declarations/{declaration_id}").json()
        if body["status"] != "pending":
            return dict(body)
        time.sleep(0.2)
    raise AssertionError(f"declaration {declaration_id} still pending after {timeout} s")


def test_a_declaration_crosses_all_four_services(stack: Stack) -> None:
    example = json.loads(EXAMPLE.read_text())
    enterprise = stack.client("intake", "enterprise", example["uscc"])
    # As the README does it: a token from `greenfab token`.
    enterprise.headers["Authorization"] = f"Bearer {stack.cli_token('enterprise', example['uscc'])}"
    r = enterprise.post("/v1/declarations", json=example)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "pending"
    done = wait_evaluated(enterprise, r.json()["id"])
    assert done["status"] == "evaluated" and done["evaluation"]["total"] == "81.11"
    assert done["evaluation"]["level"] == 3 and done["evaluation"]["provisional"] is False

    wid = f"unit-{example['uscc']}-annual-grading"
    staff = stack.client("workflow", "district", "大兴区")
    for _ in range(100):
        unit = staff.get(f"/v1/units/{wid}")
        if unit.status_code == 200:
            break
        time.sleep(0.1)
    assert unit.json()["state"] == "graded" and unit.json()["state_zh"] == "已分级"
    # Another district learns only that the unit is not its own (403); another enterprise hears 404.
    assert stack.client("workflow", "district", "海淀区").get(f"/v1/units/{wid}").status_code == 403
    assert stack.client("workflow", "enterprise", uscc(7)).get(f"/v1/units/{wid}").status_code == 404

    inbox = stack.client("notify", "enterprise", example["uscc"])
    for _ in range(100):
        items = inbox.get("/v1/inbox").json()["items"]
        if items:
            break
        time.sleep(0.1)
    assert len(items) == 1 and "已分级" in items[0]["title"] and "81.11" in items[0]["body"]


def test_status_reports_every_part_healthy(stack: Stack) -> None:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "greenfab_cli", "status", "--data-dir", str(stack.data_dir)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("healthy") == 8


def test_a_busy_port_is_named_not_a_traceback(stack: Stack) -> None:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "greenfab_cli", "up", "--data-dir", str(stack.data_dir.parent / "other"),
         "--intake-port", str(stack.ports["intake-port"])],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert out.returncode == 2
    assert f"{stack.ports['intake-port']} (intake API)" in out.stderr and "Traceback" not in out.stderr


async def _workflows(stack: Stack) -> dict[str, list[str]]:
    client = await Client.connect(f"127.0.0.1:{stack.ports['temporal-port']}", data_converter=pydantic_data_converter)
    found: dict[str, list[str]] = {}
    async for wf in client.list_workflows('WorkflowType = "UnitLifecycleWorkflow"'):
        snap = await client.get_workflow_handle(wf.id).query("snapshot")
        found[wf.id] = list(snap["submissions"])
    return found


async def _stream_count(stack: Stack, stream: str) -> int:
    nc = await nats_py.connect(stack.nats_url)
    try:
        return int((await nc.jetstream().stream_info(stream)).state.messages)
    finally:
        await nc.close()


def test_sigkill_in_flight_loses_nothing_and_starts_no_workflow_twice(tmp_path: Path) -> None:
    stack = Stack(tmp_path / "data")
    stack.up()
    n = 12
    accepted: dict[str, str] = {}

    def submit(i: int) -> None:
        with stack.client("intake", "enterprise", uscc(i)) as c:
            r = c.post("/v1/declarations", json=declaration(i))
            assert r.status_code == 202, r.text
            accepted[uscc(i)] = r.json()["id"]

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(submit, range(n)))
    stack.kill()  # declarations are in the outbox, in scoring, in the workflow service: mid-flight

    stack.up()
    try:
        for code, declaration_id in accepted.items():
            with stack.client("intake", "enterprise", code) as c:
                assert wait_evaluated(c, declaration_id)["status"] == "evaluated"
        deadline = time.monotonic() + 60
        while True:
            workflows = asyncio.run(_workflows(stack))
            inboxes = {}
            for code in accepted:
                with stack.client("notify", "enterprise", code) as c:
                    inboxes[code] = c.get("/v1/inbox").json()["items"]
            if (len(workflows) == n and all(inboxes.values())) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert workflows == {f"unit-{code}-annual-grading": [did] for code, did in accepted.items()}
        assert {code: len(items) for code, items in inboxes.items()} == {code: 1 for code in accepted}
        assert asyncio.run(_stream_count(stack, subjects.SUBMISSIONS.name)) == n
        assert asyncio.run(_stream_count(stack, subjects.EVALUATIONS.name)) == n
    finally:
        assert stack.stop() == 0
