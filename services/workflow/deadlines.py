"""Loading the lifecycle deadlines from rules/lifecycle (bureau data)."""

from __future__ import annotations

from pathlib import Path

import yaml

from services.workflow.model import Deadline


def load_deadlines(rules_dir: Path) -> dict[str, Deadline]:
    raw = yaml.safe_load((rules_dir / "lifecycle" / "deadlines.yaml").read_text(encoding="utf-8"))
    return {key: Deadline(key=key, **value) for key, value in raw["deadlines"].items()}
