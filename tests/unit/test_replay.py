"""Replay saved lifecycle histories against today's workflow code.

The histories under tests/replay/histories were recorded from the lifecycle tests
(`GREENFAB_SAVE_HISTORIES=tests/replay/histories uv run pytest tests/integration/test_lifecycle.py`).
A change that would make a running multi-year workflow non-deterministic fails here: guard it with
`workflow.patched()` instead of editing the path in place.

Kept: runs driven by signals, timers and commands (grade path, bans, district reports, withdrawal).
Histories that contain updates replay in the bench that recorded them, but not after a round trip
through `WorkflowHistory.to_json`/`from_json` ("Update machine does not handle this event"), so they
are not kept yet: an open item on issue 5.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from services.workflow.workflows import UnitLifecycleWorkflow

HISTORIES = sorted((Path(__file__).resolve().parents[1] / "replay" / "histories").glob("*.json"))


def test_histories_were_recorded() -> None:
    assert len(HISTORIES) >= 10, "record them again: see this module's docstring"


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_saved_history_replays(path: Path) -> None:
    text = path.read_text(encoding="utf-8")  # noqa: ASYNC240  # a small file, read once
    history = WorkflowHistory.from_json(path.stem, text)
    replayer = Replayer(workflows=[UnitLifecycleWorkflow], data_converter=pydantic_data_converter)
    await replayer.replay_workflow(history)
