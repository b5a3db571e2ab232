"""parse_message: headers, bodies, file names, forwards, and never raising."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.errors import Reason
from parsers.limits import Limits
from parsers.mail import sniff
from parsers.mail.mime import ParsedMessage, html_to_text, inline_forward_sender, parse_message
from tests.builders import mime_builder as build

LIMITS = Limits()
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def parse(raw: bytes, limits: Limits = LIMITS) -> ParsedMessage:
    return parse_message(raw, limits)


def one_attachment(disposition_lines: str, body: bytes = b"JVBERi0xLjQK\n") -> ParsedMessage:
    """A message whose only attachment has the given header lines (raw)."""
    raw = (
        b"From: a@example.org\nSubject: x\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="b"\n\n'
        b"--b\nContent-Type: text/plain\n\nhello\n"
        b"--b\n"
        + disposition_lines.encode("utf-8")
        + b"\nContent-Transfer-Encoding: base64\n\n"
        + body
        + b"--b--\n"
    )
    return parse(build.raw_message(raw))


# --- headers ---------------------------------------------------------------------


def test_it_decodes_an_rfc2047_subject_and_sender_name() -> None:
    parsed = parse(
        build.raw_message(
            b"From: =?UTF-8?B?R2FyZXRoIEJyb250w6s=?= <g.bronte@example.org>\n"
            b"Subject: =?WINDOWS-1252?Q?R=E9f=E9rence=20CSPR=20=96=20formulaire?=\n\nhi\n"
        )
    )
    assert parsed.subject == "Référence CSPR – formulaire"
    assert (parsed.from_name, parsed.from_addr) == ("Gareth Brontë", "g.bronte@example.org")


def test_it_keeps_a_comma_in_a_quoted_display_name_inside_one_address() -> None:
    parsed = parse(build.raw_message(b'From: "Williams, Wendy" <w.williams@example.org>\n\nx'))
    assert (parsed.from_name, parsed.from_addr) == ("Williams, Wendy", "w.williams@example.org")


def test_it_lists_every_recipient_and_reply_to_address() -> None:
    parsed = parse(
        build.raw_message(
            b"From: a@example.org\nTo: One <one@example.org>, two@example.org\n"
            b"Cc: three@example.org\nReply-To: Team <team@example.org>\n\nx"
        )
    )
    assert parsed.to == ["one@example.org", "two@example.org"]
    assert parsed.cc == ["three@example.org"]
    assert parsed.reply_to == ["team@example.org"]


def test_it_gives_an_aware_date_and_takes_a_date_without_zone_as_utc() -> None:
    zoned = parse(build.raw_message(b"Date: Fri, 13 Nov 2026 16:57:24 +0100\n\nx"))
    assert zoned.date == dt.datetime(2026, 11, 13, 15, 57, 24, tzinfo=dt.UTC)
    unzoned = parse(build.raw_message(b"Date: Fri, 13 Nov 2026 16:57:24 -0000\n\nx"))
    assert unzoned.date == dt.datetime(2026, 11, 13, 16, 57, 24, tzinfo=dt.UTC)


def test_it_gives_no_date_for_a_date_it_cannot_read() -> None:
    assert parse(build.raw_message(b"Date: the day before yesterday\n\nx")).date is None


def test_it_reads_message_ids_and_the_thread_headers() -> None:
    parsed = parse(
        build.raw_message(
            b"Message-ID: <abc@example.org>\nIn-Reply-To: <p1@example.org>\n"
            b"References: <p0@example.org>\n <p1@example.org>\n\nx"
        )
    )
    assert parsed.message_id == "<abc@example.org>"
    assert parsed.in_reply_to == "<p1@example.org>"
    assert parsed.references == ["<p0@example.org>", "<p1@example.org>"]


def test_it_keeps_the_message_for_header_checks() -> None:
    parsed = parse(build.raw_message(b"From: a@example.org\nAuto-Submitted: auto-replied\n\nx"))
    assert parsed.headers["Auto-Submitted"] == "auto-replied"
    assert parsed.message is parsed.headers


def test_it_decodes_raw_utf8_in_a_header() -> None:
    parsed = parse(build.raw_message("Subject: Zoë’s referral\n\nx".encode()))
    assert parsed.subject == "Zoë’s referral"


# --- bodies ------------------------------------------------------------------------


def test_it_decodes_a_windows_1252_body() -> None:
    raw = b'Content-Type: text/plain; charset="windows-1252"\n\n\x93Quoted\x94 \x96 caf\xe9\n'
    assert parse(build.raw_message(raw)).text_body.strip() == "“Quoted” – café"


def test_it_reads_latin1_labelled_text_as_windows_1252() -> None:
    raw = b"Content-Type: text/plain; charset=iso-8859-1\n\nit\x92s\n"
    assert parse(build.raw_message(raw)).text_body.strip() == "it’s"


def test_it_falls_back_sensibly_for_an_unknown_charset() -> None:
    raw = "Content-Type: text/plain; charset=x-made-up\n\nSiobhán\n".encode()
    assert parse(build.raw_message(raw)).text_body.strip() == "Siobhán"


def test_it_takes_the_text_from_the_html_when_there_is_no_plain_part() -> None:
    raw = (
        b"Content-Type: text/html; charset=utf-8\n\n<html><head><style>p{}</style></head>"
        b"<body><p>Dear team,</p><p>Form&nbsp;attached &amp; signed.</p></body></html>"
    )
    parsed = parse(build.raw_message(raw))
    assert parsed.text_body == "Dear team,\n\nForm attached & signed."
    assert "<p>" in parsed.html_body


def test_it_records_broken_base64_as_a_defect_and_keeps_going() -> None:
    raw = b"Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\naGVsbG8gd29ybGQ=!!*\n"
    parsed = parse(build.raw_message(raw))
    assert "InvalidBase64CharactersDefect" in parsed.defects
    assert parsed.text_body.startswith("hello")


def test_it_joins_apple_mails_text_around_an_inline_pdf() -> None:
    parsed = parse(build.apple_mail_inline([("Form.pdf", PDF)]))
    assert "The form:" in parsed.text_body and "Thanks," in parsed.text_body
    assert [a.filename for a in parsed.attachments] == ["Form.pdf"]


# --- attachments and their names -------------------------------------------------------


def test_it_treats_an_inline_pdf_as_an_attachment() -> None:
    parsed = parse(build.apple_mail_inline([("Form.pdf", PDF)]))
    assert parsed.attachments[0].media_type == sniff.PDF
    assert parsed.attachments[0].data == PDF


def test_it_decodes_an_rfc2231_filename_with_charset_and_continuations() -> None:
    parsed = one_attachment(
        "Content-Type: application/pdf\n"
        "Content-Disposition: attachment;\n"
        " filename*0*=utf-8''R%C3%A9f%C3%A9rence%20;\n"
        " filename*1*=%E2%80%93%20form;\n"
        ' filename*2=".pdf"'
    )
    assert parsed.attachments[0].filename == "Référence – form.pdf"


def test_it_decodes_an_rfc2231_filename_in_windows_1252() -> None:
    parsed = one_attachment(
        "Content-Type: application/pdf\n"
        "Content-Disposition: attachment; filename*=windows-1252''Chlo%E9%20form.pdf"
    )
    assert parsed.attachments[0].filename == "Chloé form.pdf"


def test_it_decodes_an_rfc2047_word_in_a_filename_as_outlook_sends_it() -> None:
    parsed = parse(build.outlook([("Référral – form.docx", b"PK\x03\x04")], encoded_names=True))
    assert parsed.attachments[0].filename == "Référral – form.docx"


def test_it_decodes_a_raw_utf8_filename() -> None:
    parsed = one_attachment(
        'Content-Type: application/pdf\nContent-Disposition: attachment; filename="Zoë form.pdf"'
    )
    assert parsed.attachments[0].filename == "Zoë form.pdf"


def test_it_survives_an_rfc2231_filename_with_an_unknown_charset() -> None:
    parsed = one_attachment(
        "Content-Type: application/pdf\n"
        "Content-Disposition: attachment; filename*=x-nonsense''form%20A.pdf"
    )
    assert parsed.attachments[0].filename == "form A.pdf"


def test_it_takes_the_name_from_content_type_when_there_is_no_disposition() -> None:
    parsed = one_attachment('Content-Type: application/pdf; name="Referral.pdf"')
    assert parsed.attachments[0].filename == "Referral.pdf"


def test_it_drops_folders_from_a_filename() -> None:
    parsed = one_attachment(
        "Content-Type: application/pdf\n"
        'Content-Disposition: attachment; filename="..\\\\..\\\\x.pdf"'
    )
    assert parsed.attachments[0].filename == "x.pdf"


def test_it_makes_up_a_name_from_the_sniffed_type_when_there_is_none() -> None:
    parsed = one_attachment("Content-Type: application/octet-stream")
    assert parsed.attachments[0].filename == "attachment-1.pdf"


def test_it_sniffs_the_type_instead_of_trusting_the_declared_one() -> None:
    parsed = parse(build.outlook([("Form.doc", PDF)]))
    part = parsed.attachments[0]
    assert (part.declared_type, part.media_type) == ("application/octet-stream", sniff.PDF)


def test_it_gives_each_attachment_its_size_hash_and_path() -> None:
    parsed = parse(build.gmail([("Form.pdf", PDF)]))
    part = parsed.attachments[0]
    assert (part.size, part.path, part.depth) == (len(PDF), "Form.pdf", 1)
    assert len(part.sha256) == 64
    assert part.content_id == "f_gm0"


def test_it_flags_an_image_the_html_body_shows_by_cid_as_inline() -> None:
    msg = EmailMessage()
    msg["From"] = "a@example.org"
    msg.set_content("see logo")
    msg.add_alternative('<p>logo <img src="cid:logo1@example.org"></p>', subtype="html")
    html_part = msg.get_body(preferencelist=("html",))
    assert isinstance(html_part, EmailMessage)
    html_part.add_related(
        b"\x89PNG\r\n\x1a\n" + bytes(20), "image", "png", cid="<logo1@example.org>"
    )
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="Form.pdf")
    parsed = parse(msg.as_bytes())
    inline = {a.filename: a.inline for a in parsed.attachments}
    assert list(inline.values()) == [True, False]


# --- forwards ------------------------------------------------------------------------


def test_it_finds_the_original_sender_of_an_inline_forward() -> None:
    parsed = parse(build.forwarded_inline([("Form.pdf", PDF)], "s.baker@example.org"))
    assert parsed.from_addr == "alex.forwarder@example.net"
    assert parsed.forwarded_from == "s.baker@example.org"


def test_it_finds_the_sender_of_an_attached_message() -> None:
    parsed = parse(build.forwarded_as_attachment(build.gmail([("Form.pdf", PDF)])))
    assert parsed.forwarded_from == build.SENDER[1]
    assert [a.path for a in parsed.attachments] == ["Referral.eml", "Referral.eml/Form.pdf"]


def test_it_does_not_take_a_reply_quoting_an_earlier_message_for_a_forward() -> None:
    text = (
        "Corrected form attached.\n\n-----Original Message-----\n"
        "From: Rowe, Graeme <g.rowe@example.org>\nSent: 12 January 2026 14:19\nSubject: Referral\n"
    )
    assert inline_forward_sender("RE: Referral", text) is None


def test_it_takes_the_innermost_header_block_of_a_forward_of_a_forward() -> None:
    block = "From: {0} <{0}>\nSent: Monday\nTo: x@example.org\nSubject: Referral\n\n"
    text = (
        "FYI\n" + block.format("middle@example.org") + "see\n" + block.format("first@example.org")
    )
    assert inline_forward_sender("FW: FW: Referral", text) == "first@example.org"


def test_it_reads_a_gmail_forward_marker_without_a_fw_subject() -> None:
    text = (
        "---------- Forwarded message ---------\n"
        "From: Sam <s@example.org>\nDate: Thu\nSubject: R\nTo: <t@example.org>\n"
    )
    assert inline_forward_sender("Referral", text) == "s@example.org"


# --- never raising -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff" * 100,
        b"Subject: x",
        b"Content-Type: multipart/mixed\n\n--\n--\n",
        b"\n\n\n",
    ],
)
def test_it_never_raises_on_garbage(raw: bytes) -> None:
    parsed = parse(raw)
    assert isinstance(parsed.attachments, list)


def test_it_gives_only_the_headers_of_a_message_over_the_size_limit() -> None:
    raw = build.gmail([("Form.pdf", PDF * 100)], subject="Big one")
    parsed = parse(raw, Limits(max_message_bytes=1000))
    assert parsed.subject == "Big one"
    assert parsed.attachments == []
    assert Reason.TOO_LARGE.value in parsed.defects


def test_it_stops_at_hostile_mime_nesting() -> None:
    depth = 200
    head = "".join(
        f'--b{i}\nContent-Type: multipart/mixed; boundary="b{i + 1}"\n\n' for i in range(depth)
    )
    raw = f'From: a@example.org\nContent-Type: multipart/mixed; boundary="b0"\n\n{head}'
    parsed = parse(build.raw_message(raw.encode()))
    assert "mime_nesting_too_deep" in parsed.defects


def test_it_strips_tags_but_keeps_lines_in_html_to_text() -> None:
    assert html_to_text("<div>One<br>Two</div><script>x()</script>") == "One\nTwo"


@pytest.mark.parametrize(
    ("header", "defect"),
    [
        (b"From: Sam <sam@example.org", "InvalidHeaderDefect"),
        (b"Date: yesterday", "InvalidDateDefect"),
        (b"From: sam@", "header_unparseable:from"),
    ],
)
def test_it_records_what_is_wrong_with_a_header_people_rely_on(header: bytes, defect: str) -> None:
    assert defect in parse(build.raw_message(header + b"\n\nbody")).defects


def test_it_records_the_defects_of_nested_parts() -> None:
    raw = build.raw_message(
        b'From: a@example.org\nContent-Type: multipart/mixed; boundary="outer"\n\n'
        b'--outer\nContent-Type: multipart/alternative; boundary="lost"\n\nno boundary here\n'
        b"--outer--\n"
    )
    assert "StartBoundaryNotFoundDefect" in parse(raw).defects


def test_it_refuses_a_flood_of_parts_before_building_them() -> None:
    parts = b"".join(b"--b\nContent-Type: text/plain\n\nx\n" for _ in range(5000))
    head = b'From: a@example.org\nContent-Type: multipart/mixed; boundary="b"\n\n'
    raw = head + parts + b"--b--\n"
    parsed = parse(build.raw_message(raw), Limits(max_parts=50))
    assert parsed.from_addr == "a@example.org"
    assert parsed.attachments == []
    assert Reason.TOO_MANY_PARTS.value in parsed.defects


FILENAME_TEXT = (
    st.text(
        alphabet=st.characters(
            whitelist_categories=("L", "N"), whitelist_characters=" -_()&'+,–’é"
        ),
        min_size=1,
        max_size=90,
    )
    .map(lambda s: s.strip(" .") + ".pdf")
    .filter(lambda name: name != ".pdf")
)


@settings(max_examples=60, deadline=None)
@given(name=FILENAME_TEXT)
def test_it_gives_back_any_file_name_a_standard_client_encoded(name: str) -> None:
    msg = EmailMessage()
    msg["From"] = "a@example.org"
    msg.set_content("see attached")
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename=name)
    assert parse(msg.as_bytes()).attachments[0].filename == name


@settings(max_examples=40, deadline=None)
@given(name=FILENAME_TEXT)
def test_it_gives_back_any_file_name_outlook_encoded_as_rfc2047(name: str) -> None:
    parsed = parse(build.outlook([(name, PDF)], encoded_names=True))
    assert parsed.attachments[0].filename == name


def test_it_reads_the_headers_of_a_message_saved_with_a_byte_order_mark():
    raw = b"\xef\xbb\xbfFrom: a@example.org\r\nSubject: Hello\r\n\r\nBody\r\n"
    parsed = parse_message(raw, Limits())
    assert parsed.from_addr == "a@example.org" and parsed.subject == "Hello"
