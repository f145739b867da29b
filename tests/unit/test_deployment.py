"""compose.yaml against the Compose specification, and against the services it deploys."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from compose_spec import PyCompose
from compose_spec.models import ComposeSpecification

from greenfab import nats_config
from greenfab_cli.stack import tool_path

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
    for name in ("intake", "scoring", "workflow", "notify", "audit"):
        svc = services[name]
        assert svc["command"] == ["python", "-m", f"services.{name}"]
        assert importlib.util.find_spec(f"services.{name}.__main__") is not None
        env = svc["environment"]
        assert env[f"GREENFAB_{name.upper()}_DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert "healthcheck" in svc and svc["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert env["GREENFAB_NATS_USER"] == name
        assert env["GREENFAB_NATS_PASSWORD"].startswith(f"${{{nats_config.password_variable(name)}:?")
        assert env["GREENFAB_NATS_URL"].count("nats://") == 3 and env["GREENFAB_NATS_STREAM_REPLICAS"] == "3"
    assert services["workflow"]["depends_on"]["temporal"]["condition"] == "service_healthy"
    names = {services[node]["environment"]["NATS_SERVER_NAME"] for node in ("nats-1", "nats-2", "nats-3")}
    assert names == {"nats-1", "nats-2", "nats-3"}


def test_the_nats_cluster_runs_the_generated_configuration_and_nats_server_accepts_it(tmp_path: Path) -> None:
    """The same users, permissions and cluster as `greenfab up --nats-cluster 3`, with passwords from .env."""
    conf = compose()["configs"]["nats-server"]["content"]
    assert conf.replace("$$", "$") == nats_config.render_for_compose()
    node = compose()["services"]["nats-1"]
    assert node["command"] == ["-c", node["configs"][0]["target"]]
    env = {k: re.sub(r"\$\{(\w+):\?[^}]*\}", "pw-\\1", str(v)) for k, v in node["environment"].items()}
    (tmp_path / "greenfab.conf").write_text(conf.replace("$$", "$"))
    check = [tool_path("nats-server"), "-t", "-c", str(tmp_path / "greenfab.conf")]
    ok = subprocess.run(check, env={**os.environ, **env}, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr + ok.stdout
    del env["GREENFAB_NATS_NOTIFY_PASSWORD"]
    missing = subprocess.run(check, env={**os.environ, **env}, capture_output=True, text=True)
    assert missing.returncode != 0 and "GREENFAB_NATS_NOTIFY_PASSWORD" in missing.stderr + missing.stdout


def test_the_temporal_ui_is_read_only_and_on_loopback() -> None:
    # Its histories hold declarations and its write actions would bypass the staff API's checks and the audit.
    ui = compose()["services"]["temporal-ui"]
    assert ui["environment"]["TEMPORAL_DISABLE_WRITE_ACTIONS"] == "true"
    assert ui["environment"]["TEMPORAL_BATCH_ACTIONS_DISABLED"] == "true"
    assert all(str(port).startswith("127.0.0.1:") for port in ui["ports"]), ui["ports"]
    # Nothing else publishes Temporal's own API (7233) or the databases.
    for name, service in compose()["services"].items():
        for port in service.get("ports", []):
            assert str(port).rsplit(":", 1)[-1] not in ("7233", "5432", "4222", "6222", "8222"), (name, port)
