"""A real `greenfab up` (NATS, Temporal's dev server, the five services, SQLite) per test module, with the
two enterprises' records of world.py in it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.access.world import World, build
from tests.e2e.stack import Stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("access") / "data")
    s.up(timeout=180)
    try:
        yield s
    finally:
        assert s.stop() == 0


@pytest.fixture(scope="module")
def world(stack: Stack) -> World:
    return build(stack)
