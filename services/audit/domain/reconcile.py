"""Reconciliation: does a unit's audit timeline say what its Temporal workflow history says?

The workflow announces each step (`unit.changed`, id `<workflow>-<seq>`) and each task change
(`task.*`, id `<task>-r<rev>`) from a `record_effects` activity whose input Temporal keeps in
its history. Pure: both sides as sets of announcement ids, a verdict out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from contracts.audit import Reconciliation


def announced_ids(workflow_id: str, activity_inputs: Iterable[dict[str, Any]]) -> dict[str, str]:
    """Announcement id → what it was, from each `record_effects` input in a workflow's history."""
    out: dict[str, str] = {}
    for batch in activity_inputs:
        for effect in batch.get("effects", []):
            if effect.get("effect") == "transition":
                t = effect["transition"]
                out[f"{workflow_id}-{t['seq']}"] = f"unit.changed → {t['state']}"
            elif effect.get("effect") == "task":
                t = effect["task"]
                out[f"{t['id']}-r{t['rev']}"] = f"task.{effect['change']} {t['kind']}"
    return out


def reconcile(workflow_id: str, runs: int, history: dict[str, str], audited: dict[str, str]) -> Reconciliation:
    """``history``: ids Temporal says were announced; ``audited``: ids on record (unit.changed and task kinds)."""
    missing = {k: v for k, v in sorted(history.items()) if k not in audited}
    extra = {k: v for k, v in sorted(audited.items()) if k not in history}
    return Reconciliation(
        workflow_id=workflow_id,
        runs=runs,
        in_both=len(history.keys() & audited.keys()),
        missing_from_audit=missing,
        not_in_history=extra,
        agrees=not missing and not extra,
    )
