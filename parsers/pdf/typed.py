"""Answers typed over a PDF as annotations ("Add text", "Fill & Sign").

A referrer who does not find (or does not have) the form's fields types
with the viewer's text tool instead: Edge's "Add text", Preview's text box,
Acrobat's typewriter.  Each piece is a FreeText annotation (ISO 32000-1
§12.5.6.6) with its text in ``/Contents`` and its place in ``/Rect``; none
of it is in the page's own text.  `typed_words` turns those annotations
into `Word`s on the page layout, so the table reader finds them in the
answer cells like printed text.  `widget_boxes` gives the tick boxes of an
unfilled fillable form, so an ``X`` typed over one ticks it and a box left
alone reads as ``☐``.
"""

from __future__ import annotations

import re
from typing import Any

import pypdf
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

from parsers.document import CHECKED
from parsers.pdf.layout import BOX_FONT, Box, PageLayout, Word, apply_boxes

_FONT_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s+Tf")
_DEFAULT_SIZE = 10.0
_LEADING = 1.2


def _resolve(obj: Any) -> Any:
    return obj.get_object() if isinstance(obj, IndirectObject) else obj


def _annotations(page: Any, subtype: str) -> list[DictionaryObject]:
    annots = _resolve(page.get("/Annots"))
    if not isinstance(annots, ArrayObject):
        return []
    found = [_resolve(a) for a in annots]
    return [a for a in found if isinstance(a, DictionaryObject) and a.get("/Subtype") == subtype]


def _box(annot: DictionaryObject, page: Any) -> Box:
    """An annotation's /Rect in the page layout's coordinates (top-left origin)."""
    rect = [float(v) for v in _resolve(annot.get("/Rect", [0, 0, 0, 0]))]
    media = page.mediabox
    left, top = float(media.left), float(media.top)
    return Box(
        min(rect[0], rect[2]) - left,
        top - max(rect[1], rect[3]),
        max(rect[0], rect[2]) - left,
        top - min(rect[1], rect[3]),
    )


def typed_words(reader: pypdf.PdfReader) -> dict[int, list[Word]]:
    """Typed text annotations by page number: one `Word` a typed line."""
    found: dict[int, list[Word]] = {}
    for number, page in enumerate(reader.pages, start=1):
        for annot in _annotations(page, "/FreeText"):
            words = _lines_of(annot, _box(annot, page))
            if words:
                found.setdefault(number, []).extend(words)
    return found


def _lines_of(annot: DictionaryObject, box: Box) -> list[Word]:
    text = str(_resolve(annot.get("/Contents")) or "")
    match = _FONT_SIZE.search(str(_resolve(annot.get("/DA")) or ""))
    size = float(match.group(1)) if match else _DEFAULT_SIZE
    size = size if 3 <= size <= 72 else _DEFAULT_SIZE
    words: list[Word] = []
    top = box.top + 1
    for line in re.split(r"\r\n|\r|\n", text):
        if line.strip():
            # The width is a guess (half an em a letter): it only places the line.
            width = min(box.width, 0.5 * size * len(line))
            words.append(
                Word(line.strip(), Box(box.x0 + 1, top, box.x0 + 1 + width, top + size), "", size)
            )
        top += size * _LEADING
    return words


def widget_boxes(reader: pypdf.PdfReader) -> dict[int, list[tuple[Box, bool]]]:
    """Check-box and radio-button widgets by page, and whether each is on (/AS)."""
    found: dict[int, list[tuple[Box, bool]]] = {}
    for number, page in enumerate(reader.pages, start=1):
        for annot in _annotations(page, "/Widget"):
            if _field_type(annot) != "/Btn":
                continue
            state = str(_resolve(annot.get("/AS")) or "/Off")
            found.setdefault(number, []).append((_box(annot, page), state != "/Off"))
    return found


def _field_type(annot: DictionaryObject) -> Any:
    current: Any = annot
    for _ in range(32):
        if not isinstance(current, DictionaryObject):
            return None
        if "/FT" in current:
            return current["/FT"]
        current = _resolve(current.get("/Parent"))
    return None


def add_typed_answers(
    pages: list[PageLayout], typed: dict[int, list[Word]], boxes: dict[int, list[tuple[Box, bool]]]
) -> None:
    """Put typed text and the form's tick boxes onto the page layouts; an X
    typed over a box drawn on the page ticks it too."""
    for page in pages:
        widgets = boxes.get(page.number, [])
        drawn = [
            (w.box, w.mark == CHECKED)
            for w in page.words
            if w.font == BOX_FONT and not any(b.contains(w.box.cx, w.box.cy) for b, _ in widgets)
        ]
        words = [w for w in page.words if w.font != BOX_FONT] + typed.get(page.number, [])
        page.words = apply_boxes(words, [*drawn, *widgets])
