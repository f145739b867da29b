"""Functions the crash test sends to the engine's worker process (importable there by name)."""

from __future__ import annotations

import os
from typing import Any


def die(scheme: str, as_of: str, data: dict[str, Any]) -> dict[str, Any]:
    os._exit(139)  # as a segfault in durable_rules' C core would


def die_on_marker(scheme: str, as_of: str, data: dict[str, Any]) -> bytes:
    """The real evaluation, except that a declaration marked ``crash`` kills the worker (as a segfault would)."""
    if data.get("crash"):
        os._exit(139)
    from services.scoring.worker import evaluate_in_worker

    return evaluate_in_worker(scheme, as_of, {k: v for k, v in data.items() if k != "crash"})
