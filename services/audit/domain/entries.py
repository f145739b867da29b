"""What each greenfab message puts on the record: who, role, scope, what, why, clause, rulebook, input hash.

Pure: a message (as the dict NATS delivered) in, an Entry out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from contracts import labels


def canonical(value: Any) -> str:
    """One JSON spelling per value (sorted keys, no spaces), so a hash never depends on key order."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def digest(value: Any) -> str:
    return hashlib.sha256(canonical(value).encode()).hexdigest()


@dataclass(frozen=True)
class Entry:
    """A record before it is chained."""

    source_id: str
    kind: str
    occurred_at: str
    uscc: str
    district: str
    workflow_id: str
    actor_role: str
    actor_subject: str
    actor_scope: str
    summary_zh: str
    reason: str
    clause: str
    rulebook_version: str
    input_hash: str
    payload: dict[str, Any]


class NotAuditable(ValueError):
    """The message lacks what every record needs (an id, a type, an actor)."""


_DEADLINE_ZH = {"upcoming": "即将到期", "due": "今日到期", "missed": "已逾期"}
_TASK_ZH = {
    "opened": "新建",
    "updated": "更新",
    "claimed": "认领",
    "released": "退回",
    "escalated": "超时上报市局",
    "closed": "办结",
    "cancelled": "撤销",
}


def entry_of(message: dict[str, Any]) -> Entry:
    """The record of one message; NotAuditable names what is missing."""
    for name in ("id", "type", "occurred_at", "actor"):
        if not message.get(name):
            raise NotAuditable(f"message without `{name}`: {canonical(message)[:200]}")
    kind = str(message["type"])
    actor = message["actor"]
    evaluation = message.get("evaluation") or {}
    return Entry(
        source_id=str(message["id"]),
        kind=kind,
        occurred_at=str(message["occurred_at"]),
        uscc=str(message.get("uscc") or ""),
        district=str(message.get("district") or message.get("task_district") or ""),
        workflow_id=str(message.get("workflow_id") or ""),
        actor_role=str(actor.get("role", "")),
        actor_subject=str(actor.get("subject", "")),
        actor_scope=str(actor.get("scope") or ""),
        summary_zh=_summary(kind, message),
        reason=str(message.get("reason") or message.get("error") or ""),
        clause=str(message.get("clause") or ""),
        rulebook_version=str(evaluation.get("rulebook_version") or ""),
        input_hash=_input_hash(kind, message),
        payload=message,
    )


def _input_hash(kind: str, message: dict[str, Any]) -> str:
    """The hash of what a decision was made from: the declaration's data, or each scored item's inputs."""
    if kind == "submission.received":
        return digest(message.get("data"))
    if kind == "evaluation.completed" and message.get("evaluation"):
        items = message["evaluation"].get("items") or []
        return digest({i.get("id"): i.get("inputs") for i in items})
    if kind == "notice.received":
        return digest(message.get("notice"))
    return ""


def _summary(kind: str, m: dict[str, Any]) -> str:
    label = labels.message_zh(kind)
    if kind == "unit.changed":
        return f"{label}：{m.get('state_zh', m.get('state', ''))}"
    if kind == "deadline":
        when = _DEADLINE_ZH.get(m.get("kind", ""), "")
        return f"{label}（{when}）：{m.get('deadline_zh', '')}，{m.get('due_on', '')}"
    if kind == "task":
        decision = f"，决定：{labels.decision_zh(m['decision'], m.get('kind'))}" if m.get("decision") else ""
        return f"{label}{_TASK_ZH.get(m.get('change', ''), '')}：{m.get('title_zh', '')}{decision}"
    if kind == "evaluation.completed":
        ev = m.get("evaluation")
        return f"{label}：总分 {ev.get('total')}" if ev else f"{label}：评价失败"
    if kind == "submission.received":
        return f"{label}：{labels.zh(labels.SCHEME_ZH, m.get('scheme', ''))}（{m.get('submission_id', '')}）"
    return label


# Records whose district is the unit's own: the enterprise's declaration and the workflow's steps.
# A notice's district is its sender's (a district reporting on a unit), which says nothing about the unit.
UNIT_DISTRICT_KINDS = frozenset({"submission.received", "unit.changed", "task", "deadline"})


def unit_district(records: Iterable[tuple[str, str]]) -> str:
    """The unit's district from its (kind, district) records in time order: the latest that states it, or ""."""
    found = ""
    for kind, district in records:
        if kind in UNIT_DISTRICT_KINDS and district:
            found = district
    return found
