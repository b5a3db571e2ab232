"""parsers.docx against hostile and broken files: the right reason code, fast, never a crash."""

from __future__ import annotations

import contextlib
import io
import random
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.docx.read import OLE2_MAGIC, read_docx
from parsers.errors import ParseError, Reason
from parsers.limits import Limits
from parsers.schema import load_schemas
from tests.builders.docx_builder import (
    cell,
    docx_from_body,
    filled_docx,
    para,
    random_answers,
    run,
    table,
)
from tests.builders.examples import example_docx

SCHEMA = load_schemas(Path(__file__).resolve().parents[2] / "config" / "forms")["cspr_referral"]
FORM = filled_docx(SCHEMA, random_answers(SCHEMA, 1), "typed")
XXE = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    b"<w:body><w:p><w:r><w:t>&xxe;</w:t></w:r></w:p></w:body></w:document>"
)


def reason(data: bytes, limits: Limits | None = None) -> Reason:
    started = time.monotonic()
    with pytest.raises(ParseError) as caught:
        read_docx(data, "hostile.docx", limits or Limits())
    assert time.monotonic() - started < 2.0, "a refusal must be fast"
    return caught.value.reason


def rezip(data: bytes, replace: dict[str, bytes]) -> bytes:
    """The same package with some members' bytes replaced or added."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            body = replace.pop(info.filename, None)
            target.writestr(info, body if body is not None else source.read(info))
        for name, body in replace.items():
            target.writestr(name, body, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def test_it_refuses_the_billion_laughs_example_without_expanding_it() -> None:
    assert reason(example_docx("billion-laughs-docx")) == Reason.FORBIDDEN_XML


def test_it_calls_the_truncated_example_corrupt() -> None:
    assert reason(example_docx("truncated-docx")) == Reason.CORRUPT


def test_it_refuses_an_external_entity() -> None:
    assert reason(rezip(FORM, {"word/document.xml": XXE})) == Reason.FORBIDDEN_XML


def test_it_refuses_a_dtd_in_a_part_other_than_the_document() -> None:
    styles = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><w:styles/>'
    assert reason(rezip(FORM, {"word/styles.xml": styles})) == Reason.FORBIDDEN_XML


def test_it_checks_both_members_when_two_share_a_name() -> None:
    with zipfile.ZipFile(io.BytesIO(FORM)) as zf:
        good = zf.read("word/document.xml")
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(FORM)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info, source.read(info))
        with pytest.warns(UserWarning, match="Duplicate name"):
            target.writestr("word/document.xml", XXE)
            target.writestr("word/document.xml", good)
    assert reason(out.getvalue()) == Reason.FORBIDDEN_XML


def test_it_refuses_a_dtd_hidden_in_utf16() -> None:
    part = XXE.replace(b"UTF-8", b"UTF-16").decode("utf-8").encode("utf-16")
    assert reason(rezip(FORM, {"word/document.xml": part})) == Reason.FORBIDDEN_XML


def test_it_refuses_an_xml_part_in_an_encoding_it_did_not_search() -> None:
    part = b'<?xml version="1.0" encoding="UTF-7"?><w:document/>'
    assert reason(rezip(FORM, {"word/document.xml": part})) == Reason.FORBIDDEN_XML


def test_it_refuses_a_zip_bomb_inside_the_package() -> None:
    bomb = rezip(FORM, {"word/media/image1.png": b"\0" * 30_000_000})
    assert reason(bomb) == Reason.COMPRESSION_RATIO


def test_it_refuses_a_package_that_unpacks_past_the_limit() -> None:
    assert reason(FORM, Limits(max_unpacked_bytes=20_000)) == Reason.UNPACKED_TOO_LARGE


def test_it_calls_a_password_protected_word_file_encrypted() -> None:
    # MS-OFFCRYPTO: an OLE2 compound file holding an "EncryptedPackage" stream.
    fake = OLE2_MAGIC + bytes(504) + "EncryptionInfo".encode("utf-16-le") + bytes(50)
    fake += "EncryptedPackage".encode("utf-16-le") + bytes(2000)
    assert reason(fake) == Reason.ENCRYPTED


def test_it_calls_a_form_encrypted_by_msoffcrypto_encrypted() -> None:
    ooxml = pytest.importorskip("msoffcrypto.format.ooxml")
    out = io.BytesIO()
    ooxml.OOXMLFile(io.BytesIO(FORM)).encrypt("Referral2026", out)
    assert reason(out.getvalue()) == Reason.ENCRYPTED


def test_it_calls_a_legacy_doc_unsupported() -> None:
    legacy = OLE2_MAGIC + bytes(504) + "WordDocument".encode("utf-16-le") + bytes(4000)
    assert reason(legacy) == Reason.UNSUPPORTED_FORMAT


def test_it_calls_a_pdf_named_docx_unsupported() -> None:
    assert reason(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n") == Reason.UNSUPPORTED_FORMAT


def test_it_calls_word_2003_xml_unsupported() -> None:
    assert reason(b'<?xml version="1.0"?><w:wordDocument/>') == Reason.UNSUPPORTED_FORMAT


def test_it_calls_a_strict_open_xml_package_unsupported() -> None:
    with zipfile.ZipFile(io.BytesIO(FORM)) as zf:
        rels = zf.read("_rels/.rels")
    strict = rels.replace(
        b"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument",
        b"http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument",
    )
    assert reason(rezip(FORM, {"_rels/.rels": strict})) == Reason.UNSUPPORTED_FORMAT


def test_it_calls_random_bytes_corrupt() -> None:
    assert reason(random.Random(5).randbytes(5000)) == Reason.CORRUPT


def test_it_calls_a_zip_that_is_not_an_office_package_corrupt() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("notes.txt", "hello")
    assert reason(out.getvalue()) == Reason.CORRUPT


def test_it_calls_a_spreadsheet_unsupported() -> None:
    types = (
        b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        b'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
        b'package.relationships+xml"/><Override PartName="/xl/workbook.xml" ContentType="'
        b'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>'
    )
    rels = (
        b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
        b'2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
        b'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
        b"</Relationships>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("[Content_Types].xml", types)
        zf.writestr("_rels/.rels", rels)
        zf.writestr("xl/workbook.xml", b'<?xml version="1.0"?><workbook/>')
    assert reason(out.getvalue()) == Reason.UNSUPPORTED_FORMAT


def test_it_refuses_tables_nested_past_any_real_form() -> None:
    xml = para(run("core"))
    for _ in range(20):
        xml = table([cell(xml, 1000)], (1000,)) + "<w:p/>"
    assert reason(docx_from_body([xml])) == Reason.TOO_LARGE


def test_it_refuses_a_document_longer_than_any_form_before_parsing_it() -> None:
    rng = random.Random(3)
    paras = "".join(para(run(rng.randbytes(8).hex())) for _ in range(61_000))
    started = time.monotonic()
    assert reason(docx_from_body([paras])) == Reason.TOO_LARGE
    assert time.monotonic() - started < 1.5


def test_it_reads_a_twenty_page_form_well_inside_the_time_limit() -> None:
    rows = [
        cell(para(run(f"Question {i}")), 3000, fill="DCE6F1")
        + cell("".join(para(run(f"Answer line {j} of {i}.")) for j in range(4)), 6000)
        for i in range(60)
    ]
    data = docx_from_body([para(run("Part"), style="Heading2"), table(rows, (3000, 6000))] * 6)
    started = time.monotonic()
    doc = read_docx(data, "long.docx", Limits())
    assert len(doc.entries) == 360
    assert time.monotonic() - started < 3.0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(FORM) - 1), st.integers(0, 255)), max_size=6))
def test_it_only_ever_raises_parse_error_on_damaged_forms(flips: list[tuple[int, int]]) -> None:
    data = bytearray(FORM)
    for pos, value in flips:
        data[pos] = value
    with contextlib.suppress(ParseError):
        read_docx(bytes(data), "damaged.docx", Limits())


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=400))
def test_it_only_ever_raises_parse_error_on_damaged_document_xml(junk: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(FORM)) as zf:
        xml = zf.read("word/document.xml")
    cut = len(junk) * 37 % len(xml)
    with contextlib.suppress(ParseError):
        read_docx(rezip(FORM, {"word/document.xml": xml[:cut] + junk}), "d.docx", Limits())
