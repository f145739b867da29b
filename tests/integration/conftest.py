"""Fixtures the integration tests share: Temporal's time-skipping test server and its dev server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from greenfab_cli.stack import tool_path
from tests.support.temporal import temporal_dev_server


@pytest.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """A fresh time-skipping server (from the temporal-test-server wheel) for one test."""
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=tool_path("temporal-test-server"),
        data_converter=pydantic_data_converter,
        test_server_startup_timeout=timedelta(seconds=60),
    ) as environment:
        yield environment


@pytest.fixture(scope="module")
def temporal_dev() -> Iterator[str]:
    """Temporal's dev server (real, not time-skipping), shared by a module's tests; its address."""
    with temporal_dev_server() as server:
        yield server.address
