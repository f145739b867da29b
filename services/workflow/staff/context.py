"""What every staff use case needs: the database, the Temporal client, the policy and the task queue."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from temporalio.client import Client

from greenfab.db import Database
from services.workflow.domain.policy import Policy


@dataclass(frozen=True)
class Staff:
    """The staff API's dependencies; ``temporal`` gives the client once the service has connected it."""

    db: Database
    temporal: Callable[[], Client]
    policy: Policy
    task_queue: str
