"""End to end with real servers: Dovecot holds the mailbox, aiosmtpd takes the replies.

Each test puts real example emails (``../shared/forms/examples``) into a
private Dovecot account, runs the pipeline's poll (fetch, store, assess,
decide, send, file) and looks at what the SMTP server received and what the
database holds.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import signal
import subprocess
import sys
import textwrap
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from intake.models import InboundMessage, OutboundEmail, Referral, Submission
from intake.outbox import send_due
from intake.pipeline import poll_mailbox
from tests.builders.authentication import with_verdict
from tests.intake.conftest import imap_mailbox_table
from tests.servers.smtp import smtp_server  # noqa: F401 (a fixture)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT.parent / "shared" / "forms" / "examples"

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def config_tables(account: Any, smtp_port: int) -> dict[str, Any]:
    return {
        "service": {
            "name": "Westshire Safeguarding Partnership",
            "reference_prefix": "WSP",
            "our_addresses": ["referrals@westshire-sp.example"],
            "message_id_domain": "westshire-sp.example",
        },
        "replies": {
            "transport": "smtp",
            "from_address": "referrals@westshire-sp.example",
            "from_name": "Westshire Safeguarding Partnership",
            "max_per_sender_per_hour": 3,
        },
        "smtp": {"host": "127.0.0.1", "port": smtp_port, "security": "none", "timeout_seconds": 5},
        "mailboxes": [imap_mailbox_table(account, sent_folder="Sent")],
    }


@pytest.fixture
def world(make_config, imap_account, smtp_server):  # noqa: F811 (the fixture above)
    tables = config_tables(imap_account, smtp_server.port)
    return imap_account, smtp_server, make_config(**tables), tables


def example(name: str, verdict: str | None = "pass") -> bytes:
    """An example email as our MX would deliver it, with its verdict on the sender
    (issue 8: only a sender our own server authenticated is ever answered)."""
    raw = (EXAMPLES / f"{name}.eml").read_bytes()
    return raw if verdict is None else with_verdict(raw, verdict)


def poll(config: Any) -> None:
    result = poll_mailbox(config.mailbox("referrals"), config)
    assert result.error == "", result


def replies_to(smtp: Any, address: str) -> list[email.message.EmailMessage]:
    found = [
        email.message_from_bytes(m.content, policy=email.policy.default)
        for m in smtp.messages
        if address in m.rcpt_tos
    ]
    return found  # type: ignore[return-value]


def with_headers(raw: bytes, old: bytes, new: bytes) -> bytes:
    """``raw`` with ``old`` replaced by ``new`` in the header block only."""
    head, sep, body = raw.partition(b"\n\n")
    return head.replace(old, new) + sep + body


def test_it_acknowledges_a_complete_form_once_with_its_due_date_across_easter(world):
    account, smtp, config, _ = world
    # Arrived Thursday 2 April 2026: Good Friday and Easter Monday are not working days,
    # so the 15th working day is Monday 27 April (23 April if they were).
    raw = with_headers(example("referral-accepted"), b"Fri, 30 Jan 2026", b"Thu, 02 Apr 2026")
    account.append(raw)
    poll(config)
    poll(config)
    [ack] = replies_to(smtp, "cmooreroberts@sankeybrookhig.warrington.sch.uk")
    referral = Referral.objects.get()
    assert referral.status == "accepted"
    assert referral.rapid_review_due == date(2026, 4, 27)
    assert referral.reference == "WSP-2026-0001"
    assert ack["Subject"].endswith("[WSP-2026-0001]")
    assert ack["Auto-Submitted"] == "auto-replied"
    assert "Monday 27 April 2026" in ack.get_body(preferencelist=("plain",)).get_content()
    assert InboundMessage.objects.get().state == "filed"
    assert account.uids("INBOX") == [] and len(account.uids("Processed")) == 1
    assert len(account.uids("Sent")) == 1


def test_it_returns_an_incomplete_form_once_listing_exactly_what_is_missing(world):
    account, smtp, config, _ = world
    account.append(example("referral-incomplete"))
    poll(config)
    [returned] = replies_to(smtp, "aoife.hope@warrington.gov.uk")
    text = returned.get_body(preferencelist=("plain",)).get_content()
    listed = [line.strip()[2:] for line in text.splitlines() if line.strip().startswith("- ")]
    assert listed == [
        "Job title / role",
        "Is there a police investigation or criminal proceedings?",
    ]
    [attached] = list(returned.iter_attachments())
    assert attached.get_filename().endswith(".docx")
    original = email.message_from_bytes(example("referral-incomplete"), policy=email.policy.default)
    [sent_form] = [p for p in original.iter_attachments() if p.get_filename().endswith(".docx")]
    assert attached.get_content() == sent_form.get_content()
    assert Referral.objects.get().status == "awaiting_resubmission"


def test_it_joins_a_resubmission_in_the_thread_to_its_case(world):
    account, smtp, config, _ = world
    account.append(example("referral-incomplete"))
    poll(config)
    [returned] = replies_to(smtp, "aoife.hope@warrington.gov.uk")
    raw = example("referral-incomplete")
    raw = with_headers(
        raw,
        b"Message-ID: <32F390D4-C5EC-2E4A-ED76-32881D517FD2@warrington.gov.uk>",
        b"Message-ID: <second-try@warrington.gov.uk>\nIn-Reply-To: "
        + returned["Message-ID"].encode()
        + b"\nReferences: "
        + returned["Message-ID"].encode(),
    )
    account.append(raw)
    poll(config)
    referral = Referral.objects.get()
    kinds = list(referral.submissions.values_list("kind", "matched_by"))
    assert kinds == [("first", ""), ("resubmission", "thread")]


def automatic_examples(our_reply: bytes) -> dict[str, bytes]:
    person = example("general-enquiry")
    return {
        "out_of_office": example("out-of-office-exchange"),
        "bounce": example("bounce-dsn"),
        "mailing_list": with_headers(person, b"Subject:", b"List-Id: <news.example>\nSubject:"),
        "auto_generated": with_headers(
            person, b"Subject:", b"Auto-Submitted: auto-generated\nSubject:"
        ),
        "our_own_reply": our_reply,
    }


def test_it_never_answers_automatic_mail(world):
    account, smtp, config, _ = world
    account.append(example("referral-accepted"))
    poll(config)
    [ack] = smtp.messages
    for raw in automatic_examples(ack.content).values():
        account.append(raw)
    poll(config)
    assert len(smtp.messages) == 1  # the acknowledgement only
    ignored = InboundMessage.objects.filter(decision="ignored")
    assert ignored.count() == 5
    assert not OutboundEmail.objects.filter(message__in=ignored).exists()
    assert Submission.objects.count() == 1


def test_it_keeps_a_dmarc_failure_for_review_without_replying(world):
    account, smtp, config, _ = world
    account.append(example("dmarc-fail", verdict="fail"))
    poll(config)
    assert smtp.messages == []
    assert InboundMessage.objects.get().decision == "needs_review"
    assert Referral.objects.get().status == "needs_review"


def test_it_sends_once_when_smtp_comes_back(world):
    account, smtp, config, _ = world
    smtp.stop()
    account.append(example("referral-accepted"))
    poll(config)
    row = OutboundEmail.objects.get()
    assert (row.state, row.attempts) == ("pending", 1)
    smtp.start()
    later = timezone.now() + timedelta(minutes=5)
    assert send_due(config, now=later).sent == [row.pk]
    poll(config)
    assert send_due(config, now=later + timedelta(hours=2)).sent == []
    assert len(smtp.messages) == 1
    row.refresh_from_db()
    assert row.state == "sent" and row.sent_copy == "filed"


def test_it_holds_the_per_sender_limit_for_ten_incomplete_forms_in_a_minute(world):
    account, smtp, config, _ = world
    original = b"Message-ID: <32F390D4-C5EC-2E4A-ED76-32881D517FD2@warrington.gov.uk>"
    for n in range(10):
        new = f"Message-ID: <try-{n}@warrington.gov.uk>".encode()
        account.append(with_headers(example("referral-incomplete"), original, new))
    poll(config)
    send_due(config)  # the worker's outbox round after the poll
    assert len(replies_to(smtp, "aoife.hope@warrington.gov.uk")) == 3
    states = sorted(OutboundEmail.objects.values_list("state", flat=True))
    assert states == ["sent"] * 3 + ["suppressed"] * 7
    assert InboundMessage.objects.filter(decision="incomplete").count() == 10


KILLED_WORKER = textwrap.dedent(
    """
    import json, os, sys, time
    sys.path.insert(0, os.environ["ROOT"])
    import django
    django.setup()
    from intake import outbox
    from intake.config import parse_config

    config = parse_config(json.loads(os.environ["TABLES"]), "test.toml")
    outbox._mark_sent = lambda *args: time.sleep(120)  # dies here: SIGKILL from the test
    outbox.send_due(config)
    """
)


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.slow
def test_it_parks_a_reply_as_uncertain_when_the_worker_is_killed_after_the_server_took_it(
    world, tmp_path
):
    account, smtp, config, tables = world
    smtp.stop()  # the poll decides and queues; the killed worker below sends
    account.append(example("referral-accepted"))
    poll(config)
    smtp.start()
    OutboundEmail.objects.update(next_attempt_at=timezone.now())
    script = tmp_path / "worker.py"
    script.write_text(KILLED_WORKER)
    env = os.environ | {
        "ROOT": str(ROOT),
        "TABLES": json.dumps(tables),
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    worker = subprocess.Popen([sys.executable, str(script)], env=env, cwd=ROOT)
    try:
        assert smtp.accepted.wait(30), "the worker never sent"
        row = OutboundEmail.objects.get()
        for _ in range(100):
            row.refresh_from_db()
            if row.state == "sending":
                break
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.wait(10)
    row.refresh_from_db()
    assert row.state == "sending"
    report = send_due(config, now=timezone.now() + timedelta(minutes=10))
    assert report.uncertain == [row.pk] and report.sent == []
    assert send_due(config, now=timezone.now() + timedelta(hours=3)).sent == []
    row.refresh_from_db()
    assert row.state == "uncertain"
    assert len(smtp.messages) == 1
