"""The clock: reminders before a deadline, its due day and its miss, and the end of publicity, fired
oldest first at the moment the workflow's timer wakes it."""

from __future__ import annotations

from datetime import datetime, timedelta

from contracts.schemes import Designation
from services.workflow.domain.lifecycle.grading import Grading
from services.workflow.domain.lifecycle.publicity import Publicity
from services.workflow.domain.lifecycle.states import HOLDS_TITLE
from services.workflow.domain.state import DeadlineFired, Obligation

PUBLICITY_END = "publicity-end"


class Alarms(Publicity, Grading):
    """Alarms the unit holds, the earliest of them, and what firing each does."""

    def _alarms(self) -> list[tuple[datetime, str, Obligation | None, int]]:
        out: list[tuple[datetime, str, Obligation | None, int]] = []
        for ob in self.state.obligations:
            for offset in self.policy.reminder_offsets_days:
                label = f"upcoming-{offset}"
                at = self.policy.start_of(ob.due_day - timedelta(days=offset))
                # A reminder whose moment had passed when the deadline opened is not sent late.
                if label not in ob.fired and at > ob.opened_at:
                    out.append((at, label, ob, offset))
            for label, day in (("due", ob.due_day), ("missed", ob.due_day + timedelta(days=1))):
                if label not in ob.fired:
                    out.append((self.policy.start_of(day), label, ob, 0))
        s = self.state
        # An open objection holds listing: the publicity alarm waits until the state is publicity again.
        if s.publicity_ends_on is not None and s.state == "publicity":
            out.append((self.policy.start_of(s.publicity_ends_on + timedelta(days=1)), PUBLICITY_END, None, 0))
        return sorted(out, key=lambda a: a[0])

    def next_alarm(self) -> datetime | None:
        alarms = self._alarms()
        return alarms[0][0] if alarms else None

    def next_alarm_for(self) -> tuple[str, Obligation | None] | None:
        """What the earliest alarm is for: its label (``upcoming-7``, ``due``, ``missed``, ``publicity-end``)
        and its obligation (None for the end of publicity)."""
        alarms = self._alarms()
        return (alarms[0][1], alarms[0][2]) if alarms else None

    def on_time(self, now: datetime) -> None:
        """Fire every alarm due by ``now``, oldest first."""
        for at, label, ob, offset in self._alarms():
            if at > now:
                break
            if ob is None:
                self._publicity_over(now)
                continue
            if ob not in self.state.obligations:
                continue  # met or replaced by an earlier alarm in this batch
            ob.fired.append(label)
            kind = "upcoming" if label.startswith("upcoming") else label
            due_at = self.policy.start_of(ob.due_day + timedelta(days=1))
            self._effects.append(
                DeadlineFired(
                    kind=kind,
                    offset_days=offset,
                    obligation=ob.model_copy(),
                    due_at=due_at,
                    deadline=self.policy.deadlines[ob.deadline],
                    fired_at=now,
                )
            )
            if kind == "missed":
                self._missed(ob, now)

    def _missed(self, ob: Obligation, now: datetime) -> None:
        self.state.obligations = [o for o in self.state.obligations if o.key != ob.key]
        d = self.policy.deadlines[ob.deadline]
        if ob.task_id is not None:
            task = self._task(ob.task_id)
            if task.active and not task.escalated:
                task.escalated = True
                self._task_changed("escalated", task)
                self._step(now, "task-overdue", task=task, title=task.title_zh, deadline=ob.deadline)
            return
        if ob.deadline == "re-evaluation":
            self._grade_path_failed(now, "re-evaluation-missed")
            return
        due = ob.due_day.isoformat()
        self._step(now, "deadline-missed", name=d.name_zh, due=due, consequence=d.consequence_zh, deadline=ob.deadline)
        if self.state.state in HOLDS_TITLE or self.state.designation is Designation.ANNUAL_GRADING:
            self._open_task(
                "followup", now, {"deadline": ob.deadline, "due_day": ob.due_day.isoformat(), "note": ob.note}
            )

    def discard_due_alarms(self, now: datetime) -> None:
        """Mark every alarm due by ``now`` as fired without acting on it (after firing them failed)."""
        for at, label, ob, _ in self._alarms():
            if at > now:
                break
            if ob is not None:
                ob.fired.append(label)
            elif label == PUBLICITY_END:
                self.state.publicity_ends_on = None
