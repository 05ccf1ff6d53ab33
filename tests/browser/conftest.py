"""Real-browser tests: the pages in headless Chromium (Debian's package, not a Playwright
download) against the whole app on a real 127.0.0.1 port. Without Chromium they fail, never skip.

Every page a test opens gets its own browser context (its own storage, so its own guest
identity). When the test ends, the first page is saved to tests/artifacts/<test name>.png and
any later ones to <test name>-2.png, -3.png, ...
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

import pytest
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import async_playwright, expect

CHROMIUM = os.environ.get("LIVEROOM_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # the tests run as root here
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-gpu",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
# LIVEROOM_SCREENSHOTS=docs/screenshots refreshes the README's pictures from the tests that
# take them (save_screenshot).
SCREENSHOTS = os.environ.get("LIVEROOM_SCREENSHOTS")

expect.set_options(timeout=10_000)


async def save_screenshot(page, name: str) -> None:
    """Keep what the page shows now as the README's <name>.png, when LIVEROOM_SCREENSHOTS names
    a directory."""
    if SCREENSHOTS:
        directory = Path(SCREENSHOTS)
        directory.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=directory / f"{name}.png")


async def until(page, function: str, timeout: float = 15.0, interval: float = 0.1, arg=None):
    """Wait until a JavaScript function (a string such as "() => ...") returns something
    truthy in the page; return it. Unlike page.wait_for_function, which evaluates its
    predicate with eval(), this works under the pages' Content-Security-Policy (no
    'unsafe-eval')."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await page.evaluate(function, arg)
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {function}")
        await asyncio.sleep(interval)


@pytest.fixture
def engine_kind():
    """The pages do not depend on the engine: run them on the memory engine only."""
    return "memory"


@pytest.fixture(scope="session")
def redis_url():
    """The memory engine needs no Redis."""
    return None


@pytest.fixture
async def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"the browser tests need Chromium at {CHROMIUM}: apt-get install -y chromium "
            "(.ci/install-test-deps installs it; or point LIVEROOM_TEST_CHROMIUM at one)",
            pytrace=False,
        )
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        await browser.close()


@pytest.fixture
async def open_page(browser, request):
    """`page = await open_page(url, width=360, locale="th-TH")`: a page in a fresh context,
    already loaded. The locale is also what the browser sends as Accept-Language.

    Uncaught JavaScript errors on any page fail the test."""
    pages = []
    errors: list[str] = []

    async def open_(url: str, *, width: int = 1280, height: int = 900, locale: str = "en-US"):
        context = await browser.new_context(
            viewport={"width": width, "height": height}, locale=locale, timezone_id="UTC"
        )
        page = await context.new_page()
        page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
        pages.append(page)
        await page.goto(url)
        return page

    yield open_

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    for index, page in enumerate(pages):
        suffix = "" if index == 0 else f"-{index + 1}"
        try:
            await page.screenshot(path=ARTIFACTS / f"{name}{suffix}.png", full_page=True)
        except PlaywrightError:
            pass  # a page that crashed has nothing to show; the test says why
    for page in pages:
        await page.context.close()
    assert not errors, f"uncaught errors in the pages: {errors}"
