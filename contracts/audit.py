"""The audit service's HTTP bodies: a unit's timeline, and the verdict on the chain."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class AuditRecord(BaseModel):
    """One record of the append-only audit store."""

    seq: int = Field(description="Position in the chain (1, 2, …).")
    source_id: str = Field(description="The id of the message recorded (unique).")
    kind: str = Field(description="Message type: submission.received, evaluation.completed, unit.changed, task, …")
    occurred_at: str = Field(description="When it happened (UTC, ISO 8601).")
    recorded_at: str = Field(description="When audit stored it (UTC, ISO 8601).")
    uscc: str = Field(description="The unit's USCC.")
    district: str = Field(description="The unit's district.")
    workflow_id: str = Field(description="The lifecycle workflow, for lifecycle records.")
    actor_role: str = Field(description="Who acted: role.")
    actor_subject: str = Field(description="Who acted: a USCC, staff id or service name.")
    actor_scope: str = Field(description="The actor's scope: USCC or district.")
    summary_zh: str = Field(description="What happened, in Chinese.")
    reason: str = Field(description="Why (a staff decision's reason, a state change's reason, an error).")
    clause: str = Field(description="The clause behind it.")
    rulebook_version: str = Field(description="Evaluations: the rulebook's content hash.")
    input_hash: str = Field(description="Declarations, notices and evaluations: SHA-256 of the inputs decided on.")
    payload: dict[str, Any] = Field(description="The message as received.")
    prev_hash: str = Field(description="The previous record's hash.")
    hash: str = Field(description="SHA-256 over this record's fields and prev_hash.")


class AuditFinding(BaseModel):
    """A break in the chain."""

    problem: Literal["edited", "deleted", "inserted", "reordered"] = Field(description="What was done to the record.")
    seq: int = Field(description="The record it concerns.")
    source_id: str = Field(description="That record's message id.")
    detail: str = Field(description="In words.")


class AuditVerdict(BaseModel):
    """The result of walking the whole chain."""

    records: int = Field(description="Records checked.")
    head_seq: int = Field(description="The last record's seq (0 when empty).")
    head_hash: str = Field(description="The last record's hash: note it to detect a later truncation.")
    intact: bool = Field(description="No finding.")
    findings: list[AuditFinding] = Field(description="Every break, in chain order.")


class Reconciliation(BaseModel):
    """One lifecycle workflow: its Temporal history compared with its audit records."""

    workflow_id: str = Field(description="The lifecycle workflow.")
    runs: int = Field(description="Workflow runs read (one per continue-as-new cycle).")
    in_both: int = Field(description="Steps and task changes in both.")
    missing_from_audit: dict[str, str] = Field(description="Announced in Temporal's history, absent from the audit.")
    not_in_history: dict[str, str] = Field(description="On the audit record, but never announced by the workflow.")
    agrees: bool = Field(description="Neither list has anything.")
