"""Unpacking containers: zip, attached messages, Outlook .msg, winmail.dat, limits."""

from __future__ import annotations

import base64
import io
import random
import zipfile
from pathlib import Path

import pytest

from parsers.errors import Reason
from parsers.limits import Limits
from parsers.mail import sniff
from parsers.mail.mime import ParsedMessage, parse_message
from parsers.mail.unpack import AttachmentPart
from tests.builders import mime_builder as build
from tests.builders.zips import mark_encrypted

CORPORA = Path(__file__).resolve().parents[3] / "shared" / "corpora"
needs_corpora = pytest.mark.skipif(not CORPORA.is_dir(), reason="../shared/corpora missing")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
DOCX = build.zip_bytes([("[Content_Types].xml", b"<Types/>"), ("word/document.xml", b"<w/>")])


def parse(raw: bytes, limits: Limits | None = None) -> ParsedMessage:
    return parse_message(raw, limits or Limits())


def paths(parsed: ParsedMessage) -> list[str]:
    return [a.path for a in parsed.attachments]


def by_path(parsed: ParsedMessage, path: str) -> AttachmentPart:
    return next(a for a in parsed.attachments if a.path == path)


def stored_zip(files: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        for name, data in files:
            zf.writestr(name, data)
    return buffer.getvalue()


# --- zip ---------------------------------------------------------------------------------


def test_it_lists_a_zip_then_its_members_with_their_paths() -> None:
    parsed = parse(build.zipped([("Form.pdf", PDF), ("Letter.docx", DOCX)]))
    assert paths(parsed) == ["Referral.zip", "Referral.zip/Form.pdf", "Referral.zip/Letter.docx"]
    container = parsed.attachments[0]
    assert container.container and not container.is_leaf
    assert [a.depth for a in parsed.attachments] == [1, 2, 2]
    assert by_path(parsed, "Referral.zip/Letter.docx").media_type == sniff.DOCX


def test_it_unpacks_a_zip_inside_a_zip() -> None:
    inner = build.zip_bytes([("Form.pdf", PDF)])
    parsed = parse(build.zipped([("Inner.zip", inner)], zip_name="Outer.zip"))
    assert paths(parsed) == ["Outer.zip", "Outer.zip/Inner.zip", "Outer.zip/Inner.zip/Form.pdf"]
    assert by_path(parsed, "Outer.zip/Inner.zip/Form.pdf").data == PDF


def test_it_refuses_a_zip_bomb_by_its_compression_ratio() -> None:
    bomb = build.zip_bytes([("Form.pdf", b"\x00" * (8 * 1024 * 1024))])
    parsed = parse(build.zipped([("bomb.zip", bomb)], zip_name="Referral.zip"))
    assert by_path(parsed, "Referral.zip/bomb.zip").error is Reason.COMPRESSION_RATIO
    assert "Referral.zip/bomb.zip/Form.pdf" not in paths(parsed)


def test_it_marks_a_password_protected_zip_as_encrypted() -> None:
    locked = mark_encrypted(build.zip_bytes([("Form.pdf", PDF)]))
    parsed = parse(build.outlook([("Referral.zip", locked)]))
    assert by_path(parsed, "Referral.zip").error is Reason.ENCRYPTED


def test_it_marks_a_damaged_zip_as_corrupt() -> None:
    damaged = build.zip_bytes([("Form.pdf", PDF)])[:30]
    parsed = parse(build.outlook([("Referral.zip", damaged)]))
    assert by_path(parsed, "Referral.zip").error is Reason.CORRUPT


def test_it_decodes_a_utf8_member_name_written_without_the_utf8_flag() -> None:
    # zipfile sets the flag itself for non-ASCII names: write ASCII, then swap the bytes.
    utf8 = "Référral.pdf".encode()
    placeholder = b"R" + b"X" * (len(utf8) - 9) + b"rral.pdf"
    written = build.zip_bytes([(placeholder.decode(), PDF)])
    parsed = parse(build.outlook([("Referral.zip", written.replace(placeholder, utf8))]))
    assert paths(parsed)[1] == "Referral.zip/Référral.pdf"


def test_it_stops_unpacking_past_the_depth_limit() -> None:
    nested = build.zip_bytes([("Form.pdf", PDF)])
    for level in range(4):
        nested = build.zip_bytes([(f"level{level}.zip", nested)])
    parsed = parse(build.outlook([("Referral.zip", nested)]), Limits(max_depth=3))
    deepest = parsed.attachments[-1]
    assert deepest.error is Reason.TOO_DEEP
    assert deepest.depth == 3
    assert not any(a.filename == "Form.pdf" for a in parsed.attachments)


def test_it_stops_adding_parts_past_the_parts_limit() -> None:
    many = build.zip_bytes([(f"page{i}.pdf", PDF) for i in range(30)])
    parsed = parse(build.outlook([("Referral.zip", many)]), Limits(max_parts=10))
    assert len(parsed.attachments) < 10
    assert Reason.TOO_MANY_PARTS.value in parsed.defects


def test_it_bounds_the_bytes_unpacked_from_all_archives_of_a_message_together() -> None:
    noise = random.Random(5).randbytes(800)  # incompressible: no ratio limit applies
    inner = [(f"inner{i}.zip", stored_zip([("page.bin", noise)])) for i in range(3)]
    outer = stored_zip(inner)
    parsed = parse(build.outlook([("Referral.zip", outer)]), Limits(max_unpacked_bytes=3000))
    refused = [a for a in parsed.attachments if a.error is Reason.UNPACKED_TOO_LARGE]
    assert refused and all(a.data == b"" for a in refused)
    assert sum(a.size for a in parsed.attachments if a.depth > 1) <= 3000


def test_it_refuses_to_unpack_7z_and_rar() -> None:
    parsed = parse(build.outlook([("a.7z", b"7z\xbc\xaf\x27\x1c" + bytes(30))]))
    assert parsed.attachments[0].error is Reason.UNSUPPORTED_FORMAT


def test_it_marks_an_attachment_over_the_size_limit_and_does_not_unpack_it() -> None:
    parsed = parse(build.zipped([("Form.pdf", PDF)]), Limits(max_attachment_bytes=50))
    assert parsed.attachments[0].error is Reason.TOO_LARGE
    assert len(parsed.attachments) == 1


# --- attached messages ------------------------------------------------------------------------


def test_it_unpacks_an_attached_message_but_not_its_covering_note() -> None:
    parsed = parse(build.forwarded_as_attachment(build.outlook([("Form.pdf", PDF)])))
    assert paths(parsed) == ["Referral.eml", "Referral.eml/Form.pdf"]
    assert parsed.attachments[0].media_type == sniff.EML


def test_it_unpacks_an_eml_sent_as_a_binary_attachment() -> None:
    inner = build.gmail([("Form.pdf", PDF)])
    parsed = parse(build.outlook([("CSPR referral.eml", inner)]))
    assert paths(parsed) == ["CSPR referral.eml", "CSPR referral.eml/Form.pdf"]
    assert parsed.forwarded_from == build.SENDER[1]


def test_it_unpacks_an_attached_message_sent_base64_against_rfc2046() -> None:
    inner = base64.encodebytes(build.gmail([("Form.pdf", PDF)]))
    raw = build.raw_message(
        b'From: a@example.org\nContent-Type: multipart/mixed; boundary="zz"\n\n'
        b"--zz\nContent-Type: text/plain\n\nsee attached\n"
        b"--zz\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n"
        b'Content-Disposition: attachment; filename="Referral.eml"\n\n' + inner + b"--zz--\n"
    )
    assert paths(parse(raw)) == ["Referral.eml", "Referral.eml/Form.pdf"]


def test_it_names_an_attached_message_after_its_subject_when_it_has_no_name() -> None:
    raw = build.forwarded_as_attachment(build.outlook([("Form.pdf", PDF)], subject="CSPR: T.P."))
    raw = raw.replace(b'Content-Disposition: attachment; filename="Referral.eml"\n', b"")
    assert paths(parse(raw))[0] == "CSPR T.P.eml"


# --- Outlook ------------------------------------------------------------------------------------


def test_it_unpacks_the_files_of_a_winmail_dat() -> None:
    parsed = parse(build.outlook_tnef([("Référral form.docx", DOCX), ("Form.pdf", PDF)]))
    assert paths(parsed) == [
        "winmail.dat",
        "winmail.dat/Référral form.docx",
        "winmail.dat/Form.pdf",
    ]
    assert by_path(parsed, "winmail.dat/Form.pdf").data == PDF


def test_it_marks_a_broken_winmail_dat_as_corrupt_or_empty_without_raising() -> None:
    blob = build.tnef([("Form.pdf", PDF)])
    parsed = parse(build.outlook([("winmail.dat", blob[:40])]))
    assert parsed.attachments[0].container
    assert parsed.attachments[0].error in (None, Reason.CORRUPT)


@needs_corpora
def test_it_reads_a_real_tnef_with_an_umlaut_name() -> None:
    blob = (CORPORA / "tnefparse" / "examples" / "umlaut.tnef").read_bytes()
    parsed = parse(build.outlook([("winmail.dat", blob)]))
    assert "winmail.dat/UmlautAnhang-äüö.txt" in paths(parsed)


@needs_corpora
def test_it_unpacks_a_message_embedded_in_a_winmail_dat() -> None:
    blob = (CORPORA / "mimekit" / "tnef" / "christmas.tnef").read_bytes()
    parsed = parse(build.outlook_tnef_blob(blob))
    nested = [a for a in parsed.attachments if a.depth == 3]
    assert [a.media_type for a in nested] == [sniff.JPEG]
    assert nested[0].path.startswith("winmail.dat/Untitled Attachment/")


@needs_corpora
def test_it_reads_a_winmail_dat_with_bad_checksums() -> None:
    blob = (CORPORA / "tnefparse" / "examples" / "bad_checksum.tnef").read_bytes()
    parsed = parse(build.outlook_tnef_blob(blob))
    assert [a.path for a in parsed.attachments] == ["winmail.dat", "winmail.dat/image001.png"]


@needs_corpora
def test_it_unpacks_an_outlook_msg_and_the_msg_inside_it() -> None:
    data = CORPORA / "msgreader" / "SampleFiles" / "EmailWithInnerMailAndAttachments.msg"
    parsed = parse(build.outlook_with_msg(data.read_bytes(), "Referral.msg"))
    assert paths(parsed) == [
        "Referral.msg",
        "Referral.msg/OUTER 1.pdf",
        "Referral.msg/OUTER 2.pdf",
        "Referral.msg/Inner mail.msg",
        "Referral.msg/Inner mail.msg/INNER 1.pdf",
        "Referral.msg/Inner mail.msg/INNER 2.pdf",
    ]
    assert by_path(parsed, "Referral.msg/Inner mail.msg/INNER 1.pdf").media_type == sniff.PDF
    assert by_path(parsed, "Referral.msg/Inner mail.msg/INNER 1.pdf").depth == 3


@needs_corpora
def test_it_lists_no_attachment_for_the_body_of_an_msg() -> None:
    data = (CORPORA / "msgreader" / "SampleFiles" / "HtmlSampleEmail.msg").read_bytes()
    parsed = parse(build.outlook_with_msg(data))
    assert paths(parsed) == ["Referral.msg"]
    assert parsed.attachments[0].error is None


def test_it_marks_a_damaged_msg_as_corrupt() -> None:
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600) + "__substg1.0_".encode("utf-16-le")
    parsed = parse(build.outlook_with_msg(data))
    assert parsed.attachments[0].error is Reason.CORRUPT


def test_it_keeps_the_readable_members_of_a_zip_with_one_locked_member() -> None:
    data = bytearray(build.zip_bytes([("Locked.docx", DOCX), ("Form.pdf", PDF)]))
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        data[data.find(signature) + offset] |= 0x01  # only the first member's headers
    parsed = parse(build.outlook([("Referral.zip", bytes(data))]))
    assert by_path(parsed, "Referral.zip/Form.pdf").error is None
    assert by_path(parsed, "Referral.zip/Locked.docx").error is Reason.ENCRYPTED
