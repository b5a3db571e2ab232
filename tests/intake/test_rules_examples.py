"""``intake rules test`` explains its match for every published example, and the
README's worked rules print exactly what the README shows (issue 11)."""

from __future__ import annotations

import argparse
import re

import pytest

from intake.cli import cmd_rules
from intake.config import PROJECT_ROOT, load_config

EXAMPLES = PROJECT_ROOT.parent / "shared" / "forms" / "examples"
README = (PROJECT_ROOT / "README.md").read_text()
CONFIG = load_config(PROJECT_ROOT / "config" / "intake.toml")


def rules_test(capfd, message: str, rules: str | None = None) -> str:
    args = argparse.Namespace(message=message, rules=rules, mailbox=None, last=100, json=False)
    assert cmd_rules(args, CONFIG) == 0
    return capfd.readouterr().out


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason=f"no examples at {EXAMPLES}")
@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.eml")))
def test_it_explains_its_match_for_every_published_example(capfd, example):
    out = rules_test(capfd, str(EXAMPLES / example))
    for rule in CONFIG.mail_rules.rules:
        assert f"{rule.index}. {rule.name}: " in out
        for condition in rule.when:
            assert re.search(rf"     {re.escape(condition.wanted)}: (yes|no) \(.+\)", out)
    assert re.search(r"^decided by: [\w-]+: .+$", out, re.M)
    assert "rules:   config/rules.toml (1 rule and the default)" in out


def readme_runs() -> list[tuple[str, str, str]]:
    """(message, rules file, the output shown) of each ``$ intake rules test`` in the README."""
    found = re.findall(
        r"```console\n\$ intake rules test (docs/rules/\S+) --rules (\S+)\n(.*?)```", README, re.S
    )
    return [(message, rules, shown) for message, rules, shown in found]


def test_the_readme_walks_through_five_rules():
    assert [m for m, _r, _s in readme_runs()] == [
        "docs/rules/ofsted-notification.eml",
        "docs/rules/coroner-letter.eml",
        "docs/rules/nwas-no-reply.eml",
        "docs/rules/cdop-bulk-report.eml",
        "docs/rules/adults-board.eml",
    ]


@pytest.mark.parametrize(("message", "rules", "shown"), readme_runs(), ids=lambda v: str(v)[:40])
def test_the_readme_shows_what_the_command_prints(capfd, monkeypatch, message, rules, shown):
    monkeypatch.chdir(PROJECT_ROOT)
    assert rules_test(capfd, message, rules) == shown


def test_the_readme_rules_are_those_of_the_example_file():
    example = (PROJECT_ROOT / "config" / "rules.example.toml").read_text()
    blocks = re.findall(r"```toml rules\n(.*?)```", README, re.S)
    rules = [b for b in blocks if b.startswith("[[rules]]")]
    for block in rules[-5:]:
        assert block.strip() in example
