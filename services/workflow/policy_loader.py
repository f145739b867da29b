"""Loading the lifecycle policy from rules/lifecycle/lifecycle.yaml (bureau data)."""

from __future__ import annotations

from pathlib import Path

import yaml

from services.workflow.domain.policy import Policy


def load_policy(rules_dir: Path) -> Policy:
    raw = yaml.safe_load((rules_dir / "lifecycle" / "lifecycle.yaml").read_text(encoding="utf-8"))
    return Policy.from_data(raw)
