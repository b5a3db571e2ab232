"""A PDF page's characters, drawing and pictures, read with pdfium.

pdfplumber lays a page out with pdfminer, in Python: 0.1-0.3 s a page.
pdfium (pypdfium2, installed with pdfplumber) reads the same content stream
in C in a few milliseconds.  `read_pages` gives, for each page, a
`PdfiumPage`: the part of pdfplumber's ``Page`` interface that
`parsers.pdf.layout.read_page` uses (``chars``, ``rects``, ``lines``,
``curves``, ``images``, ``filter``, ``extract_words``, ``find_tables``),
with every object described as pdfplumber describes it, so the layout rules
do not change with the reader:

* the same coordinates: points from the top-left corner of the page as
  shown (pdfminer's page rotation and media-box offset, then pdfplumber's
  flip), a character's box as wide as its advance and as high as its font
  size, above its descent;
* paths sorted as pdfminer sorts them (`_painted`): a two-point subpath is a
  ``line``, an axis-aligned closed four-point one a ``rect``, any other a
  ``curve`` with its end points;
* words grouped by pdfplumber's own ``WordExtractor``, tables found by its
  own ``TableFinder`` from the edges of these objects.

What differs is kept small and on purpose: a glyph with no Unicode reads
``(cid:0)`` (pdfminer writes its code), a ZapfDingbats tick comes as its
Unicode character (pdfminer gives the font's code; `parsers.pdf.layout.glyph_mark`
reads both), colours come as RGB (pdfium converts grey and CMYK), and a
character's vertical place follows the font's real descent where the file
leaves its descriptor's at 0.

The caller opens the document (`open_document`) and closes it; pdfium is
not thread-safe, which is why every document is read in its own sandbox
process (`parsers.sandbox`).
"""

from __future__ import annotations

import ctypes
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from pdfplumber.table import TableFinder, TableSettings
from pdfplumber.utils.geometry import curve_to_edges, line_to_edge, rect_to_edges
from pdfplumber.utils.text import WordExtractor

from parsers.pdf.fonts import Widths

Obj = dict[str, Any]
Matrix = tuple[float, float, float, float, float, float]
Point = tuple[float, float]

_IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
_MAX_FORM_DEPTH = 16  # form XObjects nested deeper than this are not read
_TABLE_SETTINGS = TableSettings.resolve(None)
_PDFIUM_HYPHEN = 0x02  # pdfium's code for a hyphen that ends a line ("life-" / "threatening")


@dataclass
class PdfiumPage:
    """One page's objects, as pdfplumber's ``Page`` would give them."""

    width: float
    height: float
    chars: list[Obj] = field(default_factory=list)
    rects: list[Obj] = field(default_factory=list)
    lines: list[Obj] = field(default_factory=list)
    curves: list[Obj] = field(default_factory=list)
    images: list[Obj] = field(default_factory=list)

    def filter(self, keep: Callable[[Obj], bool]) -> PdfiumPage:
        """The page with only the objects ``keep`` accepts (pdfplumber's ``Page.filter``)."""
        return PdfiumPage(
            self.width,
            self.height,
            [o for o in self.chars if keep(o)],
            [o for o in self.rects if keep(o)],
            [o for o in self.lines if keep(o)],
            [o for o in self.curves if keep(o)],
            [o for o in self.images if keep(o)],
        )

    def extract_words(self, **settings: Any) -> list[Obj]:
        return WordExtractor(**settings).extract_words(self.chars)

    @property
    def edges(self) -> list[Obj]:
        """Every line, rectangle side and curve segment (pdfplumber's ``Page.edges``)."""
        found = [line_to_edge(o) for o in self.lines]
        found += [e for o in self.rects for e in rect_to_edges(o)]
        found += [e for o in self.curves for e in curve_to_edges(o)]
        return found

    def find_tables(self) -> list[Any]:
        """pdfplumber's table finder, default settings, over this page's edges."""
        return list(TableFinder(self, _TABLE_SETTINGS).tables)  # type: ignore[arg-type]


def open_document(data: bytes) -> pdfium.PdfDocument:
    """Open ``data`` (an empty user password is tried, as every viewer does)."""
    return pdfium.PdfDocument(data, password="")


@dataclass
class TextRuns:
    """A page's size and its text-showing operators, each as (text, box dict
    with ``fontname`` and ``size``), in content order."""

    width: float
    height: float
    runs: list[tuple[str, Obj]]
    dark: list[Obj] = field(default_factory=list)  # filled areas darker than mid-grey (bands)


def text_runs(doc: pdfium.PdfDocument, count: int) -> list[TextRuns]:
    """The first ``count`` pages' text, a line or a label a run, with no
    layout: what a fillable form's labels and headings need."""
    pages: list[TextRuns] = []
    for index in range(min(count, len(doc))):
        page = doc[index]
        try:
            pages.append(_runs_of(page))
        finally:
            page.close()
    return pages


def _runs_of(page: pdfium.PdfPage) -> TextRuns:
    frame = _Frame.of(page, rotated=True)
    textpage = pdfium_c.FPDFText_LoadPage(page.raw)
    found = TextRuns(frame.width, frame.height, [])
    try:
        objects = pdfium_c.FPDFPage_CountObjects(page.raw)
        items = (pdfium_c.FPDFPage_GetObject(page.raw, i) for i in range(objects))
        for obj, matrix in _flattened(items, _IDENTITY, 0):
            kind = pdfium_c.FPDFPageObj_GetType(obj)
            if kind == pdfium_c.FPDF_PAGEOBJ_PATH:
                found.dark.extend(_dark_fills(obj, matrix, frame))
            if kind != pdfium_c.FPDF_PAGEOBJ_TEXT:
                continue
            run = _text_run(obj, matrix, textpage, frame)
            if run is not None:
                found.runs.append(run)
    finally:
        pdfium_c.FPDFText_ClosePage(textpage)
    return found


def _text_run(obj: Any, outer: Matrix, textpage: Any, frame: _Frame) -> tuple[str, Any] | None:
    length = pdfium_c.FPDFTextObj_GetText(obj, textpage, None, 0)
    if length <= 2:
        return None
    buffer = (ctypes.c_ushort * (length // 2))()
    pdfium_c.FPDFTextObj_GetText(obj, textpage, buffer, length)
    text = bytes(buffer)[: length - 2].decode("utf-16-le", "replace")
    left, bottom, right, top = (ctypes.c_float(0) for _ in range(4))
    if not text.strip() or not pdfium_c.FPDFPageObj_GetBounds(obj, left, bottom, right, top):
        return None
    size = ctypes.c_float(0)
    pdfium_c.FPDFTextObj_GetFontSize(obj, size)
    _a, _b, c, d, _e, _f = _times(_matrix_of(obj), outer)
    x0, y0, x1, y1 = frame.box(left.value, bottom.value, right.value, top.value)
    box: Obj = {"x0": x0, "top": y0, "x1": x1, "bottom": y1}
    box["fontname"] = _font_name(pdfium_c.FPDFTextObj_GetFont(obj))
    box["size"] = size.value * math.hypot(c, d)
    return text, box


def _dark_fills(obj: Any, matrix: Matrix, frame: _Frame) -> list[Obj]:
    """The path's filled shapes when their colour is darker than mid-grey."""
    fill_mode, stroke = ctypes.c_int(0), ctypes.c_int(0)
    if not pdfium_c.FPDFPath_GetDrawMode(obj, fill_mode, stroke) or fill_mode.value == 0:
        return []
    colour = _colour(obj, pdfium_c.FPDFPageObj_GetFillColor)
    if min(colour) >= 0.5:
        return []
    return [s for s in _painted(obj, matrix, frame) if s["object_type"] == "rect"]


def first_lines(doc: pdfium.PdfDocument, count: int) -> list[str]:
    """The first ``count`` lines of text on page 1, in pdfium's reading order."""
    text = page_text(doc, 1) if len(doc) else ""
    lines = (" ".join(line.split()) for line in text.replace("\r", "\n").split("\n"))
    return [line for line in lines if line][:count]


def page_text(doc: pdfium.PdfDocument, number: int) -> str:
    """The text of page ``number`` (from 1), lines in pdfium's reading order ("" past the end)."""
    if not 1 <= number <= len(doc):
        return ""
    page = doc[number - 1]
    try:
        textpage = page.get_textpage()
        try:
            return str(textpage.get_text_range())
        finally:
            textpage.close()
    finally:
        page.close()


def read_pages(
    doc: pdfium.PdfDocument,
    count: int,
    rotated: bool = True,
    widths: Callable[[int], Widths] | None = None,
) -> list[PdfiumPage]:
    """The first ``count`` pages; ``rotated=False`` ignores each page's /Rotate.

    ``widths(index)`` gives the page's fractional glyph widths
    (`parsers.pdf.fonts.fractional_widths`), to place characters exactly.
    """
    pages = []
    for index in range(count):
        page = doc[index]
        try:
            pages.append(read_page(page, rotated, widths(index) if widths else {}))
        finally:
            page.close()
    return pages


def read_page(
    page: pdfium.PdfPage, rotated: bool = True, widths: Widths | None = None
) -> PdfiumPage:
    frame = _Frame.of(page, rotated)
    out = PdfiumPage(frame.width, frame.height)
    textpage = pdfium_c.FPDFText_LoadPage(page.raw)
    try:
        out.chars = _chars(textpage, frame, widths or {})
    finally:
        pdfium_c.FPDFText_ClosePage(textpage)
    objects = pdfium_c.FPDFPage_CountObjects(page.raw)
    found = (pdfium_c.FPDFPage_GetObject(page.raw, i) for i in range(objects))
    for obj, matrix in _flattened(found, _IDENTITY, 0):
        kind = pdfium_c.FPDFPageObj_GetType(obj)
        if kind == pdfium_c.FPDF_PAGEOBJ_PATH:
            for item in _painted(obj, matrix, frame):
                getattr(out, item["object_type"] + "s").append(item)
        elif kind == pdfium_c.FPDF_PAGEOBJ_IMAGE:
            out.images.append({"object_type": "image"})
    return out


@dataclass(frozen=True)
class _Frame:
    """From PDF user space to pdfplumber's: pdfminer's rotation and media-box
    offset (its ``ctm``), then pdfplumber's flip (``Page.process_object``)."""

    ctm: Matrix
    width: float
    height: float
    left: float  # pdfplumber's media box x0
    top: float  # and its top (not 0 when the media box does not start at 0)

    @classmethod
    def of(cls, page: pdfium.PdfPage, rotated: bool) -> _Frame:
        x0, y0, x1, y1 = page.get_mediabox()
        x0, x1 = sorted((x0, x1))
        y0, y1 = sorted((y0, y1))
        rotation = page.get_rotation() % 360 if rotated else 0
        ctm: Matrix = {
            90: (0.0, -1.0, 1.0, 0.0, -y0, x1),
            180: (-1.0, 0.0, 0.0, -1.0, x1, y1),
            270: (0.0, 1.0, -1.0, 0.0, y1, -x0),
        }.get(rotation, (1.0, 0.0, 0.0, 1.0, -x0, -y0))
        if rotation in (90, 270):
            x0, y0, x1, y1 = y0, x0, y1, x1
        height = y1 - y0
        return cls(ctm, x1 - x0, height, x0, height - y1)

    @property
    def plain(self) -> bool:
        """The page is not turned: x moves, y flips, nothing rotates."""
        return self.ctm[:4] == (1.0, 0.0, 0.0, 1.0)

    def point(self, x: float, y: float) -> Point:
        """A point of user space on the page: (x, top)."""
        a, b, c, d, e, f = self.ctm
        return (a * x + c * y + e + self.left, self.height - (b * x + d * y + f) + self.top)

    def box(self, left: float, bottom: float, right: float, top: float) -> tuple[float, ...]:
        """A user-space rectangle as pdfplumber's (x0, top, x1, bottom)."""
        corners = [self.point(x, y) for x in (left, right) for y in (bottom, top)]
        xs = [p[0] for p in corners]
        ys = [p[1] for p in corners]
        return min(xs), min(ys), max(xs), max(ys)

    def upright(self, m: pdfium_c.FS_MATRIX) -> bool:
        """pdfminer's test, on the character's matrix turned with the page."""
        a, b, c, d = _turn((m.a, m.b, m.c, m.d), self.ctm)
        return a * d > 0 and b * c <= 0


def _turn(m: tuple[float, float, float, float], ctm: Matrix) -> tuple[float, float, float, float]:
    a, b, c, d = m
    p, q, r, s = ctm[:4]
    return (a * p + b * r, a * q + b * s, c * p + d * r, c * q + d * s)


# --- characters ----------------------------------------------------------------------------


@dataclass
class _Run:
    """What a text object says about all its characters (looked up once)."""

    fontname: str
    upright: bool  # pdfminer's test, after the page's rotation
    level: bool  # written along user space's x axis (not turned within the page)
    size: float  # the font size times the text's vertical scale
    bottom: float  # user-space y of the characters' bottom: the baseline plus the descent
    exact: dict[str, float] | None = None  # the font's fractional widths (`parsers.pdf.fonts`)
    unmapped: bool = False  # its first glyph had no Unicode: each glyph is asked
    top_on_page: float | None = None  # on an unturned page: where every character's box is
    bottom_on_page: float | None = None
    shift: float = 0.0  # how far pdfium's whole-unit widths have put the next character left


def _chars(textpage: Any, frame: _Frame, widths: Widths) -> list[Obj]:
    """The page's characters in content order; pdfium's generated spaces are left out."""
    count = pdfium_c.FPDFText_CountChars(textpage)
    texts = _all_text(textpage, count)
    loose = pdfium_c.FS_RECTF()
    matrix = pdfium_c.FS_MATRIX()
    runs: dict[int, _Run] = {}
    chars: list[Obj] = []
    text_object, generated = pdfium_c.FPDFText_GetTextObject, pdfium_c.FPDFText_IsGenerated
    get_box, unmapped = pdfium_c.FPDFText_GetLooseCharBox, pdfium_c.FPDFText_HasUnicodeMapError
    for index in range(count):
        text = texts[index] if texts else _unicode(pdfium_c.FPDFText_GetUnicode(textpage, index))
        obj = text_object(textpage, index)
        # pdfium adds spaces and line breaks of its own: they are not in the file.
        if not obj or (text.isspace() and generated(textpage, index)):
            continue
        key = ctypes.addressof(obj.contents)
        run = runs.get(key)
        if run is None:
            run = runs[key] = _run(textpage, index, obj, matrix, frame)
            run.exact = widths.get(run.fontname) if run.level else None
            run.unmapped = bool(unmapped(textpage, index))
        get_box(textpage, index, loose)
        # A font that maps its first glyph to Unicode is asked no more (one call a glyph).
        if not text or text == "\x00" or (run.unmapped and unmapped(textpage, index)):
            text = "(cid:0)"
        chars.append(_char(text, loose, run, frame))
    return chars


def _all_text(textpage: Any, count: int) -> str:
    """Every character's text in one call ("" when it does not come one per index)."""
    if count <= 0:
        return ""
    buffer = (ctypes.c_ushort * (count + 1))()
    written = pdfium_c.FPDFText_GetText(textpage, 0, count, buffer)
    data = bytes(buffer)[: max(written - 1, 0) * 2]
    if len(data) != 2 * count:
        return ""
    text = data.decode("utf-16-le", "surrogatepass")
    if len(text) != count or any("\ud800" <= c <= "\udfff" for c in text):
        return ""  # a character beyond the BMP: read them one by one
    return text.replace(chr(_PDFIUM_HYPHEN), "-").replace("\ufffe", "-")


def _run(textpage: Any, index: int, obj: Any, matrix: Any, frame: _Frame) -> _Run:
    """One text-showing operator's font, size, direction and baseline.

    The bottom is the baseline plus the font's descent, for every character
    alike (as pdfminer places them): pdfium's own boxes follow each glyph's
    outline where the file gives no ascent and descent (LibreOffice), and a
    "g" would then stand lower than its word.
    """
    pdfium_c.FPDFText_GetMatrix(textpage, index, matrix)
    scale = math.hypot(matrix.c, matrix.d)
    font_size = pdfium_c.FPDFText_GetFontSize(textpage, index)
    level = abs(matrix.b) < 1e-6 and abs(matrix.c) < 1e-6 and matrix.a > 0 and matrix.d > 0
    x, y = ctypes.c_double(0), ctypes.c_double(0)
    pdfium_c.FPDFText_GetCharOrigin(textpage, index, x, y)
    descent = ctypes.c_float(0)
    font = pdfium_c.FPDFTextObj_GetFont(obj)
    if not font or not pdfium_c.FPDFFont_GetDescent(font, ctypes.c_float(font_size), descent):
        descent.value = 0.0
    bottom = y.value + min(descent.value, 0.0) * scale
    run = _Run(_font_name(font), frame.upright(matrix), level, font_size * scale, bottom)
    if level and frame.plain:
        run.top_on_page = frame.height - (bottom + run.size + frame.ctm[5]) + frame.top
        run.bottom_on_page = frame.height - (bottom + frame.ctm[5]) + frame.top
    return run


def _char(text: str, loose: Any, run: _Run, frame: _Frame) -> Obj:
    left, right = _across(loose.left, loose.right, text, run)
    # pdfminer's box: the advance across, the font size up from the descent
    # (text turned within the page keeps pdfium's box); its size is the box's height.
    if run.top_on_page is not None and run.bottom_on_page is not None:
        shift = frame.ctm[4] + frame.left
        x0, top, x1, bottom = left + shift, run.top_on_page, right + shift, run.bottom_on_page
    elif run.level:
        x0, top, x1, bottom = frame.box(left, run.bottom, right, run.bottom + run.size)
    else:
        x0, top, x1, bottom = frame.box(left, loose.bottom, right, loose.top)
    return {
        "object_type": "char",
        "text": text,
        "fontname": run.fontname,
        "size": bottom - top,
        "upright": run.upright,
        "x0": x0,
        "x1": x1,
        "top": top,
        "bottom": bottom,
        "doctop": top,
        "width": x1 - x0,
        "height": bottom - top,
        "y0": frame.height - bottom,
        "y1": frame.height - top,
    }


def _across(left: float, right: float, text: str, run: _Run) -> tuple[float, float]:
    """The character's left and right as set: pdfium's, moved back by what the
    whole-unit widths of the characters before it lost (`parsers.pdf.fonts`)."""
    if run.exact is None:
        return left, right
    left += run.shift
    width = run.exact.get(text)
    rounded = math.floor(width) if width else 0
    if width is None or rounded <= 0:
        return left, right + run.shift
    drawn = right - (left - run.shift)
    exact = drawn * width / rounded
    run.shift += exact - drawn
    return left, left + exact


def _unicode(code: int) -> str:
    if code == _PDFIUM_HYPHEN:
        return "-"
    try:
        return chr(code)
    except ValueError:
        return "(cid:0)"


def _font_name(font: Any) -> str:
    """The font's base name (without a subset tag, as pdfium keeps it)."""
    if not font:
        return ""
    length = pdfium_c.FPDFFont_GetBaseFontName(font, None, 0)
    if length <= 0:
        return ""
    buffer = ctypes.create_string_buffer(length)
    pdfium_c.FPDFFont_GetBaseFontName(font, buffer, length)
    return buffer.value.decode("utf-8", "replace")


# --- drawing -------------------------------------------------------------------------------


def _flattened(objects: Iterator[Any], matrix: Matrix, depth: int) -> Iterator[tuple[Any, Matrix]]:
    """Page objects with their matrices, form XObjects opened (as pdfminer's figures)."""
    for obj in objects:
        if not obj:
            continue
        if pdfium_c.FPDFPageObj_GetType(obj) != pdfium_c.FPDF_PAGEOBJ_FORM:
            yield obj, matrix
            continue
        if depth >= _MAX_FORM_DEPTH:
            continue
        inner = _times(_matrix_of(obj), matrix)
        count = pdfium_c.FPDFFormObj_CountObjects(obj)
        children = (pdfium_c.FPDFFormObj_GetObject(obj, i) for i in range(max(count, 0)))
        yield from _flattened(children, inner, depth + 1)


def _matrix_of(obj: Any) -> Matrix:
    m = pdfium_c.FS_MATRIX()
    if not pdfium_c.FPDFPageObj_GetMatrix(obj, m):
        return _IDENTITY
    return (m.a, m.b, m.c, m.d, m.e, m.f)


def _times(m: Matrix, n: Matrix) -> Matrix:
    """``m`` then ``n`` (row vectors, as PDF writes matrices)."""
    a, b, c, d, e, f = m
    p, q, r, s, t, u = n
    return (
        a * p + b * r,
        a * q + b * s,
        c * p + d * r,
        c * q + d * s,
        e * p + f * r + t,
        e * q + f * s + u,
    )


def _painted(obj: Any, outer: Matrix, frame: _Frame) -> list[Obj]:
    """A path object as pdfminer reports it: lines, rectangles and curves."""
    fill_mode, stroke = ctypes.c_int(0), ctypes.c_int(0)
    if not pdfium_c.FPDFPath_GetDrawMode(obj, fill_mode, stroke):
        return []
    style = {
        "fill": fill_mode.value != 0,
        "stroke": bool(stroke.value),
        "non_stroking_color": _colour(obj, pdfium_c.FPDFPageObj_GetFillColor),
        "stroking_color": _colour(obj, pdfium_c.FPDFPageObj_GetStrokeColor),
        "linewidth": _stroke_width(obj),
    }
    if not (style["fill"] or style["stroke"]):
        return []
    matrix = _times(_matrix_of(obj), outer)
    made = []
    for ops in _subpaths(_operations(obj, matrix)):
        item = _shape(ops, frame)
        if item is not None:
            made.append({**item, **style})
    return made


def _operations(obj: Any, matrix: Matrix) -> list[tuple[str, Point]]:
    """("m"/"l"/"c"/"h", end point in user space) for each path operator."""
    ops: list[tuple[str, Point]] = []
    x, y = ctypes.c_float(0), ctypes.c_float(0)
    bezier = 0
    start: Point = (0.0, 0.0)
    for index in range(pdfium_c.FPDFPath_CountSegments(obj)):
        segment = pdfium_c.FPDFPath_GetPathSegment(obj, index)
        pdfium_c.FPDFPathSegment_GetPoint(segment, x, y)
        a, b, c, d, e, f = matrix
        point = (a * x.value + c * y.value + e, b * x.value + d * y.value + f)
        kind = pdfium_c.FPDFPathSegment_GetType(segment)
        if kind == pdfium_c.FPDF_SEGMENT_MOVETO:
            ops.append(("m", point))
            start, bezier = point, 0
        elif kind == pdfium_c.FPDF_SEGMENT_BEZIERTO:
            bezier += 1
            if bezier % 3 == 0:  # two control points, then the end point
                ops.append(("c", point))
        else:
            ops.append(("l", point))
        if pdfium_c.FPDFPathSegment_GetClose(segment):
            ops.append(("h", start))
    return ops


def _subpaths(ops: list[tuple[str, Point]]) -> Iterator[list[tuple[str, Point]]]:
    """pdfminer paints each subpath (from one "m" to the next) on its own."""
    current: list[tuple[str, Point]] = []
    for op in ops:
        if op[0] == "m" and current:
            yield current
            current = []
        current.append(op)
    if current and current[0][0] == "m":
        yield current


def _shape(ops: list[tuple[str, Point]], frame: _Frame) -> Obj | None:
    """pdfminer's ``paint_path`` for one subpath (its rules, its point list)."""
    shape = "".join(op for op, _ in ops)
    points = [p for _, p in ops]
    if len(shape) > 3 and shape[-2:] == "lh" and points[-2] == points[0]:
        shape = shape[:-2] + "h"
        points.pop()
    if len(points) < 2:
        return None
    pts = [frame.point(*p) for p in points]
    if shape in ("mlh", "ml"):
        return _item("line", pts[:2], frame)
    if shape in ("mlllh", "mllll"):
        (x0, y0), (x1, y1), (x2, y2), (x3, y3), _ = points
        closed = points[0] == points[4]
        square = (x0 == x1 and y1 == y2 and x2 == x3 and y3 == y0) or (
            y0 == y1 and x1 == x2 and y2 == y3 and x3 == x0
        )
        if closed and square:
            return _item("rect", [pts[0], pts[2]], frame)
    return _item("curve", pts, frame)


def _item(kind: str, pts: list[Point], frame: _Frame) -> Obj:
    xs = [p[0] for p in pts]
    tops = [p[1] for p in pts]
    x0, x1, top, bottom = min(xs), max(xs), min(tops), max(tops)
    return {
        "object_type": kind,
        "pts": pts,
        "x0": x0,
        "x1": x1,
        "top": top,
        "bottom": bottom,
        "doctop": top,
        "width": x1 - x0,
        "height": bottom - top,
        "y0": frame.height - bottom,
        "y1": frame.height - top,
    }


def _colour(obj: Any, getter: Callable[..., int]) -> tuple[float, ...]:
    r, g, b, a = (ctypes.c_uint(0) for _ in range(4))
    if not getter(obj, r, g, b, a):
        return (0.0,)
    return (r.value / 255, g.value / 255, b.value / 255)


def _stroke_width(obj: Any) -> float:
    width = ctypes.c_float(0)
    pdfium_c.FPDFPageObj_GetStrokeWidth(obj, width)
    return float(width.value) if math.isfinite(width.value) else 0.0
