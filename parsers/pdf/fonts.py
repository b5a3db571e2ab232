"""Glyph widths a PDF gives in fractions of a unit, which pdfium rounds down.

A simple font's ``/Widths`` (ISO 32000-1 §9.6.2) are glyph advances in
thousandths of an em.  Word and LibreOffice write whole numbers; some
producers (reportlab, which draws our test forms and many generated
letters) write fractions such as ``600.0977``.  pdfium keeps whole units, so
each character of a line lands a little left of where it was set, up to a
third of a point by the end of a long line: enough to change whether the
next word "would have fitted", which is how a wrapped line is told from one
the writer ended (`parsers.pdf.text.wraps`).

`fractional_widths` reads, for the fonts of one page whose widths are not
whole, each character's exact width (through the font's ``/ToUnicode``
map); `parsers.pdf.pdfium` puts the characters back where they were set.
Fonts with whole widths (the usual case) cost nothing beyond a look at
their ``/Widths``.
"""

from __future__ import annotations

import re
from typing import Any

from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject

Widths = dict[str, dict[str, float]]  # base font name -> character -> width (1/1000 em)

_SUBSET = re.compile(r"^[A-Z]{6}\+")
_BFCHAR = re.compile(rb"beginbfchar(.*?)endbfchar", re.S)
_BFRANGE = re.compile(rb"beginbfrange(.*?)endbfrange", re.S)
_HEX = re.compile(rb"<([0-9A-Fa-f]*)>")
_MAX_CMAP = 1 << 20  # a ToUnicode map longer than this is not read
_MAX_RANGE = 256  # a simple font has 256 codes


def base_name(name: str) -> str:
    """``AAAAAA+DejaVuSans`` -> ``DejaVuSans`` (pdfium reports names without the tag)."""
    return _SUBSET.sub("", name.lstrip("/"))


def fractional_widths(page: Any) -> Widths:
    """Exact widths of the characters of ``page``'s simple fonts whose ``/Widths``
    hold fractions (see the module docstring); {} when none do."""
    resources = _resolve(page.get("/Resources"))
    fonts = _resolve(resources.get("/Font")) if isinstance(resources, DictionaryObject) else None
    if not isinstance(fonts, DictionaryObject):
        return {}
    found: Widths = {}
    for value in fonts.values():
        font = _resolve(value)
        if isinstance(font, DictionaryObject):
            table = _font_widths(font)
            if table:
                found.setdefault(base_name(str(font.get("/BaseFont", ""))), {}).update(table)
    return found


def _resolve(obj: Any) -> Any:
    return obj.get_object() if isinstance(obj, IndirectObject) else obj


def _font_widths(font: DictionaryObject) -> dict[str, float]:
    widths = _resolve(font.get("/Widths"))
    if not isinstance(widths, ArrayObject) or font.get("/Subtype") == "/Type0":
        return {}
    numbers = [_number(_resolve(w)) for w in widths[:_MAX_RANGE]]
    if all(n == int(n) for n in numbers):
        return {}
    first = int(_number(_resolve(font.get("/FirstChar", 0))))
    codes = _to_unicode(_resolve(font.get("/ToUnicode")))
    table: dict[str, float] = {}
    for offset, width in enumerate(numbers):
        text = codes.get(first + offset)
        if text and len(text) == 1 and text not in table:
            table[text] = width
    return table


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _to_unicode(stream: Any) -> dict[int, str]:
    """Code -> text of a ToUnicode CMap's ``bfchar`` and ``bfrange`` entries."""
    if not isinstance(stream, StreamObject):
        return {}
    data = stream.get_data()[:_MAX_CMAP]
    codes: dict[int, str] = {}
    for block in _BFCHAR.findall(data):
        values = _HEX.findall(block)
        for code, text in zip(values[0::2], values[1::2], strict=False):
            _put(codes, int(code or b"0", 16), text)
    for block in _BFRANGE.findall(data):
        _ranges(codes, block)
    return codes


def _ranges(codes: dict[int, str], block: bytes) -> None:
    for line in block.splitlines():
        values = _HEX.findall(line)
        if len(values) < 3 or b"[" in line:
            continue  # an array of targets: rare in simple fonts, left out
        low, high = int(values[0] or b"0", 16), int(values[1] or b"0", 16)
        start = int(values[2] or b"0", 16)
        for offset in range(max(0, min(high - low + 1, _MAX_RANGE))):
            _put(codes, low + offset, f"{start + offset:04X}".encode())


def _put(codes: dict[int, str], code: int, text: bytes) -> None:
    try:
        decoded = bytes.fromhex(text.decode()).decode("utf-16-be")
    except (ValueError, UnicodeDecodeError):
        return
    if decoded and decoded != "\x00":
        codes[code] = decoded
