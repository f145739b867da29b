"""What `greenfab up` hands each part: links that follow the ports, each service its NATS user, a cluster's routes."""

from __future__ import annotations

import subprocess
from pathlib import Path

from greenfab_cli.stack import (
    DATABASE_SERVICES,
    StackConfig,
    service_env,
    temporal_sqlite_pragmas,
    tool_path,
    write_nats_configs,
)


def test_reminder_links_follow_the_ports_the_stack_runs_on(tmp_path: Path) -> None:
    config = StackConfig(data_dir=tmp_path, intake_port=9101, workflow_port=9102, console_port=9106)
    env = service_env(config, "notify", "s" * 48, "pw")
    assert env["GREENFAB_NOTIFY_STAFF_URL"] == "http://127.0.0.1:9106/tasks"  # the console's task inbox
    assert env["GREENFAB_NOTIFY_PORTAL_URL"] == "http://127.0.0.1:9106/my"  # an enterprise's units


def test_each_service_gets_its_own_nats_user_every_node_and_its_own_schema(tmp_path: Path) -> None:
    config = StackConfig(
        data_dir=tmp_path, nats_port=9200, nats_cluster=3, database_url="postgresql+asyncpg://u@h/db", migrate=False
    )
    passwords = write_nats_configs(config)
    for name in DATABASE_SERVICES:
        env = service_env(config, name, "s" * 48, passwords[name])
        assert env["GREENFAB_NATS_USER"] == name and env["GREENFAB_NATS_PASSWORD"] == passwords[name]
        assert env["GREENFAB_NATS_URL"] == "nats://127.0.0.1:9200,nats://127.0.0.1:9201,nats://127.0.0.1:9202"
        assert env["GREENFAB_NATS_STREAM_REPLICAS"] == "3"
        assert env[f"GREENFAB_{name.upper()}_DATABASE_SCHEMA"] == name
        assert env["GREENFAB_MIGRATE"] == "false"
    assert len(set(passwords.values())) == len(passwords), "every user its own random password"
    console = service_env(config, "console", "s" * 48, passwords.get("console", ""))
    assert "GREENFAB_NATS_USER" not in console and "GREENFAB_CONSOLE_DATABASE_URL" not in console
    assert console["GREENFAB_CONSOLE_WORKFLOW_URL"] == f"http://127.0.0.1:{config.workflow_port}"


def test_a_cluster_node_routes_to_the_others_and_keeps_its_own_store(tmp_path: Path) -> None:
    config = StackConfig(data_dir=tmp_path, nats_cluster=3, nats_cluster_port=9300)
    write_nats_configs(config)
    conf = (config.nats_folder() / "nats-2.conf").read_text()
    assert 'server_name: "nats-2"' in conf and '"127.0.0.1:9301"' in conf
    assert "@127.0.0.1:9300" in conf and "@127.0.0.1:9302" in conf and "@127.0.0.1:9301" not in conf
    assert str(tmp_path.resolve() / "nats-cluster" / "nats-2") in conf
    assert oct((config.nats_folder() / "credentials.json").stat().st_mode & 0o777) == "0o600"
    assert oct((config.nats_folder() / "nats-2.conf").stat().st_mode & 0o777) == "0o600"


def test_one_node_keeps_the_store_it_always_had(tmp_path: Path) -> None:
    config = StackConfig(data_dir=tmp_path)
    write_nats_configs(config)
    conf = (config.nats_folder() / "nats.conf").read_text()
    assert "cluster" not in conf and str(tmp_path.resolve() / "nats") in conf
    assert config.stream_replicas() == 1


def test_every_write_is_flushed_only_when_asked_and_nats_server_accepts_both(tmp_path: Path) -> None:
    for asked in (False, True):
        config = StackConfig(data_dir=tmp_path / str(asked), sync_every_write=asked)
        write_nats_configs(config)
        conf = config.nats_folder() / "nats.conf"
        assert ("sync_interval: always" in conf.read_text()) is asked
        checked = subprocess.run([tool_path("nats-server"), "-c", str(conf), "-t"], capture_output=True, timeout=30)
        assert checked.returncode == 0, checked.stderr
        pragmas = temporal_sqlite_pragmas(asked)
        assert "journal_mode=wal" in pragmas and ("synchronous=full" if asked else "synchronous=normal") in pragmas
