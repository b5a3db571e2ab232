"""The mailbox rules through the real pipeline (issue 11): what a rule says is what the
worker does (decision, no reply, the notice through the outbox, the folder and flags),
and the rule that decided each message is stored on it."""

from __future__ import annotations

import mailbox
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

import pytest

from intake.assess import assess_message
from intake.mailbox import open_mailbox
from intake.models import InboundMessage, OutboundEmail
from intake.pipeline import poll_mailbox
from tests.builders.authentication import OUR_MX

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT.parent / "shared" / "forms" / "examples"

RULES = """
[[rules]]
name = "robots"
when.sender = ["noreply@*"]
never_reply = true
continue = true

[[rules]]
name = "coroner"
when.sender = "*@coroner.example.gov.uk"
action = "hold"
reason = "letters from the coroner go to a person"
notify = "coroner.liaison@westshire-sp.example"
flag = true
leave_in_place = true

[[rules]]
name = "cdop-bulk"
when.subject_contains = "CDOP bulk report"
action = "ignore"
file_into = "CDOP reports"
mark_read = true

[[rules]]
name = "hold-robots"
when.automatic = true
when.sender = "*@watched.example.gov.uk"
action = "hold"
reason = "this agency's robots are read by a person"

[default]
action = "process"
"""


@pytest.fixture
def config(make_config, tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    return make_config(
        service={
            "our_addresses": ["referrals@westshire-sp.example"],
            "message_id_domain": "westshire-sp.example",
        },
        replies={
            "outbox_dir": str(tmp_path / "outbox"),
            "from_address": "referrals@westshire-sp.example",
        },
        rules={"authserv_ids": [OUR_MX], "file": str(rules)},
    )


def mail(sender: str, subject: str, **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "referrals@westshire-sp.example"
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="agency.example")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content("Please see the attached.\n")
    return message.as_bytes()


def deliver(config, *raws: bytes) -> None:
    with open_mailbox(config.mailboxes[0]) as box:
        for raw in raws:
            box.append("INBOX", raw, flags=())


def flags_in(config, folder: str) -> list[str]:
    root = mailbox.Maildir(config.mailboxes[0].path, factory=None, create=False)
    box = root if folder == "INBOX" else root.get_folder(folder)
    return sorted(message.get_flags() for message in box)


@pytest.mark.django_db(transaction=True)
def test_a_rule_that_holds_keeps_the_message_in_place_flagged_and_notifies_once(config):
    deliver(config, mail("Office <office@coroner.example.gov.uk>", "Inquest"))
    poll_mailbox(config.mailboxes[0], config)
    message = InboundMessage.objects.get()
    assert (message.state, message.decision) == ("filed", "needs_review")
    assert (message.rule, message.reason_code) == ("coroner", "rule:hold")
    assert message.assessment["reasons"][0] == (
        "held by rule 'coroner': letters from the coroner go to a person"
    )
    assert flags_in(config, "INBOX") == ["F"]
    notices = OutboundEmail.objects.filter(kind="team_rule_notice")
    assert [n.recipient for n in notices] == ["coroner.liaison@westshire-sp.example"]
    body = notices[0].body_text
    assert "coroner" in body and "Inquest" not in body and "office@" not in body
    assert not OutboundEmail.objects.exclude(kind="team_rule_notice").exists()


@pytest.mark.django_db(transaction=True)
def test_a_rule_that_ignores_files_the_message_elsewhere_marked_read(config):
    deliver(config, mail("cdop@agency.example.gov.uk", "CDOP bulk report March"))
    poll_mailbox(config.mailboxes[0], config)
    message = InboundMessage.objects.get()
    assert (message.decision, message.rule, message.reason_code) == (
        "ignored",
        "cdop-bulk",
        "rule:ignore",
    )
    assert flags_in(config, "CDOP reports") == ["S"]
    assert flags_in(config, "INBOX") == []


@pytest.mark.django_db(transaction=True)
def test_mail_no_rule_decides_is_filed_as_before(config):
    deliver(config, mail("someone@agency.example.gov.uk", "A question"))
    poll_mailbox(config.mailboxes[0], config)
    message = InboundMessage.objects.get()
    assert (message.rule, message.decision) == ("default", "needs_review")
    assert flags_in(config, "Processed") == [""]


@pytest.mark.django_db(transaction=True)
def test_a_rule_may_hold_automatic_mail_but_never_answers_it(config):
    robot = mail(
        "noreply@watched.example.gov.uk", "Automatic reply: away", Auto_Submitted="auto-replied"
    )
    deliver(config, robot)
    poll_mailbox(config.mailboxes[0], config)
    message = InboundMessage.objects.get()
    assert (message.decision, message.rule) == ("needs_review", "hold-robots")
    assert message.assessment["automatic"] is True
    assert not OutboundEmail.objects.exists()


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason=f"no examples at {EXAMPLES}")
def test_a_rule_stops_the_reply_to_a_no_reply_sender_and_nothing_else(config):
    raw = (EXAMPLES / "referral-accepted.eml").read_bytes()
    answered = assess_message(raw, config)
    assert answered.reply is not None
    robot = raw.replace(b"<cmooreroberts@", b"<noreply@", 1)
    quiet = assess_message(robot, config)
    assert quiet.reply is None
    assert quiet.decision == answered.decision == "accepted"
    assert quiet.rule["matched"] == ["robots"]
    assert "never auto-reply to this sender (mailbox rules: 'robots')" in quiet.reasons


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason=f"no examples at {EXAMPLES}")
def test_no_rule_makes_automatic_mail_answered(make_config, tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rules]]\nname = "all"\nwhen.automatic = true\naction = "process"\n')
    config = make_config(rules={"authserv_ids": [OUR_MX], "file": str(rules)})
    for name in ("out-of-office-exchange.eml", "bounce-dsn.eml"):
        outcome = assess_message((EXAMPLES / name).read_bytes(), config)
        assert (outcome.decision, outcome.reply) == ("ignored", None)
        assert outcome.rule["name"] == "all"
