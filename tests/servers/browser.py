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
import re
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


def open_page(
    monkeypatch: pytest.MonkeyPatch, settings: Any, *, javascript: bool = False
) -> Iterator[Any]:
    """A fresh page (1280x900, en-GB, JavaScript off: the pages must work without it).

    ``javascript=True`` for a page that axe-core checks (`check_accessibility`): axe runs
    in the page as a script.  Our pages have none of their own, so they behave the same.

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
            viewport={"width": 1280, "height": 900},
            locale="en-GB",
            java_script_enabled=javascript,
            accept_downloads=True,
        )
        context.set_default_timeout(10_000)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


def totp_now(secret: str, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows now for ``secret`` (base32, spaces allowed)."""
    import base64

    from django_otp.oath import totp

    key = base64.b32decode(secret.replace(" ", "").upper())
    return f"{totp(key, drift=steps_ahead):06d}"


def sign_in(page: Any, base: str, username: str, password: str) -> str | None:
    """Sign in as a person would: the password, then the second factor.

    At the first sign-in the set-up page's key (the text under "I cannot scan the QR
    code") is what the authenticator app would read from the QR code; its code is
    entered, the recovery codes page is passed.  Returns the key when it set one up
    (pass it back as ``secret`` to `give_code` at a later sign-in).
    """
    page.goto(base + "/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    if "/login/set-up/" not in page.url:
        return None
    secret = (page.locator("#totp-secret").text_content() or "").strip()
    page.get_by_label("Enter the 6-digit code the app now shows").fill(totp_now(secret))
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("link", name=re.compile("I have kept my recovery codes")).click()
    return secret


def give_code(page: Any, secret: str, steps_ahead: int = 1) -> None:
    """On the second-factor page, the app's code (a later 30-second step than the one
    used at set-up: a code is accepted once)."""
    page.get_by_label("Enter the code from your authenticator app").fill(
        totp_now(secret, steps_ahead)
    )
    page.get_by_role("button", name="Continue").click()


SERIOUS = ("serious", "critical")


def check_accessibility(page: Any) -> list[str]:
    """axe-core on the page as it is now; the serious and critical violations, as
    "rule: where" lines (an empty list passes).  Needs a page with JavaScript on."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    found = []
    for violation in results.response["violations"]:
        if violation.get("impact") in SERIOUS:
            targets = [str(n.get("target")) for n in violation.get("nodes", [])][:3]
            found.append(f"{violation['id']} ({violation['impact']}): {', '.join(targets)}")
    return found
