"""A unit's lifecycle (003 chapters 3–4) as a pure state machine.

Inputs (evaluations, notices, staff actions, commands, the clock) change the `UnitState` and queue
effects (transitions, task changes, deadline events, requests to the calendar or scoring, signals
to the unit's other workflows) that the workflow carries out through activities. Nothing here does
I/O or reads a clock: ``now`` is always given, so the same inputs give the same result on replay.

Each concern is a module of its own, and `Lifecycle` joins them:

- `core`: the state, policy and queued effects; recording steps, tasks and obligations
- `declarations`: an evaluation arriving; `grading`: annual grades and the grade path
- `publicity`: the publicity period and listing; `notices`: notices about a unit
- `titles`: re-checks, revocation and the national recommendation
- `staff`: claims and decisions on tasks; `alarms`: reminders, due days and misses
- `transactions`: inputs applied whole or not at all; `states`, `refusal`: names and refusals
"""

from __future__ import annotations

from services.workflow.domain.lifecycle.declarations import Declarations
from services.workflow.domain.lifecycle.notices import Notices
from services.workflow.domain.lifecycle.refusal import ActionRefused
from services.workflow.domain.lifecycle.staff import StaffActions
from services.workflow.domain.lifecycle.states import HOLDS_TITLE, IN_PROGRESS, NATIONAL_STATE, STATE_ZH, state_zh
from services.workflow.domain.lifecycle.transactions import Transactions

__all__ = [
    "HOLDS_TITLE",
    "IN_PROGRESS",
    "NATIONAL_STATE",
    "STATE_ZH",
    "ActionRefused",
    "Lifecycle",
    "state_zh",
]


class Lifecycle(Transactions, StaffActions, Notices, Declarations):
    """The rules of 003 chapters 3–4 over one unit's state."""
