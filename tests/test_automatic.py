"""Automatic mail is never answered; DMARC failures are read from our own server's header."""

from __future__ import annotations

import email
import email.policy
import json
from email.message import EmailMessage
from pathlib import Path

import pytest

from intake.automatic import (
    automatic_reason,
    decoded_subject,
    dmarc_failed,
    parse_authentication_results,
)

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "shared" / "forms" / "examples"
CORPORA = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora"
OURS = ["referrals@westshire-sp.example"]
DOMAIN = "westshire-sp.example"


def person(**headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Jo Bloggs <jo.bloggs@agency.example>"
    msg["To"] = OURS[0]
    msg["Subject"] = "CSPR referral"
    msg["Message-ID"] = "<CAB123@mail.agency.example>"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("Please find the form attached.")
    return msg


def reason(msg: email.message.Message) -> str | None:
    return automatic_reason(msg, OURS, DOMAIN)


def test_it_lets_a_persons_referral_through():
    assert reason(person()) is None


@pytest.mark.parametrize(
    "value", ["auto-replied", "auto-generated", "auto-notified", "Auto-Replied; owner-email=x@y.z"]
)
def test_it_catches_auto_submitted_other_than_no(value):
    assert reason(person(Auto_Submitted=value)) == "auto_submitted"


def test_it_lets_auto_submitted_no_through():
    assert reason(person(Auto_Submitted="no")) is None


@pytest.mark.parametrize("value", ["bulk", "list", "junk", "auto_reply", "Bulk"])
def test_it_catches_bulk_precedence(value):
    assert reason(person(Precedence=value)) == "precedence"


@pytest.mark.parametrize("header", ["List_Id", "List_Unsubscribe", "X_Mailman_Version"])
def test_it_catches_mailing_lists(header):
    assert reason(person(**{header: "<news.agency.example>"})) == "mailing_list"


def test_it_catches_exchange_suppression_headers():
    assert reason(person(X_Auto_Response_Suppress="All")) == "auto_response_suppress"


@pytest.mark.parametrize(
    "header",
    ["X_Autoreply", "X_Autorespond", "X_MS_Exchange_Generated_Message_Source",
     "X_MS_Exchange_Inbox_Rules_Loop"],
)  # fmt: skip
def test_it_catches_autoresponder_headers(header):
    assert reason(person(**{header: "yes"})) is not None


def test_it_catches_an_empty_return_path():
    assert reason(person(Return_Path="<>")) == "null_return_path"


@pytest.mark.parametrize("sender", ["MAILER-DAEMON@mx.agency.example", "postmaster@agency.example"])
def test_it_catches_mail_from_the_mail_system(sender):
    msg = person()
    msg.replace_header("From", sender)
    assert reason(msg) == "mailer_daemon"


def test_it_catches_delivery_reports():
    msg = EmailMessage()
    msg["From"] = "Mail System <system@agency.example>"
    msg["Subject"] = "Returned"
    msg.set_content("report")
    msg.replace_header("Content-Type", "multipart/report; report-type=delivery-status")
    assert reason(msg) == "delivery_report"


def test_it_catches_our_own_mail_looping_back():
    msg = person()
    msg.replace_header("From", "Westshire <Referrals@Westshire-SP.example>")
    assert reason(msg) == "from_us"


def test_it_catches_our_own_message_id():
    msg = person()
    msg.replace_header("Message-ID", f"<wsp-0123456789abcdef0123456789abcdef@{DOMAIN}>")
    assert reason(msg) == "our_message_id"


def test_it_lets_a_referrer_in_our_own_domain_through():
    # Staff of the organisation share the Message-ID domain; their ids are not ours.
    msg = person()
    msg.replace_header("Message-ID", f"<32F390D4-C5EC-2E4A-ED76-32881D517FD2@{DOMAIN}>")
    assert reason(msg) is None


def test_it_lets_a_referrer_replying_to_our_return_through():
    msg = person(
        In_Reply_To=f"<wsp-0123456789abcdef@{DOMAIN}>",
        References=f"<wsp-0123456789abcdef@{DOMAIN}>",
    )
    msg.replace_header("Subject", "RE: Incomplete referral [WSP-2026-0007]")
    assert reason(msg) is None


@pytest.mark.parametrize(
    "subject",
    ["Automatic reply: CSPR referral", "Out of Office: CSPR referral", "AutoReply: away",
     "Undeliverable: CSPR referral", "Delivery Status Notification (Failure)",
     "Mail delivery failed: returning message to sender", "Out of office",
     "AUTO: Jo Bloggs is out of the office", "Risposta automatica: referral",
     "Delivery delayed: CSPR referral"],
)  # fmt: skip
def test_it_catches_auto_reply_and_bounce_subjects_on_their_own(subject):
    msg = person()
    msg.replace_header("Subject", subject)
    assert reason(msg) is not None


@pytest.mark.parametrize(
    "subject",
    ["Referral - incident out of office hours", "RE: Automatic reply: CSPR referral",
     "Re: Undeliverable form - resending", "Rapid review referral"],
)  # fmt: skip
def test_it_lets_subjects_that_only_mention_those_words_through(subject):
    msg = person()
    msg.replace_header("Subject", subject)
    assert reason(msg) is None


@pytest.mark.parametrize(
    "subject",
    [b"=?\xff?q?x?=", b"=?utf-8?q?Re:_x?= =?\xff?b?eA==?="],
    ids=["non_ascii_charset", "after_a_good_word"],
)
def test_it_reads_a_subject_with_broken_encoded_words_as_written(subject):
    msg = email.message_from_bytes(
        b"From: jo.bloggs@agency.example\r\nSubject: " + subject + b"\r\n\r\nHello.\r\n",
        policy=email.policy.compat32,
    )
    assert decoded_subject(msg).endswith("?=")
    assert reason(msg) is None


@pytest.mark.parametrize("name", sorted(p.stem for p in EXAMPLES.glob("*.json")))
def test_it_agrees_with_every_example_on_what_is_automatic(name):
    expected = json.loads((EXAMPLES / f"{name}.json").read_text())
    with open(EXAMPLES / f"{name}.eml", "rb") as handle:
        msg = email.message_from_binary_file(handle)
    # The examples' own mailbox is at warrington.gov.uk, as are many referrers.
    found = automatic_reason(
        msg, ["safeguardingpartnerships@warrington.gov.uk"], "warrington.gov.uk"
    )
    assert (found is not None) == expected["automatic"], found


CAUGHT_IN_CORPORA = [
    "cpython-test_email/data/msg_02.txt",  # Mailman digest
    "cpython-test_email/data/msg_05.txt",  # multipart/report
    "cpython-test_email/data/msg_16.txt",  # "Delivery has failed"
    "cpython-test_email/data/msg_25.txt",  # Returned mail (DSN)
    "cpython-test_email/data/msg_43.txt",  # virus-scanner report
    "mimekit/messages/bounce.txt",
    "mimekit/messages/delivery-status.txt",
    "mimekit/messages/delivery-status2.txt",
    "mimekit/messages/delivery-status-no-blank-line.txt",
    "mimekit/messages/delivery-status-multiple-blank-lines.txt",
    "mimekit/messages/delivery-status.anonymized.eml",
    "mimekit/messages/disposition-notification.txt",
    "mimekit/messages/disposition-notification.anonymized.eml",
    "mimekit/openpgp/gnupg-2.1.20-announce.eml",  # announcement list
    "spamscope-mail-parser/mails/mail_malformed_2",  # bounce
    "spamscope-mail-parser/mails/mail_test_13",  # List-Unsubscribe newsletter
]


@pytest.mark.parametrize("name", CAUGHT_IN_CORPORA)
def test_it_catches_the_bounces_lists_and_reports_in_the_corpora(name):
    with open(CORPORA / name, "rb") as handle:
        msg = email.message_from_binary_file(handle)
    assert reason(msg) is not None


def test_it_reads_every_corpus_file_without_crashing():
    files = [p for p in CORPORA.rglob("*") if p.is_file() and p.suffix not in (".md",)]
    assert len(files) > 150
    for path in files:
        with open(path, "rb") as handle:
            msg = email.message_from_binary_file(handle)
        reason(msg)
        dmarc_failed(msg, [])
        dmarc_failed(msg, ["mx1.warrington.gov.uk"])


def test_it_sees_dmarc_fail_in_the_example_from_our_server():
    with open(EXAMPLES / "dmarc-fail.eml", "rb") as handle:
        msg = email.message_from_binary_file(handle)
    assert dmarc_failed(msg, ["mx1.warrington.gov.uk"])
    assert dmarc_failed(msg, [])


def test_it_ignores_a_dmarc_fail_written_by_someone_else():
    msg = person()
    msg["Authentication-Results"] = "mx.ours.example; dmarc=pass header.from=agency.example"
    msg["Authentication-Results"] = "evil.example; dmarc=fail header.from=agency.example"
    assert not dmarc_failed(msg, ["mx.ours.example"])
    assert not dmarc_failed(msg, [])  # only the topmost counts when none is configured


def test_it_sees_dmarc_pass_in_every_passing_example():
    for name in ("forwarded-as-attachment", "truncated-docx", "resubmission", "encrypted-pdf"):
        with open(EXAMPLES / f"{name}.eml", "rb") as handle:
            assert not dmarc_failed(email.message_from_binary_file(handle), []), name


def test_it_parses_results_with_comments_and_no_authserv_id():
    server, results = parse_authentication_results(
        "spf=pass (sender IP is 1.2.3.4) smtp.mailfrom=x.uk; dkim=pass (signature (nested) ok) "
        "header.d=x.uk;dmarc=fail action=none header.from=x.uk"
    )
    assert server is None
    assert results == {"spf": "pass", "dkim": "pass", "dmarc": "fail"}
