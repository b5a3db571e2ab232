"""Automatic mail is never answered; our own addresses and replies are known in any disguise."""

from __future__ import annotations

import email
import email.policy
import json
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from intake.authentication import authenticate
from intake.automatic import (
    address_in_name,
    automatic_reason,
    decoded_subject,
    echoed_prefixes,
    is_our_address,
    quotes_our_reply,
)
from parsers.mail import InnerMessage

EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "forms" / "examples"
CORPORA = Path(__file__).resolve().parents[3] / "shared" / "corpora"
OURS = ["referrals@westshire-sp.example"]
DOMAIN = "westshire-sp.example"


def person(**headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Jo Bloggs <jo.bloggs@agency.example>"
    msg["To"] = OURS[0]
    msg["Subject"] = "CSPR referral"
    msg["Message-ID"] = "<CAB123@mail.agency.example>"
    for name, value in headers.items():
        if name in ("From", "To", "Subject"):
            del msg[name]
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
        headers = [(k.lower(), str(v)) for k, v in msg.items()]
        authenticate(headers, ["a@b.example"], RULES)


class Rules:
    authserv_ids = ("mx1.warrington.gov.uk",)
    exchange_online = True
    arc_trusted_sealers = ("sealer.example",)


RULES = Rules()


@pytest.mark.parametrize(
    "spelling",
    [
        "Referrals@Westshire-SP.example",
        "referrals@westshire-sp.example.",
        "referrals+case-7@westshire-sp.example",
        '"referrals"@westshire-sp.example',
        "referrals@[192.0.2.7]",
        " <referrals@westshire-sp.example> ",
        "ｒｅｆｅｒｒａｌｓ@westshire-sp.example",  # full-width letters (NFKC)
    ],
)
def test_it_knows_our_own_address_in_every_spelling(spelling):
    assert is_our_address(spelling, OURS)


def test_it_does_not_take_a_neighbour_for_us():
    assert not is_our_address("referrals@westshire-sp.example.evil", OURS)
    assert not is_our_address("referrals2@westshire-sp.example", OURS)


@pytest.mark.parametrize(
    "sender",
    [
        "referrals@westshire-sp.example.",
        "<referrals+x@WESTSHIRE-SP.EXAMPLE>",
        '"referrals@westshire-sp.example" <someone@evil.example>',
        "referrals@[10.0.0.1]",
    ],
)
def test_it_never_answers_mail_that_comes_from_us_in_any_disguise(sender):
    raw = f"From: {sender}\nTo: {OURS[0]}\nSubject: Re: your reply\n\nThanks\n"
    assert reason(email.message_from_string(raw)) == "from_us"  # as written on the wire


def test_it_knows_our_reply_by_its_own_header_whatever_its_message_id():
    assert reason(person(**{"X-Intake-Reply": "WSP-2026-0001"})) == "our_message_id"


def test_it_sees_another_address_in_a_display_name():
    assert address_in_name("ceo@council.example", "x@evil.example")
    assert address_in_name("Jo <jo.bloggs@agency.example> (boss@agency.example)", "jo@x.example")
    assert not address_in_name("Bloggs, Jo", "jo.bloggs@agency.example")
    assert not address_in_name("jo.bloggs@agency.example", "Jo.Bloggs@agency.example")


def test_it_finds_our_reply_attached_inside_another_message():
    ours = InnerMessage("Re.eml/", (("message-id", f"<wsp-{'a' * 32}@{DOMAIN}>"),))
    marked = InnerMessage("Fw.eml/", (("x-intake-reply", "WSP-2026-0001"),))
    from_us = InnerMessage("Copy.eml/", (("from", f"Team <{OURS[0]}>"),))
    theirs = InnerMessage("Letter.eml/", (("from", "jo@agency.example"),))
    found = echoed_prefixes([ours, marked, from_us, theirs], OURS, DOMAIN)
    assert found == ["Re.eml/", "Fw.eml/", "Copy.eml/"]


def test_it_sees_our_message_id_quoted_in_a_body():
    assert quotes_our_reply(f"> Message-ID: <wsp-{'0' * 32}@{DOMAIN}>", DOMAIN)
    assert not quotes_our_reply("> Message-ID: <abc@agency.example>", DOMAIN)


def test_it_reads_a_flood_of_long_sender_headers_in_no_time():
    # Issue 8: this runs in the worker itself, on headers anyone can write.
    msg = email.message.Message()
    for _ in range(500):
        msg["From"] = "a" * 4096
    started = time.monotonic()
    assert reason(msg) is None
    assert time.monotonic() - started < 2
