"""Notify's pure core: who hears of an event, over which channels, and what it says (in Chinese).

Templates are data (services/notify/templates.yaml). A recipient that cannot be named or a
template that is missing gives a Draft with an error, so the failure is recorded where staff see
it instead of being skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contracts import labels
from contracts.messages import DeadLettered, DeadlineEvent, TaskEvent, UnitChanged

CHANNELS = ("inbox", "email", "webhook")
BUREAU = "bureau"


@dataclass(frozen=True)
class Template:
    title: str
    body: str


@dataclass(frozen=True)
class Draft:
    """A notification for one recipient before channels are chosen; ``error`` when it cannot be sent."""

    recipient: str
    recipient_role: str
    template: str
    title: str = ""
    body: str = ""
    error: str = ""


@dataclass(frozen=True)
class Links:
    """Where each kind of recipient acts, named in every message."""

    enterprise: str
    staff: str

    def for_role(self, role: str) -> str:
        return self.enterprise if role == "enterprise" else self.staff


def recipient_of(role: str, scope: str | None) -> str:
    """The inbox a principal reads: an enterprise's USCC, a district's name, else the role's shared inbox."""
    return scope or "" if role in ("enterprise", "district") else role


def render(templates: Mapping[str, Template], name: str, recipient: str, role: str, facts: dict[str, Any]) -> Draft:
    if not recipient:
        return Draft("", role, name, error=f"unknown recipient: role {role}, facts {sorted(facts.items())[:6]}")
    template = templates.get(name)
    if template is None:
        return Draft(recipient, role, name, error=f"no template named {name!r}")
    try:
        return Draft(recipient, role, name, template.title.format(**facts), template.body.format(**facts))
    except (KeyError, IndexError, ValueError) as exc:
        return Draft(recipient, role, name, error=f"template {name!r} needs {exc}")


def for_unit_changed(event: UnitChanged, templates: Mapping[str, Template], links: Links) -> list[Draft]:
    """The enterprise hears of every step of its own unit: a new state, or a note in the same state (which
    must not read as the state being announced again)."""
    facts = {
        **event.model_dump(mode="json"),
        "total_text": f"，总分 {event.total}" if event.total else "",
        "clause_text": event.clause or "—",
        "act_at": links.enterprise,
    }
    name = "unit.changed" if event.state_changed else "unit.noted"
    return [render(templates, name, event.uscc, "enterprise", facts)]


def for_deadline(event: DeadlineEvent, templates: Mapping[str, Template], links: Links) -> list[Draft]:
    """A deadline reminder goes to whoever must act: the enterprise, the unit's district, or the bureau."""
    recipient = {"enterprise": event.uscc, "district": event.district}.get(event.owner, event.owner)
    facts = {**event.model_dump(mode="json"), "act_at": links.for_role(event.owner)}
    facts["enterprise_name"] = event.enterprise_name or event.uscc
    return [render(templates, f"deadline.{event.kind}", recipient, event.owner, facts)]


def for_task(event: TaskEvent, templates: Mapping[str, Template], links: Links) -> list[Draft]:
    """A new task goes to whoever acts on it; an escalation goes to the bureau. Other changes tell no one."""
    facts = {
        **event.model_dump(mode="json"),
        "due_text": event.due_at.date().isoformat() if event.due_at else "尽快",
        "act_at": links.staff,
    }
    if event.change == "opened":
        recipient = event.task_district if event.role == "district" else event.role
        return [render(templates, "task.opened", recipient or "", event.role, facts)]
    if event.change == "escalated":
        return [render(templates, "task.escalated", BUREAU, BUREAU, facts)]
    return []


def for_dead_letter(event: DeadLettered, links: Links, templates: Mapping[str, Template]) -> list[Draft]:
    """A message that failed every try is the bureau's to see: what it was, why, and what was marked failed."""
    facts = {
        **event.model_dump(mode="json"),
        # The service, the message and what was marked failed by their Chinese names (评分服务, 申报已受理,
        # 申报 0f3c…); the subject stays beside its name, as staff replay dead letters by it.
        "service_zh": labels.service_zh(event.service),
        "subject_zh": labels.message_zh(event.subject),
        "uscc_text": event.uscc or "未知",
        "error_text": event.error[:300],
        "marked_text": (
            f"已将 {labels.record_zh(event.marked_failed)} 标记为失败。"
            if event.marked_failed
            else (f"未能标记失败（{event.mark_error[:200]}），需人工处理。" if event.mark_error else "")
        ),
        "act_at": links.staff,
    }
    return [render(templates, "deadletter", BUREAU, BUREAU, facts)]


def channels_for(chosen: list[str] | None) -> list[str]:
    """A recipient's chosen channels, once each; the in-app inbox when it has chosen none."""
    return list(dict.fromkeys(chosen or ["inbox"]))


def backoff_s(attempt: int, base_s: float, cap_s: float) -> float:
    """Seconds before try ``attempt + 1``: base, 2×base, 4×base, … up to the cap."""
    return float(min(cap_s, base_s * 2 ** max(0, attempt - 1)))
