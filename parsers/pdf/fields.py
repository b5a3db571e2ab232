"""A fillable form read from its fields, with no page laid out (issue 10).

Laying a page out (`parsers.pdf.layout`, `parsers.pdf.table`) is what a
flattened form needs; a fillable form whose fields carry it
(`parsers.pdf.acroform.fields_carry_the_form`: every question a tooltip,
every option named in words) needs only:

* its fields' questions and answers (pypdf, `parsers.pdf.acroform`);
* the printed text beside each tick box, the section headings and the
  title, which pdfium gives as text runs, a line or a label each, with their
  boxes, fonts and sizes (`parsers.pdf.pdfium.text_runs`).  A run stands in
  for a word: `read_acroform` finds a box's printed label, and a heading is
  found by `parsers.pdf.table`'s rules (text in a dark band, or numbered and
  bold, or larger than the page's body text; never the title, nor a label
  level with a field).

The document's running text is its title only: the fields are the form.

Example::

    doc = Document(kind="pdf", filename="referral.pdf", pages=3)
    if read_fields_only(doc, data, pypdf.PdfReader(io.BytesIO(data)), 30):
        doc.notes  # -> ["acroform", "fields_only"]
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

import pypdf

from parsers.document import Document, FlowLine
from parsers.pdf.acroform import fields_carry_the_form, read_acroform, widget_bands
from parsers.pdf.layout import Box, PageLayout, TextLine, Word, fold
from parsers.pdf.pdfium import TextRuns, first_lines, open_document, text_runs
from parsers.pdf.table import Heading, is_heading

_TITLE_LINES = 3  # as `parsers.pdf.table` takes a form's title


def read_fields_only(doc: Document, data: bytes, reader: pypdf.PdfReader, max_pages: int) -> bool:
    """Read a fillable form whose fields carry it (`fields_carry_the_form`)
    without laying its pages out: the questions and answers from the fields;
    the printed option labels, the section headings and the title from the
    text pdfium finds on each page, a line a text operator (`_run_pages`).
    False (``doc`` untouched) when the fields do not carry the form."""
    if not fields_carry_the_form(reader):
        return False
    beside = widget_bands(reader)
    pdf = open_document(data)
    try:
        doc.title = first_lines(pdf, _TITLE_LINES)
        runs = text_runs(pdf, min(len(reader.pages), max_pages))
    finally:
        pdf.close()
    pages = _run_pages(runs)
    doc.entries = read_acroform(reader, pages, _headings(pages, runs, beside, set(doc.title)))
    doc.flow = [FlowLine(text, heading=True, source="page 1") for text in doc.title]
    doc.notes.extend(["acroform", "fields_only"])
    return True


def _run_pages(found: list[TextRuns]) -> list[PageLayout]:
    """Pages whose words are pdfium's text runs (no tables, no drawn boxes)."""
    pages = []
    for number, page in enumerate(found, start=1):
        words = [_run_word(text, box) for text, box in page.runs]
        sizes = [round(w.size, 1) for w in words]
        body = statistics.mode(sizes) if sizes else 0.0
        pages.append(PageLayout(number, page.width, page.height, words, body_size=body))
    return pages


def _headings(
    pages: list[PageLayout],
    runs: list[TextRuns],
    beside: Callable[[PageLayout, TextLine], bool],
    title: set[str],
) -> list[Heading]:
    """Section headings, as `parsers.pdf.table` finds them: text in a dark
    band, or a line numbered and bold or larger than the page's body text
    (`is_heading`); never the title, nor a label level with a field."""
    found = []
    for page, drawn in zip(pages, runs, strict=True):
        for word in page.words:
            line = TextLine([word])
            text = fold(line.text)
            if page.number == 1 and text in title:
                continue
            banded = any(
                Box(b["x0"], b["top"], b["x1"], b["bottom"]).contains(word.box.cx, word.box.cy)
                for b in drawn.dark
            )
            if (banded or is_heading(line, page.body_size)) and not beside(page, line):
                found.append(Heading(page.number, line.box.top, text))
    return sorted(found, key=lambda h: (h.page, h.top))


def _run_word(text: str, box: dict[str, Any]) -> Word:
    area = Box(box["x0"], box["top"], box["x1"], box["bottom"])
    return Word(fold(text), area, str(box["fontname"]), float(box["size"]))
