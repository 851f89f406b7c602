"""Browser tests: Playwright (Python) driving Debian's Chromium against a live server."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("RAPPORT_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(os.environ.get("RAPPORT_SCREENSHOTS", "var/screenshots"))

# Playwright's sync API runs an event loop in this thread; the ORM calls in these tests
# (fixtures creating users) are ordinary blocking calls and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


def _page(browser, live_server, *, language: str, width: int, height: int):
    context = browser.new_context(
        base_url=live_server.url,
        locale="zh-CN" if language == "zh-hans" else "en-US",
        extra_http_headers={
            "Accept-Language": "zh-CN,zh;q=0.9" if language == "zh-hans" else "en-US,en;q=0.9"
        },
        viewport={"width": width, "height": height},
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    return context, page


@pytest.fixture
def new_page(browser, live_server):
    """Factory: new_page(language="en", width=1280, height=900) -> a fresh page in its own context."""
    contexts = []

    def make(language: str = "en", width: int = 1280, height: int = 900):
        context, page = _page(browser, live_server, language=language, width=width, height=height)
        contexts.append(context)
        return page

    yield make
    for context in contexts:
        context.close()


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
