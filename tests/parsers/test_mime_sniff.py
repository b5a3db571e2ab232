"""sniff: what a file is, from its bytes, whatever it was called."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from parsers.mail import sniff
from tests.builders import mime_builder as build

CORPORA = Path(__file__).resolve().parents[3] / "shared" / "corpora"
FORMS = Path(__file__).resolve().parents[3] / "shared" / "forms"
needs_shared = pytest.mark.skipif(
    not (CORPORA.is_dir() and FORMS.is_dir()),
    reason="../shared/corpora and ../shared/forms missing",
)


def zip_of(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name in names:
            zf.writestr(name, b"<x/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"%PDF-1.7\n", sniff.PDF),
        (b"\r\n\r\ngateway junk\r\n%PDF-1.4\n", sniff.PDF),
        (b"\x78\x9f\x3e\x22\x01\x00", sniff.TNEF),
        (b"\x89PNG\r\n\x1a\n" + bytes(8), sniff.PNG),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", sniff.JPEG),
        (b"GIF89a\x01\x00", sniff.GIF),
        (b"II*\x00\x08\x00", sniff.TIFF),
        (b"\x00\x00\x00\x18ftypheic\x00\x00", sniff.HEIC),
        (b"{\\rtf1\\ansi", sniff.RTF),
        (b"7z\xbc\xaf\x27\x1c\x00\x04", sniff.SEVEN_ZIP),
        (b"Rar!\x1a\x07\x00", sniff.RAR),
        (b"<!DOCTYPE html><html><body>x", sniff.HTML),
        (b"Dear team, the form is attached.\n", sniff.TEXT),
        (b"From: a@example.org\nSubject: x\nDate: Mon\n\nbody", sniff.EML),
        (bytes(range(256)) * 4, sniff.UNKNOWN),
    ],
)
def test_it_recognises_files_by_their_first_bytes(data: bytes, expected: str) -> None:
    assert sniff.sniff(data) == expected


def test_it_does_not_look_for_pdf_past_the_first_kilobyte() -> None:
    assert sniff.sniff(b"x" * 2000 + b"%PDF-1.4") == sniff.TEXT


def test_it_tells_docx_from_other_office_packages_and_plain_zips() -> None:
    assert sniff.sniff(zip_of("[Content_Types].xml", "word/document.xml")) == sniff.DOCX
    assert sniff.sniff(zip_of("[Content_Types].xml", "xl/workbook.xml")) == sniff.XLSX
    assert sniff.sniff(zip_of("[Content_Types].xml", "ppt/presentation.xml")) == sniff.PPTX
    assert sniff.sniff(zip_of("Form.pdf")) == sniff.ZIP


@needs_shared
def test_it_still_calls_a_truncated_docx_a_docx() -> None:
    data = (FORMS / "cspr-referral-form.docx").read_bytes()
    assert sniff.sniff(data[: len(data) // 2]) == sniff.DOCX


@needs_shared
def test_it_recognises_an_outlook_msg_by_its_streams() -> None:
    data = (CORPORA / "msgreader" / "SampleFiles" / "TxtSampleEmail.msg").read_bytes()
    assert sniff.sniff(data) == sniff.MSG


@needs_shared
def test_it_recognises_a_legacy_word_file_inside_a_tnef_sample() -> None:
    # duplicate_filename.tnef carries a Word 97 .doc (an OLE2 file with WordDocument).
    from tnefparse.tnef import TNEF

    data = (CORPORA / "tnefparse" / "examples" / "duplicate_filename.tnef").read_bytes()
    kinds = {sniff.sniff(a.data) for a in TNEF(data, do_checksum=False).attachments}
    assert sniff.DOC in kinds


def test_it_recognises_encrypted_ooxml_by_its_encrypted_package_stream() -> None:
    # A damaged OLE2 header: the directory names are still found as UTF-16LE.
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500) + "EncryptedPackage".encode("utf-16-le")
    assert sniff.sniff(data) == sniff.ENCRYPTED_OOXML


def test_it_says_an_attached_eml_is_a_message_even_when_sent_as_binary() -> None:
    raw = build.gmail([("Form.pdf", b"%PDF-1.4\n")])
    assert sniff.sniff(raw) == sniff.EML


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", sniff.UNKNOWN),
        (b"PK", sniff.ZIP),
        (b"PK\x03\x04" + bytes(40), sniff.ZIP),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", sniff.OLE),
    ],
)
def test_it_names_damaged_containers_by_their_magic_without_raising(
    data: bytes, expected: str
) -> None:
    assert sniff.sniff(data) == expected
