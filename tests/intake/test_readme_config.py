"""The README's configuration examples are configurations the service accepts."""

from __future__ import annotations

import re
import tomllib

import pytest

from intake.config import PROJECT_ROOT, parse_config

README = (PROJECT_ROOT / "README.md").read_text()


def toml_blocks() -> list[str]:
    return re.findall(r"```toml\n(.*?)```", README, re.S)


def test_the_readme_shows_a_plain_imap_and_a_microsoft_365_configuration():
    blocks = toml_blocks()
    assert any('password_env = "INTAKE_IMAP_PASSWORD"' in b for b in blocks)
    assert any('auth = "oauth2"' in b and "exchange_online = true" in b for b in blocks)


@pytest.mark.parametrize("block", toml_blocks(), ids=lambda b: b.split("\n", 1)[0])
def test_each_configuration_example_is_accepted(block):
    config = parse_config(tomllib.loads(block), "README.md")
    assert config.mailboxes[0].kind == "imap"
