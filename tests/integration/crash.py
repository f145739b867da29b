"""Functions the crash test sends to the engine's worker process (importable there by name)."""

from __future__ import annotations

import os
from typing import Any


def die(scheme: str, as_of: str, data: dict[str, Any]) -> dict[str, Any]:
    os._exit(139)  # as a segfault in durable_rules' C core would
