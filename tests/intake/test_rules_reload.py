"""The real worker reloads its rules without a restart (issue 11).

``intake worker`` runs as a subprocess on a Maildir, polling every second.  A changed
rules file takes effect between polls and is audited with the old and the new text; a
broken one is refused (its fault on ``/healthz``'s report) and mail goes on under the
rules in force; SIGHUP reloads at once; nothing of the rules' text reaches the log.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest

from intake.config import PROJECT_ROOT, load_config
from intake.mailbox import open_mailbox

pytestmark = pytest.mark.slow

RULES = """
[[rules]]
name = "{name}"
when.subject_contains = "alpha"
action = "{action}"
{extra}
"""
HOLD_V1 = RULES.format(
    name="alpha-v1",
    action="hold",
    extra='reason = "first rules"\nnotify = "rules.watcher@warrington.gov.uk"',
)
BROKEN = RULES.format(name="alpha-broken", action="ignore", extra="when.body_matches = '(unclosed'")
IGNORE_V2 = RULES.format(name="alpha-v2", action="ignore", extra="")
IGNORE_V3 = IGNORE_V2.replace("alpha-v2", "alpha-v3")


def wait_for(predicate, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("timed out")


class World:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.rules = tmp_path / "rules.toml"
        self.database = tmp_path / "intake.sqlite3"
        self.config = tmp_path / "intake.toml"
        self.config.write_text(
            f"""
[service]
our_addresses = ["safeguardingpartnerships@warrington.gov.uk"]

[schedule]
poll_seconds = 1

[rules]
file = "{self.rules}"

[replies]
outbox_dir = "{tmp_path / "outbox"}"
from_address = "safeguardingpartnerships@warrington.gov.uk"

[[mailboxes]]
name = "referrals"
kind = "maildir"
path = "{tmp_path / "Maildir"}"
"""
        )
        self.env = {
            **os.environ,
            "INTAKE_CONFIG": str(self.config),
            "DATABASE_URL": f"sqlite:///{self.database}",
        }

    def intake(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "intake.cli", *args],
            env=self.env,
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def deliver(self, subject: str) -> None:
        message = EmailMessage()
        message["From"] = "someone@agency.example.gov.uk"
        message["To"] = "safeguardingpartnerships@warrington.gov.uk"
        message["Subject"] = subject
        message["Message-ID"] = make_msgid(domain="agency.example.gov.uk")
        message.set_content("Hello.\n")
        config = load_config(self.config, strict_rules=False)
        with open_mailbox(config.mailboxes[0]) as box:
            box.append("INBOX", message.as_bytes(), flags=())

    def query(self, sql: str, *args: object) -> list[tuple]:
        with sqlite3.connect(self.database) as db:
            return db.execute(sql, args).fetchall()

    def decided(self, subject: str) -> tuple | None:
        rows = self.query(
            "select rule, decision from intake_inboundmessage where subject = ? and decision != ''",
            subject,
        )
        return rows[0] if rows else None

    def versions(self, state: str) -> list[tuple]:
        return self.query(
            "select id, source, error from intake_rulesversion where state = ? order by id", state
        )


def test_the_worker_switches_rules_between_polls_and_refuses_a_broken_file(tmp_path):
    world = World(tmp_path)
    world.rules.write_text(HOLD_V1)
    assert world.intake("migrate").returncode == 0
    worker = subprocess.Popen(
        [sys.executable, "-m", "intake.cli", "worker"],
        env=world.env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(lambda: world.versions("in_force"))
        world.deliver("alpha one")
        assert wait_for(lambda: world.decided("alpha one")) == ("alpha-v1", "needs_review")

        world.rules.write_text(BROKEN)
        refused = wait_for(lambda: world.versions("refused"))
        assert refused[0][2].endswith(
            "rules.toml: rule 'alpha-broken': when.body_matches: '(unclosed' is not a valid "
            "regular expression: missing ) at position 9"
        )
        health = json.loads(world.intake("healthcheck").stdout)
        assert health["warnings"][-1]["rules"] == "refused"
        assert "alpha-broken" in health["warnings"][-1]["error"]
        world.deliver("alpha two")
        assert wait_for(lambda: world.decided("alpha two")) == ("alpha-v1", "needs_review")

        world.rules.write_text(IGNORE_V2)
        wait_for(lambda: len(world.versions("in_force")) == 2)
        world.deliver("alpha three")
        assert wait_for(lambda: world.decided("alpha three")) == ("alpha-v2", "ignored")
        health = json.loads(world.intake("healthcheck").stdout)
        assert not health.get("warnings")

        # SIGHUP reloads at once, even when the file's size and time look the same.
        stat = world.rules.stat()
        world.rules.write_text(IGNORE_V3)
        os.utime(world.rules, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        time.sleep(2)
        assert len(world.versions("in_force")) == 2
        worker.send_signal(signal.SIGHUP)
        wait_for(lambda: len(world.versions("in_force")) == 3)

        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0
    changes = world.query(
        "select detail from intake_auditevent where verb = 'rules_changed' order by id"
    )
    details = [json.loads(d) for (d,) in changes]
    assert [d["old_text"] for d in details] == ["", HOLD_V1, IGNORE_V2]
    assert [d["new_text"] for d in details] == [HOLD_V1, IGNORE_V2, IGNORE_V3]
    # Rule names and ids in the log; never the rules' text (it holds addresses).
    assert '"rules_refused"' in output and '"config_reloaded"' in output
    assert "rules.watcher@" not in output and "first rules" not in output
    assert "(unclosed" not in output
    assert "Traceback" not in output
