"""The published example emails parse into what the rest of the service expects."""

from __future__ import annotations

from pathlib import Path

import pytest

from parsers.limits import Limits
from parsers.mail import sniff
from parsers.mail.mime import ParsedMessage, parse_message

EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "forms" / "examples"
pytestmark = pytest.mark.skipif(not EXAMPLES.is_dir(), reason=f"no examples at {EXAMPLES}")


def example(name: str) -> ParsedMessage:
    return parse_message((EXAMPLES / f"{name}.eml").read_bytes(), Limits())


def forms(parsed: ParsedMessage) -> list[str]:
    kinds = (sniff.DOCX, sniff.PDF)
    return [a.path for a in parsed.attachments if a.is_leaf and a.media_type in kinds]


def test_it_finds_the_form_inside_a_message_forwarded_as_an_attachment() -> None:
    parsed = example("forwarded-as-attachment")
    assert forms(parsed) == ["CSPR referral.eml/cspr-referral-form.docx"]
    assert parsed.forwarded_from == "kimberley.dickinson1@nhs.net"
    assert parsed.subject == "FW: CSPR referral"


def test_it_finds_the_original_referrer_of_an_inline_forward() -> None:
    parsed = example("forwarded-inline")
    assert parsed.from_addr == "rashworth@warrington.gov.uk"
    assert parsed.forwarded_from == "susan.baker@warrington.gov.uk"


def test_it_does_not_call_a_reply_in_a_thread_a_forward() -> None:
    parsed = example("resubmission")
    assert parsed.forwarded_from is None
    assert parsed.in_reply_to is not None


def test_it_finds_the_form_inside_a_zip() -> None:
    assert forms(example("zipped")) == ["Referral.zip/Serious Incident Notification HB.pdf"]


def test_it_lists_every_attachment_next_to_the_form() -> None:
    expected = ["Letter to WSP.pdf", "Copy of SIN (final).docx"]
    assert forms(example("with-correspondence")) == expected


def test_it_decodes_an_rfc2047_encoded_attachment_name() -> None:
    assert forms(example("encrypted-pdf")) == ["Serious Incident Notification – Warrington.pdf"]


def test_it_decodes_a_windows_1252_subject_and_keeps_the_pdf() -> None:
    parsed = example("referral-accepted")
    assert parsed.subject == "Référence CSPR – formulaire"
    assert forms(parsed) == ["WSP CSPR referral 2026-01-30.pdf"]


def test_it_still_calls_a_truncated_docx_a_docx_so_its_reader_reports_it() -> None:
    assert forms(example("truncated-docx")) == ["Rapid review referral - LN.docx"]


def test_it_reads_a_bounce_without_taking_our_own_address_for_a_forwarder() -> None:
    parsed = example("bounce-dsn")
    assert parsed.forwarded_from is None
    assert parsed.from_addr == "MAILER-DAEMON@mx1.warrington.gov.uk"
    assert parsed.headers.get_content_type() == "multipart/report"


@pytest.mark.parametrize("name", sorted(p.stem for p in EXAMPLES.glob("*.eml")))
def test_it_parses_every_example_without_defects_in_its_structure(name: str) -> None:
    parsed = example(name)
    assert not [d for d in parsed.defects if "Boundary" in d or d.startswith("unparseable")]
    assert parsed.date is not None and parsed.date.tzinfo is not None
