"""Pages that must work on a machine without the internet ask nothing of it: every service's API docs
(/docs, Swagger UI; /redoc, ReDoc) and the console's first page draw their content in chromium with no
request to another host and no error in the browser's console (a missing icon is one)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.stack import Stack

pytestmark = pytest.mark.browser
SERVICES = ("intake", "workflow", "notify", "audit", "scoring")


class Watched:
    """A page whose requests to other hosts and console errors are kept."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.outside: list[str] = []
        self.errors: list[str] = []
        page.on("request", self._request)
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _request(self, request: object) -> None:
        url: str = request.url  # type: ignore[attr-defined]
        if urlsplit(url).scheme in ("http", "https") and urlsplit(url).hostname != "127.0.0.1":
            self.outside.append(url)


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(locale="zh-CN")
    context.set_default_timeout(30_000)
    # Nothing leaves the machine even if something asks: a request outside fails (and is recorded).
    context.route(lambda url: urlsplit(url).hostname not in ("127.0.0.1", None), lambda route: route.abort())
    yield Watched(context.new_page())
    context.close()


@pytest.mark.parametrize("service", SERVICES)
def test_swagger_ui_draws_the_api_with_nothing_from_outside(stack: Stack, watched: Watched, service: str) -> None:
    page = watched.page
    page.goto(stack.url(service) + "/docs")
    page.locator(".swagger-ui .info .title").wait_for()
    page.wait_for_load_state("networkidle")
    assert page.locator(".swagger-ui .opblock").count() >= 1, "no operation drawn"
    assert watched.outside == [] and watched.errors == [], (watched.outside, watched.errors)


@pytest.mark.parametrize("service", SERVICES)
def test_redoc_draws_the_api_with_nothing_from_outside(stack: Stack, watched: Watched, service: str) -> None:
    page = watched.page
    page.goto(stack.url(service) + "/redoc")
    page.locator("h1").first.wait_for()
    page.wait_for_load_state("networkidle")
    assert "greenfab" in page.locator("h1").first.inner_text().lower()
    assert page.locator("img[alt='redocly logo']").count() <= 1  # drawn from the page itself, if at all
    assert watched.outside == [] and watched.errors == [], (watched.outside, watched.errors)


def test_the_consoles_first_page_has_its_icon_and_nothing_from_outside(stack: Stack, watched: Watched) -> None:
    page = watched.page
    page.goto(stack.url("console") + "/")
    page.wait_for_load_state("networkidle")
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert icon and page.request.get(stack.url("console") + icon).ok
    assert page.request.get(stack.url("console") + "/favicon.ico").ok
    assert watched.outside == [] and watched.errors == [], (watched.outside, watched.errors)
