"""The outbox drains what is due within the server's sending rate, and our
replies keep the msg-ids they answer intact (issue 10)."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta
from itertools import count
from typing import Any

import pytest
from django.utils import timezone

from intake import outbox
from intake.models import OutboundEmail
from intake.outbox import send_due, sent_in_last_minute
from intake.replies import ReplyContext, build_reply_message, render_reply
from tests.intake.test_decisions import service_config
from tests.intake.test_outbox import smtp_config
from tests.servers.smtp import smtp_server, start_smtp_server  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db
_numbers = count(1)
LONG_ID = (
    "<" + "0123456789abcdef" * 5 + ".Outlook.part-of-a-long-thread@eur04.prod.outlook.example>"
)


def pending_rows(how_many: int) -> list[int]:
    """Replies waiting in the outbox, each to its own referrer (no per-sender limit)."""
    made = []
    for _ in range(how_many):
        n = next(_numbers)
        raw = (
            f"From: referrals@westshire-sp.example\r\nTo: r{n}@agency.example\r\n"
            f"Message-ID: <drain-{n}@westshire-sp.example>\r\n"
            "Subject: Your referral\r\n\r\nThanks.\r\n"
        ).encode()
        row = OutboundEmail.objects.create(
            kind=OutboundEmail.Kind.ACKNOWLEDGEMENT,
            recipient=f"r{n}@agency.example",
            subject="Your referral",
            raw=raw,
            rfc_message_id=f"<drain-{n}@westshire-sp.example>",
        )
        made.append(row.pk)
    return made


def test_it_sends_everything_due_in_one_run_not_fifty(make_config, tmp_path):
    config = service_config(make_config, outbox_dir=str(tmp_path / "outbox"))
    rows = pending_rows(outbox.BATCH_SIZE * 2 + 7)
    assert send_due(config).sent == rows
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == len(rows)


def test_it_stops_at_the_servers_rate_and_sends_the_rest_later(make_config, smtp_server):  # noqa: F811
    config = smtp_config(make_config, smtp_server.port)
    config = _with_rate(config, 4)
    rows = pending_rows(6)
    report = send_due(config)
    assert report.sent == rows[:4]
    assert report.held == 2
    assert send_due(config).sent == []  # still inside the same minute
    assert send_due(config, now=timezone.now() + timedelta(seconds=61)).sent == rows[4:]
    assert len(smtp_server.messages) == 6


def test_it_counts_a_send_in_progress_against_the_rate(make_config, smtp_server):  # noqa: F811
    config = _with_rate(smtp_config(make_config, smtp_server.port), 1)
    [busy, waiting] = pending_rows(2)
    OutboundEmail.objects.filter(pk=busy).update(state=OutboundEmail.State.SENDING)
    assert sent_in_last_minute(timezone.now()) == 1
    assert send_due(config).sent == []
    assert OutboundEmail.objects.get(pk=waiting).state == OutboundEmail.State.PENDING


def test_it_sends_without_limit_when_the_rate_is_zero(make_config, smtp_server):  # noqa: F811
    config = _with_rate(smtp_config(make_config, smtp_server.port), 0)
    rows = pending_rows(5)
    assert send_due(config).sent == rows


def test_it_never_encodes_a_long_msg_id_it_answers():
    config = _reply_config()
    original = email.message.EmailMessage()
    original["From"] = "jo.bloggs@agency.example"
    original["Message-ID"] = LONG_ID
    original["References"] = f"<older@agency.example> {LONG_ID.replace('part', 'earlier')}"
    rendered = render_reply("acknowledgement", ReplyContext(service_name="WSP"), config)
    built = build_reply_message(original, rendered, config, to="jo.bloggs@agency.example")
    raw = built.as_bytes()
    assert b"=?" not in raw.split(b"\r\n\r\n")[0].replace(b"Subject:", b"")
    sent = email.message_from_bytes(raw, policy=email.policy.default)
    assert str(sent["In-Reply-To"]) == LONG_ID
    assert str(sent["References"]).split() == [
        "<older@agency.example>",
        LONG_ID.replace("part", "earlier"),
        LONG_ID,
    ]
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))


def _with_rate(config: Any, per_minute: int) -> Any:
    import dataclasses

    return dataclasses.replace(
        config, smtp=dataclasses.replace(config.smtp, max_per_minute=per_minute)
    )


def _reply_config() -> Any:
    from intake.config import parse_config

    return parse_config(
        {
            "service": {
                "name": "Westshire Safeguarding Partnership",
                "reference_prefix": "WSP",
                "our_addresses": ["referrals@westshire-sp.example"],
                "message_id_domain": "westshire-sp.example",
            },
            "replies": {
                "from_address": "referrals@westshire-sp.example",
                "from_name": "Westshire Safeguarding Partnership",
            },
        }
    )
