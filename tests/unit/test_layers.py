"""The house's floors, read from every import in the code (including imports inside functions and
`importlib.import_module("…")` with a literal name):

- `greenfab/` (the shared floor) and `contracts/` import no service and not the shell above;
- a service imports no other service (services talk over NATS and HTTP only) and not the shell;
- only `greenfab_cli/` (the command and the stack launcher) may reach every service.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "__init__.py").is_file())


def imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            for alias in node.names:  # `from services import intake` reaches the service too
                yield node.lineno, f"{node.module}.{alias.name}"
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant | ast.JoinedStr)
        ):
            first = node.args[0]
            literal = first.value if isinstance(first, ast.Constant) else ast.unparse(first)
            yield node.lineno, str(literal).strip("f'\"")


def violations(package: str, forbidden: Iterator[str] | list[str]) -> list[str]:
    banned = tuple(forbidden)
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for line, module in imported_modules(path):
            if any(module == b or module.startswith(b + ".") for b in banned):
                found.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return found


@pytest.mark.parametrize("floor", ["greenfab", "contracts"])
def test_the_shared_floor_imports_no_service_and_not_the_shell(floor: str) -> None:
    assert violations(floor, ["services", "greenfab_cli"]) == []


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_no_other_service_and_not_the_shell(service: str) -> None:
    others = [f"services.{s}" for s in SERVICES if s != service]
    assert violations(f"services/{service}", [*others, "greenfab_cli"]) == []


def test_the_check_sees_imports_inside_functions_and_by_name(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "def f():\n    from services.intake import api\n    import importlib\n"
        "    importlib.import_module(f'services.{name}.migrations')\n",
        encoding="utf-8",
    )
    modules = [m for _, m in imported_modules(probe)]
    assert "services.intake" in modules and "services.intake.api" in modules
    assert any(m.startswith("services.") for m in modules if "migrations" in m)
