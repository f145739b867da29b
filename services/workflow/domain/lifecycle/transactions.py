"""Inputs applied whole or not at all.

An input that fails on its data (a date past the calendar's end, a state it does not fit) leaves the state as
it was and is recorded as a fault, so a bad input can never stop the unit: the workflow goes on waiting for
the next one. A staff action is first tried on a copy, so a refused one is answered before it is accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Self, TypeVar

from services.workflow.domain.lifecycle.alarms import Alarms
from services.workflow.domain.lifecycle.refusal import ActionRefused, describe
from services.workflow.domain.state import Fault, checkpoint

T = TypeVar("T")


class Transactions(Alarms):
    """Apply an input whole, rehearse a staff action, record a fault."""

    def apply_whole(self, now: datetime, what: str, change: Callable[[], T]) -> T | Fault:
        """Apply ``change`` and return its result; if it fails, restore the state and return the recorded fault.

        A refusal (ActionRefused) is the caller's to answer and passes through, with the state restored.
        """
        state, effects = checkpoint(self.state), list(self._effects)
        try:
            result = change()
            self.next_alarm()  # the unit must still be one the workflow can wait on
        except ActionRefused:
            self.state, self._effects = state, effects
            raise
        except Exception as exc:  # noqa: BLE001 - any failure on the input's data refuses that input
            self.state, self._effects = state, effects
            return self.fault(now, what, exc)
        return result

    def trial(self, change: Callable[[Self], object]) -> None:
        """Raise ActionRefused if ``change`` could not be applied, changing nothing (update validators)."""
        rehearsal = type(self)(checkpoint(self.state), self.policy)
        try:
            change(rehearsal)
            rehearsal.next_alarm()
        except ActionRefused:
            raise
        except Exception as exc:
            raise ActionRefused(
                422, "cannot_apply", f"该操作无法执行：{describe(exc)}", f"this cannot be applied: {describe(exc)}"
            ) from exc

    def fault(self, now: datetime, what: str, exc: Exception) -> Fault:
        """Record an input that could not be applied, on the unit and in its timeline."""
        fault = Fault(at=now, input=what, error=describe(exc))
        self.state.faults.append(fault)
        self._step(now, "input-refused", what=what, error=fault.error)
        return fault
