"""Notify's pure core: who hears of an event, and what it says (in Chinese)."""

from __future__ import annotations

from dataclasses import dataclass

from contracts.messages import DeadlineEvent, UnitChanged


@dataclass(frozen=True)
class Draft:
    """A notification before it is stored: recipient, title, body."""

    recipient: str
    recipient_role: str
    title: str
    body: str


def for_unit_changed(event: UnitChanged) -> list[Draft]:
    """The enterprise hears of every change to its own unit."""
    total = f"，总分 {event.total}" if event.total else ""
    return [
        Draft(
            recipient=event.uscc,
            recipient_role="enterprise",
            title=f"申报状态更新：{event.state_zh}",
            body=f"您单位（{event.uscc}）的申报状态已更新为“{event.state_zh}”{total}。{event.reason}",
        )
    ]


KIND_ZH = {"upcoming": "即将到期", "due": "今日到期", "missed": "已逾期"}


def for_deadline(event: DeadlineEvent) -> list[Draft]:
    """A deadline reminder goes to whoever must act: the enterprise, the unit's district, or the bureau."""
    when = event.due_on.isoformat()
    lead = f"（还有 {event.offset_days} 天）" if event.kind == "upcoming" else ""
    title = f"{KIND_ZH[event.kind]}：{event.deadline_zh}"
    body = (
        f"单位 {event.enterprise_name or event.uscc}（{event.uscc}）的“{event.deadline_zh}”须于 {when} 前办理{lead}"
        f"（依据：{event.clause}）。逾期后果：{event.consequence_zh}。"
    )
    recipient = {"enterprise": event.uscc, "district": event.district}.get(event.owner, event.owner)
    return [Draft(recipient=recipient, recipient_role=event.owner, title=title, body=body)]
