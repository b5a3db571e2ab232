"""What every test shares, with no Django: the parser tests (tests/parsers) run without it.

The service's fixtures (database, Dovecot, configurations) are in
``tests/intake/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers import in_ci


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """In CI (``CI=true``) an integration test that skipped is a failure: CI must run them all."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.skipped and in_ci() and item.get_closest_marker("integration") is not None:
        report.outcome = "failed"
        report.longrepr = f"integration test skipped in CI: {report.longrepr}"
