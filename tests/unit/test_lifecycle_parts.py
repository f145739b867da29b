"""`Lifecycle` is joined from one class per concern (services/workflow/domain/lifecycle/): no two of them may
define the same method, or the order they are joined in would silently decide which one runs."""

from __future__ import annotations

import inspect
from collections import defaultdict

from services.workflow.domain.lifecycle import Lifecycle


def test_no_two_parts_of_the_lifecycle_define_the_same_method() -> None:
    parts = [c for c in Lifecycle.__mro__ if c.__module__.startswith("services.workflow.domain.lifecycle.")]
    assert len(parts) >= 9, "the lifecycle is still joined from its parts"
    defined: dict[str, list[str]] = defaultdict(list)
    for part in parts:
        for name, member in vars(part).items():
            if inspect.isfunction(member) and name != "__init__":
                defined[name].append(part.__name__)
    assert {name: where for name, where in defined.items() if len(where) > 1} == {}
