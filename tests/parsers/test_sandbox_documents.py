"""read_document's dispatch, and the real readers run through the sandbox pool."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from parsers.documents import is_document, read_document
from parsers.errors import ParseError, Reason
from parsers.limits import Limits
from parsers.mail import sniff
from parsers.mail.mime import parse_message
from parsers.mail.unpack import AttachmentPart
from parsers.sandbox import SandboxPool

FORMS = Path(__file__).resolve().parents[3] / "shared" / "forms"
needs_forms = pytest.mark.skipif(not FORMS.is_dir(), reason=f"no forms at {FORMS}")


def part_of(data: bytes, media_type: str | None = None, **changes: object) -> AttachmentPart:
    fields: dict[str, object] = {
        "filename": "file",
        "declared_type": "application/octet-stream",
        "media_type": media_type or sniff.sniff(data),
        "data": data,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "path": "file",
        "depth": 1,
    }
    fields.update(changes)
    return AttachmentPart(**fields)  # type: ignore[arg-type]


def reason_for(part: AttachmentPart, limits: Limits | None = None) -> Reason:
    with pytest.raises(ParseError) as caught:
        read_document(part, limits or Limits())
    return caught.value.reason


@pytest.mark.parametrize(
    "media_type",
    [sniff.DOC, sniff.XLSX, sniff.PPTX, sniff.RTF, sniff.PNG, sniff.HEIC, sniff.TEXT, sniff.ZIP],
)
def test_it_refuses_every_type_but_docx_and_pdf_as_unsupported(media_type: str) -> None:
    assert reason_for(part_of(b"x", media_type)) is Reason.UNSUPPORTED_FORMAT


def test_it_says_encrypted_for_a_password_protected_office_file() -> None:
    assert reason_for(part_of(b"x", sniff.ENCRYPTED_OOXML)) is Reason.ENCRYPTED


def test_it_refuses_a_document_over_the_attachment_size_limit() -> None:
    part = part_of(b"%PDF-1.4\n" + bytes(2000))
    assert reason_for(part, Limits(max_attachment_bytes=1000)) is Reason.TOO_LARGE


def test_it_passes_on_the_error_a_part_got_while_being_unpacked() -> None:
    part = part_of(b"", sniff.PDF, error=Reason.COMPRESSION_RATIO)
    assert reason_for(part) is Reason.COMPRESSION_RATIO
    assert not is_document(part)


def test_it_says_only_docx_and_pdf_leaves_are_documents() -> None:
    assert is_document(part_of(b"%PDF-1.4\n"))
    assert not is_document(part_of(b"x", sniff.PNG))
    assert not is_document(part_of(b"x", sniff.ZIP, container=True))


# --- the real readers in real workers ---------------------------------------------------


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    with SandboxPool(size=2) as sandbox:
        yield sandbox


def example_parts(name: str) -> list[AttachmentPart]:
    raw = (FORMS / "examples" / f"{name}.eml").read_bytes()
    return [p for p in parse_message(raw, Limits()).attachments if p.is_leaf]


@needs_forms
def test_it_reads_a_docx_and_a_pdf_form_in_the_workers(pool: SandboxPool) -> None:
    parts = [*example_parts("referral-incomplete"), *example_parts("referral-accepted")]
    results = pool.read_documents(parts, Limits(max_seconds=60))
    kinds = {r.document.kind for r in results if r.document}
    assert kinds == {"docx", "pdf"}
    assert all(len(r.document.entries) > 10 for r in results if r.document)


@needs_forms
@pytest.mark.parametrize(
    ("example", "reasons"),
    [
        ("truncated-docx", {Reason.CORRUPT}),
        ("billion-laughs-docx", {Reason.FORBIDDEN_XML, Reason.CORRUPT}),
        ("encrypted-pdf", {Reason.ENCRYPTED}),
    ],
)
def test_it_answers_for_the_hostile_example_attachments(
    pool: SandboxPool, example: str, reasons: set[Reason]
) -> None:
    [result] = pool.read_documents(example_parts(example), Limits(max_seconds=60))
    assert result.reason in reasons
