"""The published example emails (``/work/shared/forms/examples``), read for tests."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest

EXAMPLES = Path("/work/shared/forms/examples")


def example_docx(example: str) -> bytes:
    """The bytes of the first ``.docx`` attachment of ``EXAMPLES/<example>.eml``.

    Skips the calling test when the example is not on this machine (the examples are
    shared, not part of this repository); fails it when the email has no DOCX.
    """
    path = EXAMPLES / f"{example}.eml"
    if not path.exists():
        pytest.skip(f"example {path} is not on this machine")
    with path.open("rb") as handle:
        message = email.message_from_binary_file(handle, policy=email.policy.default)
    for part in message.walk():
        if (part.get_filename() or "").lower().endswith(".docx"):
            data = part.get_payload(decode=True)
            assert isinstance(data, bytes)
            return data
    raise AssertionError(f"no DOCX in {example}")
