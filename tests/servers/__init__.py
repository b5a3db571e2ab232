"""Real servers for integration tests (Dovecot, PostgreSQL).

A server that is missing makes its tests skip with a loud reason on a
developer's machine, and fail when ``CI=true``: CI must run them all.
"""

from __future__ import annotations

import os
import socket
import warnings
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def server_missing(reason: str) -> NoReturn:
    """Skip loudly (developer machine) or fail (CI) because a server is missing."""
    message = f"INTEGRATION TEST NOT RUN: {reason}"
    if in_ci():
        pytest.fail(message + " (CI=true: every integration test must run)", pytrace=False)
    warnings.warn(message, stacklevel=2)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
