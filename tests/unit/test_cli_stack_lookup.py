"""Commands find the running stack's data folder: a token is signed with that stack's secret, or refused."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from greenfab.auth import read_token
from greenfab_cli import stack_registry


def greenfab(*args: str, cwd: Path, state: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GREENFAB_")}
    env["XDG_STATE_HOME"] = str(state)
    return subprocess.run(
        [sys.executable, "-m", "greenfab_cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def test_without_a_stack_the_token_command_says_so_and_makes_no_secret(tmp_path: Path) -> None:
    out = greenfab("token", "--role", "bureau", cwd=tmp_path, state=tmp_path / "state")
    assert out.returncode == 2 and out.stdout == ""
    assert "found no stack secret" in out.stderr and "greenfab up" in out.stderr
    assert not (tmp_path / ".data").exists()
    out = greenfab("token", "--role", "bureau", "--data-dir", str(tmp_path / "x"), cwd=tmp_path, state=tmp_path)
    assert out.returncode == 2 and str(tmp_path / "x") in out.stderr and not (tmp_path / "x").exists()


def test_the_token_is_signed_with_the_running_stack_s_secret_wherever_its_data_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "elsewhere"
    data.mkdir()
    secret = secrets.token_urlsafe(48)
    (data / "secret").write_text(secret)
    state = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    record = stack_registry.register(data)  # as `greenfab up --data-dir elsewhere` does, from this process
    out = greenfab("token", "--role", "bureau", "--subject", "bureau-li", cwd=tmp_path, state=state)
    assert out.returncode == 0, out.stderr
    assert read_token(secret, f"Bearer {out.stdout.strip()}").subject == "bureau-li"
    stack_registry.unregister(record)
    assert stack_registry.running() == []


def test_a_record_of_a_dead_stack_is_ignored_and_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.delenv("GREENFAB_DATA_DIR", raising=False)
    folder = stack_registry.registry()
    folder.mkdir(parents=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = folder / f"{dead.stdout.strip()}.json"
    stale.write_text(f'{{"pid": {dead.stdout.strip()}, "started": 1.0, "data_dir": "/nowhere"}}')
    assert stack_registry.running() == [] and not stale.exists()
    assert stack_registry.data_dir(None) == Path(".data")
