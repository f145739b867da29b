"""Intake's pure core: what an idempotent retry gets, and a declaration's status.

The USCC and district are checked where every boundary checks them: contracts.identifiers.

No I/O here: the adapters (api.py, outbox.py) call these functions.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from contracts.http import DeclarationCreate


def fingerprint(decl: DeclarationCreate) -> str:
    """A hash of what was declared, to tell an honest retry from a different request."""
    body = decl.model_dump(mode="json", exclude={"declaration_id"})
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


STATUS_ZH: dict[str, str] = {"pending": "评价中", "evaluated": "已完成评价", "failed": "评价失败"}


def status_of(evaluation: dict[str, Any] | None, error: str | None) -> str:
    """pending until scoring answers; then evaluated or failed."""
    if error:
        return "failed"
    return "evaluated" if evaluation is not None else "pending"
