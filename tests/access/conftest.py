"""One real `greenfab up` (NATS, Temporal's dev server, the five services, SQLite) for the access tests, with
the two enterprises' records of world.py in it. The matrix runs first (its file sorts first), on the
records as built; the fuzzing after it may add and change records at will."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.access.world import World, build
from tests.e2e.stack import Stack


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("access") / "data")
    s.up(timeout=180)
    try:
        yield s
    finally:
        assert s.stop() == 0


@pytest.fixture(scope="package")
def world(stack: Stack) -> World:
    return build(stack)
