"""What the lifecycle says and which tasks it opens come from rules/lifecycle: the steps it records (`steps`), each
with its clause, every key the code names present there, with exactly the fields the code fills in, and none left
over; and the kinds of human task (`tasks`), one for every kind the code knows.

The keys and fields are read from the lifecycle package's source (the calls that record a step by key), so a new
step in the code without its entry in the rulebook fails here, not in a unit's timeline years later.
"""

from __future__ import annotations

import ast
import string
from pathlib import Path
from typing import get_args

import pytest

from services.workflow.domain import lifecycle as lifecycle_module
from services.workflow.domain.policy import Policy, shipped_steps, shipped_tasks
from services.workflow.domain.state import TaskKind
from services.workflow.policy_loader import load_policy

ROOT = Path(__file__).resolve().parents[2]
POLICY = load_policy(ROOT / "rules")
PACKAGE = Path(lifecycle_module.__file__).parent

# The methods that record a step by key: where the key is among their arguments (after self), and the fields
# they fill in themselves (None: the caller's keyword arguments, less those that place the step).
BY_KEY: dict[str, tuple[int, frozenset[str] | None]] = {
    "_step": (1, None),
    "_list": (1, None),
    "_start_recheck": (2, None),
    "_return_incomplete": (2, frozenset({"missing", "also", "kept"})),
    "_grade_path_failed": (1, None),
    "record": (1, None),
}
PLACING = {"state", "actor", "task", "submission_id", "basis"}
# The workflow records steps too (what it did on the unit's behalf), through Lifecycle.record.
WORKFLOW = PACKAGE.parents[1] / "workflows.py"


def keys_used() -> dict[str, set[frozenset[str]]]:
    """Each step key the code names, with the field names each call fills in."""
    found: dict[str, set[frozenset[str]]] = {}
    for path in [*sorted(PACKAGE.glob("*.py")), WORKFLOW]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)):
            # A key chosen into a local first (`unasked = "a" if … else "b"`) counts as each of its values.
            chosen: dict[str, list[str]] = {}
            for node in ast.walk(function):
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    chosen[node.targets[0].id] = strings(node.value)
            for call in (n for n in ast.walk(function) if isinstance(n, ast.Call)):
                if not (isinstance(call.func, ast.Attribute) and call.func.attr in BY_KEY):
                    continue
                index, fixed = BY_KEY[call.func.attr]
                if len(call.args) <= index:
                    continue
                arg = call.args[index]
                keys = chosen.get(arg.id, []) if isinstance(arg, ast.Name) else strings(arg)
                if isinstance(arg, ast.Name) and arg.id not in chosen:
                    continue  # a forwarder passing its own parameter on: its callers name the key
                assert keys, f"{path.name}:{call.lineno}: a step key the test cannot read"
                fields = fixed if fixed is not None else frozenset(k.arg for k in call.keywords if k.arg) - PLACING
                for key in keys:
                    found.setdefault(key, set()).add(fields)
    return found


def strings(node: ast.expr) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return strings(node.body) + strings(node.orelse)
    return []


def template_fields(text: str) -> frozenset[str]:
    return frozenset(name for _, name, _, _ in string.Formatter().parse(text) if name)


USED = keys_used()


def test_the_code_records_its_steps_by_key() -> None:
    assert len(USED) >= 30, "the reader still finds the lifecycle's steps"


@pytest.mark.parametrize("key", sorted(USED))
def test_every_step_the_code_names_is_in_the_rulebook_with_its_clause_and_fields(key: str) -> None:
    assert key in POLICY.steps, f"rules/lifecycle/lifecycle.yaml has no step {key!r}"
    step = POLICY.steps[key]
    assert step.text_zh.strip() and (step.basis.strip() or step.basis_from)
    named = template_fields(step.text_zh) | template_fields(step.basis_from or "")
    for fields in USED[key]:
        assert named == fields, f"{key}: the fields its text and basis name differ from those the code fills"
    if step.basis_from is not None:
        rules = [rule for rule in rules_at(step.basis_from) if not hasattr(rule, "basis")]
        assert rules == [], f"{key}: basis_from {step.basis_from!r} names no rule with a basis"


def rules_at(path: str) -> list[object]:
    """The rules a basis_from path can name: each one of a `{field}` part (every deadline, every ground)."""
    found: list[object] = [POLICY]
    for part in path.split("."):
        if part.startswith("{"):
            found = [rule for node in found if isinstance(node, dict) for rule in node.values()]
        else:
            found = [node[part] if isinstance(node, dict) else getattr(node, part) for node in found]
    assert found, path
    return found


def test_the_rulebook_has_no_step_the_code_does_not_record() -> None:
    assert set(POLICY.steps) == set(USED)


def test_a_policy_carried_by_an_older_run_gets_the_shipped_steps_and_tasks() -> None:
    older = Policy.model_validate(POLICY.model_dump(exclude={"steps", "tasks"}))
    assert older.steps == shipped_steps() == POLICY.steps
    assert older.tasks == shipped_tasks() == POLICY.tasks


def test_every_kind_of_task_is_in_the_rulebook() -> None:
    assert set(POLICY.tasks) == set(get_args(TaskKind))


@pytest.mark.parametrize("kind", sorted(POLICY.tasks))
def test_a_task_names_its_own_decisions_and_a_deadline_that_exists(kind: str) -> None:
    rule = POLICY.tasks[kind]
    assert rule.basis.strip() and rule.title_zh.strip()
    assert set(rule.reason_required) <= set(rule.decisions) and set(rule.revoking) <= set(rule.decisions)
    assert rule.deadline is None or rule.deadline in POLICY.deadlines


def test_policies_carrying_the_shipped_steps_and_tasks_share_one_copy_of_them() -> None:
    first, second = (Policy.model_validate_json(POLICY.model_dump_json()) for _ in range(2))
    assert first.steps is second.steps is shipped_steps() and first.tasks is second.tasks is shipped_tasks()
    edited = POLICY.model_dump()
    edited["steps"]["rescored"]["text_zh"] = "专家评分完成：{total}"
    own = Policy.model_validate(edited)
    assert own.steps is not shipped_steps() and own.steps["rescored"].text_zh == "专家评分完成：{total}"
    assert shipped_steps()["rescored"].text_zh != own.steps["rescored"].text_zh
