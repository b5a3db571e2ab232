"""PDF attachments -> `Document`.

`read_pdf` is the one entry point.  It reads three kinds of PDF form:

* a fillable form with its fields filled in (AcroForm): the answers are the
  field values, read with pypdf (`parsers.pdf.acroform`).  When the fields
  carry the form (a tooltip for every question, options named in words) no
  page is laid out: the labels, headings and title come from pdfium's text
  runs (`parsers.pdf.fields`, issue 10); otherwise the pages are laid out
  for the labels and headings the fields lack;
* a flattened form (saved as PDF from Word, printed, "Microsoft Print to
  PDF"): the answers are rebuilt from the drawn tables (`parsers.pdf.table`)
  or, with no ruling, from the text columns (`parsers.pdf.columns`);
* answers typed over a PDF with a viewer's text tool (FreeText
  annotations, `parsers.pdf.typed`), read in place like printed text;
* anything else with text (a letter): its lines, as `FlowLine`s.

A page is laid out from pdfium's characters and drawing, described as
pdfplumber describes them (`parsers.pdf.pdfium`), by pdfplumber's own word
grouping and table finder and our rules (`parsers.pdf.layout`): the same
layout as pdfplumber's, without pdfminer's 0.1-0.3 s a page.

Every failure is a `ParseError`: ``encrypted`` (an open password we do not
have; a file protected only by an owner password is read), ``corrupt`` (not
a PDF, truncated past repair), ``too_many_pages`` (over ``Limits.max_pages``,
checked before any page is laid out), ``unpacked_too_large`` (a page whose
content inflates past 16 MB, counted before any reader holds it) and
``no_text_layer`` (pictures of
pages, or glyphs with no Unicode: a scan is never guessed at).  Only the
first 30 pages are laid out (noted as ``read_first_30_pages``): a form is
never longer, and a long chronology beside it must not eat the time limit.

Example::

    doc = read_pdf(data, "referral.pdf", Limits())
    doc.entries[0].question  # -> "Type of review requested"
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pypdf
import structlog
from pypdf import PasswordType

from parsers.document import UNCHECKED, Document, Entry
from parsers.errors import ParseError, Reason
from parsers.limits import Limits
from parsers.pdf.acroform import has_answers, has_form_widgets, read_acroform, widget_bands
from parsers.pdf.content import content_size
from parsers.pdf.fields import read_fields_only
from parsers.pdf.fonts import Widths, fractional_widths
from parsers.pdf.layout import Box, PageLayout, Word, read_page
from parsers.pdf.pdfium import open_document, read_pages
from parsers.pdf.table import read_tables
from parsers.pdf.typed import add_typed_answers, typed_words, widget_boxes

log = structlog.get_logger(__name__)

# pypdf and pdfminer report every oddity of a damaged file through logging;
# a hostile attachment must not flood the service's log.
for _noisy in ("pypdf", "pdfminer"):
    logging.getLogger(_noisy).setLevel(logging.ERROR)

_HEADER_WINDOW = 1024  # readers accept "%PDF-" anywhere in the first KiB
_TRAILER_WINDOW = 4096  # "%%EOF" ends every complete file (ISO 32000-1 §7.5.5)
_MIN_TEXT_CHARS = 20  # fewer letters than this on image pages: a scan
# No form runs to 30 pages; a long chronology attached beside the form is
# read only this far.
_LAYOUT_PAGES = 30
# A page of a form is a few hundred kilobytes of drawing at most; pdfium holds
# a page's content whole, so more than this is refused before it is read.
_MAX_PAGE_CONTENT = 16 << 20
_CID = re.compile(r"\(cid:\d+\)")


def read_pdf(data: bytes, filename: str, limits: Limits) -> Document:
    """Read a PDF attachment.  Raises `ParseError` (see the module docstring)."""
    if b"%PDF-" not in data[:_HEADER_WINDOW]:
        raise ParseError(Reason.CORRUPT, "no PDF header")
    if b"%%EOF" not in data[-_TRAILER_WINDOW:]:
        # Cut short in transit: whatever pages survive are not the whole
        # form, and reading half a form would send the referrer a wrong list
        # of missing answers.
        raise ParseError(Reason.CORRUPT, "truncated: no end-of-file marker")
    reader = _open_pypdf(data)
    page_count = _page_count(reader, limits)
    doc = Document(kind="pdf", filename=filename, pages=page_count)
    with _library_errors("acroform"):
        fillable = has_form_widgets(reader)
        typed = typed_words(reader)
        # Typed over a fillable form that was left empty: read the page.
        use_fields = fillable and (not typed or has_answers(reader))
        boxes = widget_boxes(reader) if fillable else {}
    if use_fields and not typed:
        with _library_errors("fields"):
            fields_only = read_fields_only(doc, data, reader, _LAYOUT_PAGES)
        if fields_only:
            log.info("pdf_read", pages=page_count, entries=len(doc.entries), notes=doc.notes)
            return doc
    pages = _layout(data, min(page_count, _LAYOUT_PAGES), reader)
    if page_count > _LAYOUT_PAGES:
        doc.notes.append(f"read_first_{_LAYOUT_PAGES}_pages")
    if use_fields:
        _read_fillable(doc, reader, pages)
        if typed:
            _fill_in_typed(doc, pages, typed, boxes)
    else:
        if typed:
            add_typed_answers(pages, typed, boxes)
            doc.notes.append("typed_annotations")
        _require_text(pages)
        reading = read_tables(pages)
        doc.title, doc.entries, doc.flow = reading.title, reading.entries, reading.flow
        doc.notes.append("flattened" if doc.entries else "text_only")
    log.info("pdf_read", pages=page_count, entries=len(doc.entries), notes=doc.notes)
    return doc


def _read_fillable(doc: Document, reader: pypdf.PdfReader, pages: list[PageLayout]) -> None:
    """Answers from the fields; title, headings and running text from the pages.

    A flattened document that kept a few fields (a signature box, an "office
    use" reference) is read from its tables, with those fields added.
    """
    with _library_errors("acroform"):
        beside = widget_bands(reader)
    reading = read_tables(pages, beside)
    with _library_errors("acroform"):
        fields = read_acroform(reader, pages, reading.headings)
    doc.title, doc.flow = reading.title, reading.flow
    answered = [e for e in reading.entries if e.answer]
    if len(fields) >= len(reading.entries) / 2 or not answered:
        doc.entries = fields
        doc.notes.append("acroform")
        return
    asked = {e.question.casefold() for e in reading.entries}
    doc.entries = reading.entries + [e for e in fields if e.question.casefold() not in asked]
    doc.notes.extend(["flattened", "some_fields"])


def _fill_in_typed(
    doc: Document,
    pages: list[PageLayout],
    typed: dict[int, list[Word]],
    boxes: dict[int, list[tuple[Box, bool]]],
) -> None:
    """Fields left empty whose answer was typed over the page instead."""
    add_typed_answers(pages, typed, boxes)
    over = {(e.section, e.question.casefold()): e for e in read_tables(pages).entries}
    for index, entry in enumerate(doc.entries):
        if not _unanswered(entry):
            continue
        found = over.get((entry.section, entry.question.casefold()))
        if found is not None and not _unanswered(found):
            doc.entries[index] = replace(entry, answer=found.answer, source=found.source)
    doc.notes.append("typed_annotations")


def _unanswered(entry: Entry) -> bool:
    """No lines, or only boxes left empty."""
    return all(line.text.startswith(UNCHECKED) for line in entry.answer)


def _open_pypdf(data: bytes) -> pypdf.PdfReader:
    """Open with pypdf; an empty user password is tried, as every viewer does."""
    with _library_errors("open"):
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            raise ParseError(Reason.ENCRYPTED, "needs a password to open")
    return reader


def _page_count(reader: pypdf.PdfReader, limits: Limits) -> int:
    with _library_errors("pages"):
        count = len(reader.pages)
    if count > limits.max_pages:
        raise ParseError(Reason.TOO_MANY_PAGES, f"{count} pages")
    if count == 0:
        raise ParseError(Reason.CORRUPT, "no pages")
    return count


def _layout(data: bytes, page_count: int, reader: pypdf.PdfReader) -> list[PageLayout]:
    """Every page laid out once; a page a viewer turned (``/Rotate``) so its
    text runs sideways is laid out again as it was written.

    The characters and drawing come from pdfium (`parsers.pdf.pdfium`), in
    pdfplumber's terms; pdfplumber's own word grouping and table finder lay
    them out (`parsers.pdf.layout`).  Page contents that would inflate past
    `_MAX_PAGE_CONTENT` are refused first (`_check_content`): pdfium holds
    a page's content whole.
    """
    _check_content(reader, page_count)
    with _library_errors("layout"):
        doc = open_document(data)
    try:
        with _library_errors("fonts"):
            widths = [fractional_widths(page) for page in reader.pages[:page_count]]
        pages = _layout_pages(doc, page_count, widths, rotated=True)
        if any(p.sideways for p in pages):
            upright = _layout_pages(doc, page_count, widths, rotated=False)
            pages = [
                u if p.sideways and not u.sideways else p
                for p, u in zip(pages, upright, strict=False)
            ]
    finally:
        doc.close()
    return pages


def _layout_pages(
    doc: Any, page_count: int, widths: list[Widths], rotated: bool
) -> list[PageLayout]:
    with _library_errors("layout"):
        read = read_pages(doc, page_count, rotated, widths.__getitem__)
        return [read_page(page, number) for number, page in enumerate(read, start=1)]


def _check_content(reader: pypdf.PdfReader, page_count: int) -> None:
    """Refuse a page whose content streams (its own and its forms') inflate past
    `_MAX_PAGE_CONTENT`, counted while inflating, never held: one such page
    would make any reader hold a gigabyte (issue 10's pathological PDF)."""
    with _library_errors("content"):
        for number, page in enumerate(reader.pages[:page_count], start=1):
            size = content_size(page, _MAX_PAGE_CONTENT)
            if size > _MAX_PAGE_CONTENT:
                raise ParseError(
                    Reason.UNPACKED_TOO_LARGE,
                    f"page {number}'s content inflates past {_MAX_PAGE_CONTENT >> 20} MB",
                )


def _require_text(pages: list[PageLayout]) -> None:
    """Refuse pictures of pages, and text whose letters cannot be decoded
    (glyphs with no Unicode, which pdfminer writes as ``(cid:12)``)."""
    texts = [w.text for p in pages for w in p.words if w.mark is None]
    letters = sum(len(t) for t in texts)
    undecoded = sum(len(m) for t in texts for m in _CID.findall(t))
    images = sum(p.image_count for p in pages)
    if letters == 0 or (letters < _MIN_TEXT_CHARS and images > 0):
        raise ParseError(Reason.NO_TEXT_LAYER, f"{images} images, {letters} letters")
    if undecoded > letters / 2:
        raise ParseError(Reason.NO_TEXT_LAYER, "the text cannot be decoded")


@contextmanager
def _library_errors(stage: str) -> Iterator[None]:
    """Failures inside pypdf/pdfminer on a damaged file -> ``corrupt``.

    Both libraries raise many exception types (their own, and ValueError,
    KeyError, struct and zlib errors...) on bad input; anything they raise
    here is the file's fault.  Our own `ParseError`s pass through.
    """
    try:
        yield
    except ParseError:
        raise
    except RecursionError as exc:
        log.warning("pdf_unreadable", stage=stage, error="RecursionError")
        raise ParseError(Reason.CORRUPT, f"{stage}: nesting too deep") from exc
    except Exception as exc:
        if _is_password_error(exc):
            raise ParseError(Reason.ENCRYPTED, "needs a password to open") from exc
        # The type only: a parser's message can quote bytes of the file, and
        # the file is a referral full of personal data.
        log.warning("pdf_unreadable", stage=stage, error=type(exc).__name__)
        raise ParseError(Reason.CORRUPT, f"{stage}: {type(exc).__name__}") from exc


def _is_password_error(exc: BaseException) -> bool:
    chain: list[Any] = [exc, exc.__cause__, exc.__context__, *getattr(exc, "args", ())]
    return any("Password" in type(e).__name__ for e in chain if e is not None)
