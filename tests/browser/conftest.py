"""The web console in a real browser: Debian's chromium driven by Playwright, against a real `greenfab up`.

The stack runs on Temporal's time-skipping test server (every other part as `greenfab up` starts
it), so that a test can let the five working days of publicity pass: time on that server moves as
on the clock until a test asks it to skip ahead. Screenshots of every page visited are kept in
artifacts/browser/ (or $GREENFAB_ARTIFACTS), and every page is checked with axe-core. The stack
and the browser live as long as this package's tests: the rest of the suite runs without them.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from greenfab_cli.stack import tool_path
from tests.e2e.stack import Stack
from tests.support.servers import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("GREENFAB_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("GREENFAB_ARTIFACTS", ROOT / "artifacts" / "browser"))
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}

pytestmark = pytest.mark.browser


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (scripts/ensure-chromium)")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    b = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
              "--disable-dev-shm-usage", "--disable-extensions"],
    )  # fmt: skip
    yield b
    b.close()


class TimeServer:
    """Temporal's time-skipping test server: real time until asked to skip ahead."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.log = workdir / "temporal-test-server.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [tool_path("temporal-test-server"), str(self.port)], stdout=out, stderr=subprocess.STDOUT
            )
        import socket

        def accepting() -> bool:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True

        wait_until(accepting, 60, "temporal-test-server")

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def skip(self, by: timedelta) -> None:
        """Let ``by`` pass at once on the server: timers due within it fire, in order."""
        from temporalio.api.testservice.v1 import SleepRequest
        from temporalio.client import Client

        async def go() -> None:
            client = await Client.connect(self.address)
            request = SleepRequest()
            request.duration.FromTimedelta(by)
            await client.test_service.unlock_time_skipping_with_sleep(request)

        # Playwright's sync API keeps an event loop running on this thread: skip from another one.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, go()).result()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="package")
def time_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TimeServer]:
    server = TimeServer(tmp_path_factory.mktemp("temporal"))
    yield server
    server.stop()


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory, time_server: TimeServer) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("console-stack") / "data", temporal_address=time_server.address)
    s.up(timeout=180)
    yield s
    assert s.stop() == 0


@pytest.fixture(scope="session")
def artifacts() -> Path:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


class Console:
    """One person's browser tab on the console, with the checks every page gets."""

    def __init__(self, context: BrowserContext, base: str, artifacts: Path, who: str) -> None:
        self.context = context
        self.page: Page = context.new_page()
        self.base = base
        self.artifacts = artifacts
        self.who = who
        self.shots = 0
        self.axe = Axe()

    def goto(self, path: str) -> Page:
        self.page.goto(self.base + path)
        return self.page

    def sign_in(self, role: str, scope: str | None = None, subject: str | None = None) -> None:
        page = self.goto("/signin")
        page.get_by_label("身份").select_option(role)
        if role == "enterprise":
            page.get_by_label("统一社会信用代码（企业）").fill(scope or "")
        elif role == "district":
            page.get_by_label("所在区（区工业主管部门）").select_option(scope or "")
        if subject:
            page.get_by_label("姓名或工号").fill(subject)
        with page.expect_navigation():
            page.get_by_role("button", name="登录").click()
        assert page.get_by_role("button", name="退出").is_visible(), page.inner_text("main")

    def check(self, name: str, widths: tuple[str, ...] = ("desktop",)) -> None:
        """Screenshot the page as it is (each width asked for) and fail on any serious accessibility problem."""
        page = self.page
        for width in widths:
            w, h = WIDTHS[width]
            page.set_viewport_size({"width": w, "height": h})
            self.shots += 1
            safe = re.sub(r"[^\w.-]+", "-", f"{self.who}-{self.shots:02d}-{name}-{width}")
            page.screenshot(path=str(self.artifacts / f"{safe}.png"), full_page=True)
            if width == "desktop":
                page.screenshot(path=str(self.artifacts / f"{safe}-top.png"))  # what the screen shows first
            if width == "phone":
                overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
                assert overflow <= 1, f"{name}: the page is {overflow}px wider than a 390px screen"
        page.set_viewport_size({"width": WIDTHS["desktop"][0], "height": WIDTHS["desktop"][1]})
        results = self.axe.run(page)
        serious = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
        assert not serious, f"{name}: accessibility problems: " + "; ".join(
            f"{v['id']}: {v['help']} ({[n['target'] for n in v['nodes'][:3]]})" for v in serious
        )


@pytest.fixture
def open_console(browser: Browser, stack: Stack, artifacts: Path) -> Iterator[Any]:
    contexts: list[BrowserContext] = []

    def make(who: str) -> Console:
        context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        context.set_default_timeout(30_000)
        contexts.append(context)
        return Console(context, stack.url("console"), artifacts, who)

    yield make
    for c in contexts:
        c.close()
