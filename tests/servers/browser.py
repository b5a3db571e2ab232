"""A real browser for the review pages: Debian's Chromium driven by Playwright (sync API).

Never a downloaded browser: ``/usr/bin/chromium`` from the ``chromium``
package.  Missing Playwright or Chromium makes the tests skip loudly on a
developer's machine and fail in CI (`tests.servers.server_missing`).

Use in a test module::

    @pytest.fixture
    def page(monkeypatch, settings):
        yield from browser.open_page(monkeypatch, settings)

    @pytest.mark.integration
    def test_it_...(page, live_server): ...

Playwright's sync API keeps an asyncio loop running in the test's thread,
and Django refuses database calls from a thread with a running loop
(``SynchronousOnlyOperation``); while a page is open,
``DJANGO_ALLOW_ASYNC_UNSAFE`` tells Django the calls really are synchronous.
The browser lives for one test only, so no other test runs with that set.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.servers import server_missing

CHROMIUM = os.environ.get("INTAKE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def missing_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install playwright)"
    if shutil.which(CHROMIUM) is None:
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    return None


def open_page(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[Any]:
    """A fresh page (1280x900, en-GB, JavaScript off: the pages must work without it).

    The live server speaks plain HTTP, so the session and CSRF cookies are not
    marked Secure for the test (production keeps them Secure).
    """
    reason = missing_reason()
    if reason:
        server_missing(reason)
    from playwright.sync_api import Error, sync_playwright

    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
        except Error as exc:
            server_missing(f"Chromium at {CHROMIUM} did not start: {str(exc).splitlines()[0]}")
        context = browser.new_context(
            viewport={"width": 1280, "height": 900}, locale="en-GB", java_script_enabled=False
        )
        context.set_default_timeout(10_000)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()
