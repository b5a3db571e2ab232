"""``intake rules test --mailbox``: a dry run over a live Dovecot mailbox (issue 11).

100 mixed messages (the published examples and the README's five rule examples) in a
private Dovecot account; the command prints its table well within 10 seconds and the
mailbox is exactly as it was: the same UIDs, flags, folders and bytes.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from intake.config import PROJECT_ROOT

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT.parent / "shared" / "forms" / "examples"
RULE_MAIL = ROOT / "docs" / "rules"
PROPOSED = ROOT / "config" / "rules.example.toml"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not EXAMPLES.is_dir(), reason=f"no examples at {EXAMPLES}"),
]


def mixed_messages(count: int) -> list[bytes]:
    sources = sorted(EXAMPLES.glob("*.eml")) + sorted(RULE_MAIL.glob("*.eml"))
    return [sources[n % len(sources)].read_bytes() for n in range(count)]


def snapshot(account) -> dict[str, object]:
    """Everything a dry run could change: folders, and each one's UIDs, flags and bytes."""
    client = account.client()
    try:
        folders = sorted(name for _f, _d, name in client.list_folders())
        seen: dict[str, object] = {"folders": folders}
        for folder in folders:
            info = client.select_folder(folder, readonly=True)
            uids = client.search("ALL")
            found = client.fetch(uids, ["FLAGS", "BODY.PEEK[]"]) if uids else {}
            seen[folder] = {
                "uidvalidity": info[b"UIDVALIDITY"],
                "uidnext": info[b"UIDNEXT"],
                "messages": {
                    uid: (
                        sorted(f for f in data[b"FLAGS"] if f != b"\\Recent"),
                        hashlib.sha256(data[b"BODY[]"]).hexdigest(),
                    )
                    for uid, data in found.items()
                },
            }
        return seen
    finally:
        client.logout()


def config_file(tmp_path: Path, account) -> Path:
    path = tmp_path / "intake.toml"
    path.write_text(
        f"""
[service]
our_addresses = ["safeguardingpartnerships@warrington.gov.uk"]
trusted_domains = ["warrington.gov.uk"]

[rules]
authserv_ids = ["mx1.warrington.gov.uk"]
file = "{ROOT / "config" / "rules.toml"}"

[replies]
outbox_dir = "{tmp_path / "outbox"}"
from_address = "safeguardingpartnerships@warrington.gov.uk"

[[mailboxes]]
name = "referrals"
kind = "imap"
host = "127.0.0.1"
port = {account.server.port}
security = "none"
username = "{account.username}"
password_env = "INTAKE_TEST_IMAP_PASSWORD"
timeout_seconds = 5
"""
    )
    return path


def rules_test(tmp_path: Path, account, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "INTAKE_CONFIG": str(config_file(tmp_path, account)),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'intake.sqlite3'}",
    }
    return subprocess.run(
        [sys.executable, "-m", "intake.cli", "rules", "test", *args],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def full_mailbox(imap_account):
    imap_account.append_many(mixed_messages(100))
    imap_account.append_many([], folder="CDOP reports")
    imap_account.append_many([], folder="Adults Board")
    return imap_account


def test_it_dry_runs_100_messages_and_changes_nothing(tmp_path, full_mailbox):
    """How long it takes is measured by `bench/rules_dry_run.py`, not here."""
    before = snapshot(full_mailbox)
    done = rules_test(
        tmp_path, full_mailbox, "--mailbox", "referrals", "--last", "100", "--rules", str(PROPOSED)
    )
    assert done.returncode == 0, done.stderr
    assert snapshot(full_mailbox) == before
    table = done.stdout
    assert "the last 100 of 100 messages (read-only: nothing is changed)" in table
    assert "Proposed: " in table and "rules.example.toml (5 rules and the default)" in table
    rows = [line for line in table.splitlines() if re.match(r"\d+ +\d{4}-", line)]
    assert len(rows) == 100
    changed = [row for row in rows if row.rstrip().endswith("CHANGED")]
    assert any(
        "ofsted-notifications: process as serious_incident_notification" in r for r in changed
    )
    assert any("coroner: hold, notify, leave, flag" in r for r in changed)
    assert any("cdop-bulk-reports: ignore, into CDOP reports, read" in r for r in changed)
    assert any("adults-board-address: hold, into Adults Board" in r for r in changed)
    assert "would change (" in table.splitlines()[-1]


def test_it_refuses_a_proposal_filing_into_a_folder_the_mailbox_lacks(tmp_path, imap_account):
    imap_account.append_many(mixed_messages(3))
    before = snapshot(imap_account)
    done = rules_test(tmp_path, imap_account, "--mailbox", "referrals", "--rules", str(PROPOSED))
    assert done.returncode == 2
    line = done.stderr.strip().splitlines()[-1]
    assert line.endswith(
        "rules.example.toml: rule 'cdop-bulk-reports': file_into: folder 'CDOP reports' "
        "does not exist in mailbox 'referrals'; the folders are: INBOX"
    )
    assert snapshot(imap_account) == before


def test_without_a_proposal_it_shows_the_rules_in_force(tmp_path, imap_account):
    imap_account.append_many(mixed_messages(20)[-5:])
    done = rules_test(tmp_path, imap_account, "--mailbox", "referrals", "--last", "2")
    assert done.returncode == 0, done.stderr
    assert "the last 2 of 5 messages" in done.stdout
    assert "Proposed" not in done.stdout
    assert "decided by: default: 2" in done.stdout.splitlines()[-1]
