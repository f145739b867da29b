"""Temporal's dev server and the workflow service SIGKILLed in the middle of a green-factory path.

`greenfab up` as a user runs it (the dev server keeps its history in a SQLite file in the data
directory, the supervisor restarts a child that dies). The unit is taken through the README's
steps; the Temporal server is killed while the district's task waits, the workflow service right
after the bureau's approval. Each time the unit must come back exactly as it was, the staff API
must say the engine is away (503, nothing changed) rather than fail or claim the unit is gone, and
nothing may be announced twice or fire early.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from contracts import subjects
from tests.e2e.stack import Stack
from tests.e2e.test_stack import wait_evaluated
from tests.support.servers import wait_until
from tests.support.streams import stream_messages

pytestmark = pytest.mark.e2e
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "green-factory-declaration.json"


def child(stack: Stack, marker: str) -> psutil.Process:
    """The child of `greenfab up` whose command line contains ``marker``."""
    assert stack.proc is not None
    for proc in psutil.Process(stack.proc.pid).children():
        try:
            if any(marker in part for part in proc.cmdline()):
                return proc
        except psutil.Error:
            continue  # one that died and is not reaped yet
    raise LookupError(f"no child of greenfab up runs {marker}")


def child_pid(stack: Stack, marker: str) -> int:
    return int(child(stack, marker).pid)


def kill_child(stack: Stack, marker: str) -> None:
    proc = child(stack, marker)
    proc.send_signal(signal.SIGKILL)

    def dead() -> bool:
        # A zombie until the supervisor reaps it, which it cannot while paused.
        try:
            return proc.status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    wait_until(dead, 10, f"{marker} dies")


def unit_view(staff: httpx.Client, wid: str) -> dict[str, Any] | None:
    # After its worker died, a unit's first query waits for Temporal to give up on the dead worker's
    # sticky queue (about 10 s on the real server) before a live worker answers.
    r = staff.get(f"/v1/units/{wid}", timeout=30)
    return dict(r.json()) if r.status_code == 200 else None


def test_killing_temporal_and_the_workflow_service_mid_path_loses_nothing(tmp_path: Path) -> None:
    stack = Stack(tmp_path / "data")
    stack.up()
    try:
        example = json.loads(EXAMPLE.read_text())
        code, district = example["uscc"], "顺义区"
        wid = f"unit-{code}-municipal-green-factory"
        bureau = stack.client("workflow", "bureau", None)
        shunyi = stack.client("workflow", "district", district)
        call = {"scheme": "green-factory", "title": "2026年北京市绿色工厂征集", "opens_on": "2025-01-01"}
        assert bureau.post("/v1/calls", json={**call, "closes_on": "2026-12-31"}).status_code == 201
        enterprise = stack.client("intake", "enterprise", code)
        r = enterprise.post("/v1/declarations", json=example)
        assert r.status_code == 202, r.text
        assert wait_evaluated(enterprise, r.json()["id"])["status"] == "evaluated"
        before = wait_until(
            lambda: (u := unit_view(shunyi, wid)) and u["state"] == "awaiting_recommendation" and u["deadlines"] and u,
            60,
            "the unit waits for its district",
        )
        task = wait_until(lambda: shunyi.get("/v1/tasks").json()["items"], 60, "the district's task")[0]

        # 1. Temporal's server dies while the unit waits on the district and its deadline timers,
        # and stays away (its supervisor paused) long enough for the staff API to give up asking.
        assert stack.proc is not None
        workflow_pid = child_pid(stack, "services.workflow")
        decision = {"decision": "recommend", "reason": "区级培育对象"}
        stack.proc.send_signal(signal.SIGSTOP)
        try:
            kill_child(stack, "start-dev")
            down = shunyi.post(f"/v1/tasks/{task['task_id']}/decision", json=decision, timeout=60)
            unit_while_down = shunyi.get(f"/v1/units/{wid}", timeout=60)
        finally:
            stack.proc.send_signal(signal.SIGCONT)
        assert down.status_code == 503, down.text
        assert down.headers["content-type"].startswith("application/problem+json") and down.headers["retry-after"]
        assert unit_while_down.status_code == 503, unit_while_down.text
        wait_until(lambda: stack.health().get("temporal"), 60, "the supervisor restarts Temporal")
        assert wait_until(lambda: unit_view(shunyi, wid), 60, "the unit answers again") == before, (
            "it came back changed"
        )
        r = shunyi.post(f"/v1/tasks/{task['task_id']}/decision", json=decision)
        assert r.status_code == 200, r.text
        # The worker found the new server by itself: the workflow service was never restarted.
        assert child_pid(stack, "services.workflow") == workflow_pid
        review = wait_until(
            lambda: [t for t in bureau.get("/v1/tasks").json()["items"] if t["kind"] == "review"],
            60,
            "the bureau's review task",
        )[0]

        # 2. The workflow service dies just after the bureau's approval was carried out.
        approved = bureau.post(
            f"/v1/tasks/{review['task_id']}/decision", json={"decision": "approve", "reason": "分级结果另行核实"}
        )
        assert approved.status_code == 200, approved.text
        publicised = wait_until(
            lambda: (u := unit_view(bureau, wid)) and u["state"] == "publicity" and u, 60, "publicity"
        )
        old = child_pid(stack, "services.workflow")
        kill_child(stack, "services.workflow")
        wait_until(
            lambda: stack.health().get("workflow") and child_pid(stack, "services.workflow") != old, 60, "a new one"
        )
        again = wait_until(lambda: unit_view(bureau, wid), 60, "the unit answers again")
        assert again == publicised
        assert again["publicity_ends_on"] and len(again["timeline"]) == len(publicised["timeline"])

        # Every step announced once; no deadline is near, so no alarm may have fired.
        events = [
            e
            for e in asyncio.run(stream_messages(stack.nats_url, subjects.LIFECYCLE.name))
            if e.get("workflow_id") == wid
        ]
        ids = Counter(e["id"] for e in events)
        assert ids.most_common(1)[0][1] == 1, ids.most_common(3)
        assert [e["seq"] for e in events if e["type"] == "unit.changed"] == [s["seq"] for s in again["timeline"]]
        assert not [e for e in events if e["type"] == "deadline"]

        # The audit trail holds each of them once and agrees with Temporal's own history.
        reconcile = subprocess.run(
            [sys.executable, "-m", "greenfab_cli", "audit", "reconcile", code, "--data-dir", str(stack.data_dir),
             "--temporal-address", f"127.0.0.1:{stack.ports['temporal-port']}"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert reconcile.returncode == 0, reconcile.stdout + reconcile.stderr
    finally:
        assert stack.stop() == 0
