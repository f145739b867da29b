"""The wheel built from the repository is a complete greenfab (issue 15 item 4).

It is built with `uv build`, installed into a new virtual environment with nothing from the checkout
(its dependencies as uv.lock pins them, from uv's cache; the project itself only from the wheel), and its
commands run from a folder outside the repository: `--version`, `rules list`, `score` on an example.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def uv() -> str:
    found = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    if not Path(found).exists():
        pytest.skip("uv not found (make install puts it in .tools/bin)")
    return found


def run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    run([uv(), "build", "--wheel", "--out-dir", str(out), str(ROOT)], cwd=ROOT)
    (built,) = out.glob("greenfab-*.whl")
    return built


def test_the_wheel_carries_the_rules_and_its_metadata(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    rules = {n.removeprefix("greenfab/rules/") for n in names if n.startswith("greenfab/rules/")}
    in_repo = {str(p.relative_to(ROOT / "rules")) for p in (ROOT / "rules").rglob("*") if p.is_file()}
    assert in_repo and in_repo <= rules
    dist_info = "-".join(wheel.name.split("-")[:2]) + ".dist-info"
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert {n.split("/")[0] for n in names} == {*packages["packages"], dist_info}  # no tests, no stray folders
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "License-Expression: Apache-2.0" in metadata and "Author: " in metadata
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def test_an_installed_wheel_lists_its_rules_and_scores_an_example(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GREENFAB_", "VIRTUAL_ENV", "PYTHONPATH"))}
    # The locked dependencies (from uv's cache once `make install` has run), then greenfab from the wheel alone.
    run([uv(), "sync", "--frozen", "--no-dev", "--no-install-project", "--quiet"], cwd=ROOT,
        env={**env, "UV_PROJECT_ENVIRONMENT": str(venv)})  # fmt: skip
    run([uv(), "pip", "install", "--quiet", "--no-deps", "--python", str(venv / "bin" / "python"), str(wheel)],
        cwd=tmp_path, env=env)  # fmt: skip
    greenfab = str(venv / "bin" / "greenfab")
    outside = tmp_path / "elsewhere"
    outside.mkdir()

    version = run([greenfab, "--version"], cwd=outside, env=env)
    assert version.startswith("greenfab 0.") and str(venv) in version, version  # its own rules, not the checkout's
    listed = run([greenfab, "rules", "list"], cwd=outside, env=env)
    for scheme in ("grading", "green-factory", "beautiful-factory"):
        assert scheme in listed
    example = shutil.copy(ROOT / "examples" / "grading-declaration.json", outside / "declaration.json")
    scored = run([greenfab, "score", "--scheme", "grading", "--format", "json", str(example)], cwd=outside, env=env)
    # The same points as the checkout's own scoring of the example.
    expected = run([str(ROOT / ".venv" / "bin" / "greenfab"), "score", "--scheme", "grading", "--format", "json",
                    str(example)], cwd=outside, env=env)  # fmt: skip
    assert scored == expected and '"total"' in scored
    imported = run([str(venv / "bin" / "python"), "-c", "import greenfab, services; print(greenfab.__file__)"],
                   cwd=outside, env=env)  # fmt: skip
    assert imported.startswith(str(venv))
