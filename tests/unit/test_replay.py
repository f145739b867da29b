"""Replay saved lifecycle histories against today's workflow code.

The histories under tests/replay/histories were recorded from the lifecycle tests
(`GREENFAB_SAVE_HISTORIES=tests/replay/histories uv run pytest tests/integration/test_lifecycle.py`),
one per file named `<test>-<n>@<workflow id>.json`. They cover signals, timers, commands, staff
actions (updates, accepted and refused) and continue-as-new. Those named `local-record-…` were recorded
with effects recorded by a local activity per batch (patch "record-effects-locally"), `one-record-…` with one
record per workflow task (patch "one-record-per-task"), `newest-code-…` from inputs that say `newest_code` (as the
service starts units now: every change on, no patch asked, no marker). A change that would make a running
multi-year workflow non-deterministic fails here: guard it with `workflow.patched()` instead of
editing the path in place.
"""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from services.workflow.bootstrap import workflow_runner
from services.workflow.settings import SandboxMode
from services.workflow.workflows import UnitLifecycleWorkflow

HISTORIES = sorted((Path(__file__).resolve().parents[1] / "replay" / "histories").glob("*@*.json"))


def test_histories_were_recorded_including_staff_actions() -> None:
    assert len(HISTORIES) >= 20, "record them again: see this module's docstring"
    with_updates = [p for p in HISTORIES if "WORKFLOW_EXECUTION_UPDATE_ACCEPTED" in p.read_text(encoding="utf-8")]
    assert len(with_updates) >= 10, "histories with staff actions (updates) must be kept too"


@pytest.mark.parametrize("sandbox", get_args(SandboxMode))
@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem.split("@")[0] for p in HISTORIES])
async def test_saved_history_replays(path: Path, sandbox: SandboxMode) -> None:
    """Under every way the service may run workflow code (GREENFAB_TEMPORAL_SANDBOX), strict included."""
    text = path.read_text(encoding="utf-8")  # noqa: ASYNC240  # a small file, read once
    # Replay under the workflow's own id: its task ids derive from it, and validators check them.
    history = WorkflowHistory.from_json(path.stem.split("@", 1)[1], text)
    replayer = Replayer(
        workflows=[UnitLifecycleWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(sandbox),
    )
    await replayer.replay_workflow(history)
