"""The record of the rules in force and of refused files (issue 11): a switch is audited
with the old and the new text once; a refusal keeps the configuration in force."""

from __future__ import annotations

from pathlib import Path

import pytest

from intake.config import load_config
from intake.models import AuditEvent, RulesVersion
from intake.reload import ConfigWatch, latest_in_force, latest_refusal, put_in_force

pytestmark = pytest.mark.django_db

FIRST = '[[rules]]\nname = "a"\nwhen.sender = "*@x.gov.uk"\naction = "ignore"\n'
SECOND = FIRST.replace('"ignore"', '"ignore"\nfile_into = "Archive"')
MISSING = FIRST.replace('"ignore"', '"ignore"\nfile_into = "Archvie"')


def files(tmp_path: Path, rules: str) -> Path:
    (tmp_path / "rules.toml").write_text(rules)
    config = tmp_path / "intake.toml"
    config.write_text(
        f'[rules]\nfile = "{tmp_path / "rules.toml"}"\n\n[[mailboxes]]\nname = "referrals"\n'
        f'kind = "maildir"\npath = "{tmp_path / "Maildir"}"\n'
    )
    return config


def test_the_same_rules_are_recorded_once_and_a_change_with_both_texts(tmp_path):
    path = files(tmp_path, FIRST)
    put_in_force(load_config(path), str(path), {})
    put_in_force(load_config(path), str(path), {})
    (tmp_path / "rules.toml").write_text(SECOND)
    put_in_force(load_config(path), str(path), {})
    assert RulesVersion.objects.count() == 2
    changes = AuditEvent.objects.filter(verb="rules_changed").order_by("pk")
    assert [(e.detail["old_text"], e.detail["new_text"]) for e in changes] == [
        ("", FIRST),
        (FIRST, SECOND),
    ]
    assert AuditEvent.objects.filter(verb="config_changed").count() == 1  # at the first start


def test_a_switch_is_logged_by_version_and_hash_never_with_the_files_text(tmp_path):
    from structlog.testing import capture_logs

    path = files(tmp_path, FIRST)
    with capture_logs() as logs:
        row = put_in_force(load_config(path), str(path), {})
    switches = [e for e in logs if e["event"] in ("rules_changed", "config_changed")]
    assert [e["event"] for e in switches] == ["rules_changed", "config_changed"]
    assert switches[0]["rules_version"] == row.pk
    assert switches[0]["new_sha256"] == row.sha256
    # The rules name senders ("*@x.gov.uk"): their text stays in the audit event only.
    assert "x.gov.uk" not in repr(logs)
    assert "old_text" not in repr(switches) and "new_text" not in repr(switches)


def test_a_folder_the_mailbox_lacks_is_refused_and_the_rules_in_force_stay(tmp_path):
    path = files(tmp_path, SECOND)
    folders = {"referrals": ["INBOX", "Archive"]}
    watch = ConfigWatch(str(path), load_config(path), folders=lambda config: folders)
    watch.start()
    (tmp_path / "rules.toml").write_text(MISSING)
    assert watch.changed()
    assert watch.reload() is None
    assert watch.config.mail_rules.rules[0].effects.file_into == "Archive"
    refused = latest_refusal()
    assert refused is not None
    assert refused.error.endswith(
        "rules.toml: rule 'a': file_into: folder 'Archvie' does not exist in mailbox "
        "'referrals'; the folders are: Archive, INBOX, Processed"
    )
    assert not watch.changed()  # refused once, not again every second
    (tmp_path / "rules.toml").write_text(SECOND.replace('"a"', '"b"'))
    assert watch.reload() is not None
    assert latest_refusal() is None
    assert latest_in_force().text == SECOND.replace('"a"', '"b"')
