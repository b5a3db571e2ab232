"""parsers.mail: each message parsed once, by mail-parser, in the sandbox, within its budget."""

from __future__ import annotations

import json
import time
from email.message import EmailMessage

import pytest

from parsers.limits import Limits
from parsers.mail.read import MAX_HEADER_CHARS, MailResult, clean_text, clean_value, read_mail
from parsers.sandbox import SandboxPool, parse_mail, parse_mail_inline


def referral_email(**headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = headers.pop("From", '"Bloggs, Jo" <jo.bloggs@agency.example>')
    message["To"] = "referrals@westshire-sp.example"
    message["Subject"] = headers.pop("Subject", "CSPR referral")
    message["Message-ID"] = "<m1@agency.example>"
    message["Received"] = (
        "from mx.agency.example by mx.ours.example; Mon, 2 Mar 2026 10:00:00 +0000"
    )
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content("Please find the form attached.\n")
    message.add_attachment(b"%PDF-1.4\n%%EOF\n", "application", "pdf", filename="form.pdf")
    return message.as_bytes()


def test_it_reads_the_sender_body_attachments_and_hops_with_mail_parser():
    result = read_mail(referral_email(), Limits())
    assert (result.parser, result.failure) == ("mail-parser", "")
    assert result.from_addr == "jo.bloggs@agency.example"
    assert result.from_name == "Bloggs, Jo"
    assert result.text_body.startswith("Please find the form")
    assert [(p.path, p.media_type) for p in result.attachments] == [("form.pdf", "application/pdf")]
    assert result.received[0]["by"].startswith("mx.ours.example")
    assert result.received[0]["date"].startswith("2026-03-02T10:00:00")


def test_it_falls_back_to_the_standard_library_and_says_so(monkeypatch):
    import mailparser

    def broken(raw: bytes) -> None:
        raise ValueError("mail-parser does not like it")

    monkeypatch.setattr(mailparser, "parse_from_bytes", broken)
    result = read_mail(referral_email(), Limits())
    assert result.parser == "stdlib"
    assert "mailparser_failed:ValueError" in result.defects
    assert result.from_addr == "jo.bloggs@agency.example"
    assert len(result.attachments) == 1


def test_it_keeps_no_control_character_in_any_value():
    raw = referral_email(Subject="Referral \x00for\x07 review").replace(
        b"Please find", b"Please\x00 find"
    )
    result = read_mail(raw, Limits())
    text = json.dumps(result.as_json())
    assert "\\u0000" not in text and "\\u0007" not in text
    assert result.subject == "Referral for review"


def test_it_drops_an_address_carrying_a_nul_rather_than_mending_it():
    raw = referral_email(From="victim\x00@agency.example")
    assert read_mail(raw, Limits()).from_addr is None


def test_it_shortens_every_header_value_it_keeps():
    raw = referral_email(X_Padding="x" * (MAX_HEADER_CHARS * 3))
    result = read_mail(raw, Limits())
    assert max(len(v) for _n, v in result.headers) <= MAX_HEADER_CHARS


def test_it_round_trips_through_json_without_the_bytes():
    result = read_mail(referral_email(), Limits())
    again = MailResult.from_json(json.loads(json.dumps(result.as_json())), result.attachments)
    assert again == result


def test_clean_text_removes_controls_and_keeps_lines():
    assert clean_text("a\x00b\tc\r\nd\x1b\x85e\ud800") == "ab\tc\nde"
    assert clean_value({"k\x00": ["v\x00", 1]}) == {"k": ["v", 1]}


def test_it_parses_in_the_sandbox_as_inline():
    raw = referral_email()
    assert parse_mail(raw, Limits()).from_addr == parse_mail_inline(raw, Limits()).from_addr


HTML_BOMB = (
    b"From: a@agency.example\r\nSubject: hi\r\nContent-Type: text/html\r\n\r\n" + b"<a " * 60000
)


def test_it_gives_up_on_a_message_over_its_time_budget_and_goes_on():
    start = time.monotonic()
    result = parse_mail(HTML_BOMB, Limits(max_message_seconds=1.5))
    assert result.failure == "timeout"
    assert time.monotonic() - start < 10
    assert parse_mail(referral_email(), Limits()).failure == ""  # the next one, at once


def hog(raw: bytes, limits: Limits) -> None:
    hoard = []
    while True:
        hoard.append(bytearray(32 * 1024 * 1024))


@pytest.mark.slow
def test_it_gives_up_on_a_job_over_its_memory_budget():
    with SandboxPool(size=1) as pool:
        outcome = pool.run_job("tests.parsers.test_mail:hog", (b"", Limits()), 30, 300)
        assert outcome.reason is not None and outcome.reason.value == "memory"
        again = pool.run_job("parsers.mail:read_mail", (referral_email(), Limits()), 30, 1024)
        assert again.reason is None and again.value.from_addr == "jo.bloggs@agency.example"


def spin(*args: object) -> None:
    """A job that never ends (a matcher or parser stuck on what a sender made)."""
    while True:
        pass
