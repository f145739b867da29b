"""compose.yaml against the Compose specification, and against the services it deploys."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from compose_spec import PyCompose
from compose_spec.models import ComposeSpecification

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    # PyYAML resolves anchors and merge keys as Compose does, before the spec applies.
    return dict(yaml.safe_load((ROOT / "compose.yaml").read_text()))


def validate(document: dict[str, Any]) -> None:
    ComposeSpecification.model_validate(document)
    PyCompose.from_json(json.dumps(document))  # strict: unknown keys are errors


def test_compose_yaml_follows_the_compose_specification() -> None:
    validate(compose())


def test_the_validator_rejects_what_compose_would() -> None:
    doc = compose()
    doc["services"]["intake"]["restart_policy"] = "always"
    with pytest.raises(ValueError, match="restart_policy"):
        validate(doc)


def test_every_service_runs_a_module_that_exists_with_its_settings() -> None:
    services = compose()["services"]
    for name in ("intake", "scoring", "workflow", "notify"):
        svc = services[name]
        assert svc["command"] == ["python", "-m", f"services.{name}"]
        assert importlib.util.find_spec(f"services.{name}.__main__") is not None
        env = svc["environment"]
        assert env[f"GREENFAB_{name.upper()}_DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert "healthcheck" in svc and svc["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["workflow"]["depends_on"]["temporal"]["condition"] == "service_healthy"
    for node in ("nats-1", "nats-2", "nats-3"):
        assert "-js" in services[node]["command"] and "--routes" in services[node]["command"]
