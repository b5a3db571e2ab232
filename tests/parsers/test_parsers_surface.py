"""The parsers' declared surface (issue 10): each package's `__all__` names what is there."""

from __future__ import annotations

import importlib

import pytest

SURFACES = ["parsers", "parsers.docx", "parsers.forms", "parsers.mail", "parsers.pdf"]


@pytest.mark.parametrize("package", SURFACES)
def test_it_gives_every_name_a_package_declares(package: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from {package} import *", namespace)  # what `__all__` promises, imported
    declared = importlib.import_module(package).__all__
    assert sorted(declared) == sorted(set(namespace) - {"__builtins__"})
