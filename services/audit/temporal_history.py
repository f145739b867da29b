"""Reading a lifecycle workflow's own history from Temporal, across its continue-as-new runs."""

from __future__ import annotations

import json
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from contracts.audit import Reconciliation
from greenfab.db import Database
from services.audit import handlers
from services.audit.domain.reconcile import announced_ids, reconcile

RECORD_ACTIVITY = "record_effects"
RECORD_ALL_ACTIVITY = "record_all"  # every batch of one workflow task (workflow.patched "one-record-per-task")
LOCAL_ACTIVITY_MARKER = "core_local_activity"  # how Temporal's SDK core records a local activity in a history


async def record_inputs(client: Client, workflow_id: str) -> tuple[int, list[dict[str, Any]]]:
    """How many runs, and every `record_effects` input of every run, oldest run first.

    Runs are followed backwards through each start event's `continued_execution_run_id`, so no
    visibility query is needed (the time-skipping test server has none).
    """
    inputs: list[list[dict[str, Any]]] = []
    run_id: str | None = None
    while True:
        handle = client.get_workflow_handle(workflow_id, run_id=run_id)
        history = await handle.fetch_history()
        run_inputs: list[dict[str, Any]] = []
        previous = ""
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
                previous = event.workflow_execution_started_event_attributes.continued_execution_run_id
            elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                attrs = event.activity_task_scheduled_event_attributes
                if attrs.activity_type.name == RECORD_ACTIVITY:
                    run_inputs.extend(json.loads(p.data) for p in attrs.input.payloads)
            elif event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
                # Recorded by a local activity (workflow.patched "record-effects-locally"): the history keeps
                # its result, not its input, and record_effects returns the batch it recorded.
                run_inputs.extend(_local_record(event.marker_recorded_event_attributes))
        inputs.append(run_inputs)
        if not previous:
            break
        run_id = previous
    return len(inputs), [batch for run in reversed(inputs) for batch in run]


async def reconcile_unit(db: Database, client: Client, uscc: str) -> list[Reconciliation]:
    """For each lifecycle workflow of the unit: does the audit timeline agree with Temporal's history?"""
    rows = await handlers.timeline(db, uscc)
    audited: dict[str, dict[str, str]] = {}
    for r in rows:
        if r.workflow_id and r.kind in ("unit.changed", "task"):
            audited.setdefault(r.workflow_id, {})[r.source_id] = r.summary_zh
    out = []
    for workflow_id, on_record in sorted(audited.items()):
        runs, inputs = await record_inputs(client, workflow_id)
        out.append(reconcile(workflow_id, runs, announced_ids(workflow_id, inputs), on_record))
    return out


def _local_record(attrs: Any) -> list[dict[str, Any]]:
    """The batches a local `record_effects` or `record_all` returned, from its marker; nothing for any other."""
    if attrs.marker_name != LOCAL_ACTIVITY_MARKER or "data" not in attrs.details or "result" not in attrs.details:
        return []
    data = json.loads(attrs.details["data"].payloads[0].data)
    results = [r for r in (json.loads(p.data) for p in attrs.details["result"].payloads) if isinstance(r, dict)]
    if data.get("activity_type") == RECORD_ACTIVITY:
        return results
    if data.get("activity_type") == RECORD_ALL_ACTIVITY:
        return [b for r in results for b in r.get("batches", []) if isinstance(b, dict)]
    return []
