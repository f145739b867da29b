"""A lifecycle workflow whose every task fails: what a unit looks like when its workflow is failing.

Registered under the real workflow's name on a queue of its own, so the staff API meets a unit that
Temporal reports failing (whatever the cause: a bug, a history the code can no longer replay) and
must say so, apart from Temporal being away.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow

BROKEN = "BrokenLedger: a lifecycle step that cannot be carried out"


@workflow.defn(name="UnitLifecycleWorkflow")
class BrokenLifecycle:
    @workflow.query
    def snapshot(self) -> dict[str, Any]:
        return {}

    @workflow.run
    async def run(self, _: dict[str, Any]) -> None:
        raise RuntimeError(BROKEN)
