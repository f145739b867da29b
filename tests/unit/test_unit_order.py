"""The evaluation consumer's per-unit order: many units at once, one message at a time per unit, in order."""

from __future__ import annotations

import asyncio

import pytest

from services.workflow.unit_order import UnitLocks


async def test_messages_about_one_unit_run_one_at_a_time_in_arrival_order() -> None:
    locks = UnitLocks()
    seen: list[str] = []
    inside: dict[str, int] = {}

    async def handle(unit: str, n: int, delay: float) -> None:
        async with locks.hold(unit):
            inside[unit] = inside.get(unit, 0) + 1
            assert inside[unit] == 1, "two messages of one unit handled at once"
            await asyncio.sleep(delay)
            seen.append(f"{unit}{n}")
            inside[unit] -= 1

    # The first message of unit a is the slowest: the later ones of a must still wait for it.
    await asyncio.gather(
        handle("a", 1, 0.05), handle("b", 1, 0.0), handle("a", 2, 0.0), handle("a", 3, 0.01), handle("b", 2, 0.0)
    )
    assert [s for s in seen if s[0] == "a"] == ["a1", "a2", "a3"]
    assert [s for s in seen if s[0] == "b"] == ["b1", "b2"]
    assert seen.index("b2") < seen.index("a1"), "other units do not wait for a slow one"
    assert len(locks) == 0, "locks of units nobody waits for are dropped"


async def test_a_failing_handler_releases_its_unit() -> None:
    locks = UnitLocks()

    async def fail() -> None:
        async with locks.hold("a"):
            raise RuntimeError("boom")

    for _ in range(2):
        with pytest.raises(RuntimeError):
            await fail()
    async with asyncio.timeout(1), locks.hold("a"):
        pass
    assert len(locks) == 0
