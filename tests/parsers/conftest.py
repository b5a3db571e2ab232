"""The parser tests run without Django (DESIGN: parsers/ is pure; issue 10).

`make test` runs this folder first with ``pytest -p no:django tests/parsers``.
In that run Django and intake are walled off: importing either fails the test
that tried, so a parser test can never come to lean on the service.  In the
whole suite (Django's plugin loaded, for tests/intake) the wall stands aside.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType

import pytest

WALLED = ("django", "intake")


class Wall(importlib.abc.MetaPathFinder):
    """Refuses to import the walled packages (the first finder asked)."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] in WALLED:
            raise ImportError(f"{fullname}: the parser tests run without Django and intake")
        return None


def pytest_configure(config: pytest.Config) -> None:
    if config.pluginmanager.has_plugin("django"):
        return
    loaded = sorted(
        name
        for name, module in sys.modules.items()
        if module is not None and name.partition(".")[0] in WALLED
    )
    if loaded:
        raise pytest.UsageError(f"the parser tests run without Django, but {loaded} was imported")
    sys.meta_path.insert(0, Wall())
