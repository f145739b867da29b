"""Notify's pure core: who hears of an event, and what it says (in Chinese)."""

from __future__ import annotations

from dataclasses import dataclass

from contracts.messages import DeadlineDue, UnitChanged


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


def for_deadline_due(event: DeadlineDue) -> list[Draft]:
    """A deadline that fell due goes to the district that owns the unit, and to the enterprise."""
    when = event.due_at.date().isoformat()
    return [
        Draft(
            recipient=event.district,
            recipient_role="district",
            title=f"期限已到：{event.deadline}",
            body=f"单位 {event.uscc} 的“{event.deadline}”期限已于 {when} 到期（{event.clause}），请尽快处理。",
        ),
        Draft(
            recipient=event.uscc,
            recipient_role="enterprise",
            title=f"期限已到：{event.deadline}",
            body=f"您单位的“{event.deadline}”期限已于 {when} 到期（{event.clause}）。",
        ),
    ]
