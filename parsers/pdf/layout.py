"""The visual layout of one PDF page: words, lines, tick boxes, table cells.

Everything here is geometry in pdfplumber's coordinates (points, origin at
the top-left of the page, ``top`` growing downwards).  A page is read once:
its words (with font name and size), its small squares and circles (tick
boxes, radio buttons), its filled rectangles (shaded label cells) and its
table cells (ruled lines or rectangle edges, found by pdfplumber's table
finder).  The readers in `parsers.pdf.table` and `parsers.pdf.acroform`
work from this `PageLayout` and never touch pdfplumber themselves.

Tick boxes and tick glyphs are turned into `Word`s whose ``mark`` is
``CHECKED`` or ``UNCHECKED`` (`parsers.document`), so a line of an answer can
be written as ``☒ Female`` whatever the producer drew.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from parsers.document import CHECKED, UNCHECKED

# Glyphs that are a tick box or a mark in ordinary Unicode fonts (Segoe UI
# Symbol, MS Gothic, DejaVu, Arial Unicode...).
_UNICODE_MARKS = {
    **dict.fromkeys("☒☑✓✔✗✘✕✖■◼▪●◉⦿⊠⊗⮽🗹🗷", CHECKED),
    **dict.fromkeys("☐□◻○◯❍❏❑❒", UNCHECKED),
}
# Symbol fonts whose character codes are not Unicode: the code says the glyph.
_ZAPF = {
    **dict.fromkeys("345678ln", CHECKED),  # ✓ ✔ ✕ ✖ ✗ ✘ ● ■
    **dict.fromkeys("mopq", UNCHECKED),  # ❍ ❏ ❐ ❑ shadowed boxes and circle
    # The same glyphs as pdfium reads them: Unicode, from the font's glyph names.
    **dict.fromkeys("✓✔✕✖✗✘●■", CHECKED),
    **dict.fromkeys("❍❏❐❑", UNCHECKED),
}
_WINGDINGS = {
    **dict.fromkeys("þýxüû", CHECKED),  # ☑ ☒ ☒ ✓ ✗
    **dict.fromkeys("o¨q", UNCHECKED),  # ☐ boxes
}
_WINGDINGS2 = {
    **dict.fromkeys("TSRPOQ", CHECKED),  # ☒ ☒ ☑ ✓ ✗ ✘
    **dict.fromkeys("£*", UNCHECKED),  # ☐
}
# Small squares and circles drawn as paths: a tick box is 5-16 pt across.
_BOX_MIN, _BOX_MAX = 4.0, 16.0
_WHITE = 0.92  # a fill lighter than this (all channels) counts as no shading
BOX_FONT = "box"  # the font name of a tick box drawn as a shape
_BOLD = re.compile(r"bold|black|heavy|semibold|demi", re.IGNORECASE)


@dataclass(frozen=True)
class Box:
    """A rectangle on the page: x0 < x1, top < bottom."""

    x0: float
    top: float
    x1: float
    bottom: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def cy(self) -> float:
        return (self.top + self.bottom) / 2

    def contains(self, x: float, y: float, slack: float = 0.5) -> bool:
        return (
            self.x0 - slack <= x <= self.x1 + slack and self.top - slack <= y <= self.bottom + slack
        )


@dataclass(frozen=True)
class Word:
    """A word as drawn; ``mark`` is CHECKED/UNCHECKED for a tick box or glyph."""

    text: str
    box: Box
    font: str = ""
    size: float = 0.0
    mark: str | None = None
    highlight: bool = False  # drawn over a highlighter colour

    @property
    def bold(self) -> bool:
        return bool(_BOLD.search(self.font))

    @property
    def emphatic(self) -> bool:
        """Marked out as a choice: bold or highlighted."""
        return self.bold or self.highlight


@dataclass
class TextLine:
    """Words sharing a baseline inside one region, left to right.

    Its words are fixed once `group_lines` has made it: the box is worked
    out once, on first use.
    """

    words: list[Word]

    @cached_property
    def box(self) -> Box:
        return _union(w.box for w in self.words)

    @property
    def text(self) -> str:
        """The line as read; tick boxes and tick glyphs as ☒/☐."""
        return " ".join(w.mark or w.text for w in self.words)

    @property
    def bold(self) -> bool:
        letters = [w for w in self.words if w.mark is None]
        return bool(letters) and all(w.bold for w in letters)

    @property
    def size(self) -> float:
        letters = [w.size for w in self.words if w.mark is None]
        return max(letters) if letters else 0.0


@dataclass(frozen=True)
class Cell:
    """A table cell; ``shaded`` when a coloured fill covers it (a label cell)."""

    box: Box
    shaded: bool = False
    dark: bool = False  # a dark band: a section heading in white letters


@dataclass
class TableGrid:
    """A ruled table: rows of cells, top to bottom, each row left to right."""

    box: Box
    rows: list[list[Cell]]


@dataclass
class PageLayout:
    """What one page shows; ``number`` counts from 1."""

    number: int
    width: float
    height: float
    words: list[Word]
    tables: list[TableGrid] = field(default_factory=list)
    body_size: float = 0.0
    image_count: int = 0
    sideways: bool = False  # most letters run up or down the page


def read_page(page: Any, number: int) -> PageLayout:
    """Lay out one pdfplumber page in a single pass over its objects."""
    raw_words = _unstruck(page).extract_words(
        extra_attrs=["fontname", "size"], keep_blank_chars=False
    )
    words = [w for raw in raw_words for w in _split_marks(_word(raw))]
    boxes = _tick_boxes(page)
    fills = [_fill(r) for r in page.rects if r.get("fill") and not _is_highlight(r)]
    words = apply_boxes(words, boxes)
    words = _highlighted(words, page.rects)
    # Tick boxes drawn as squares would split an answer cell into a grid of
    # their own (box | text), so tables are found from the long rules only.
    ruling = page.filter(_not_small_shape)
    tables = [_grid(t, fills) for t in ruling.find_tables()]
    sizes = [w.size for w in words if w.mark is None]
    return PageLayout(
        number=number,
        width=float(page.width),
        height=float(page.height),
        words=words,
        tables=[t for t in tables if t.rows],
        body_size=statistics.mode(round(s, 1) for s in sizes) if sizes else 0.0,
        image_count=len(page.images),
        sideways=_mostly_sideways(page.chars),
    )


def _unstruck(page: Any) -> Any:
    """The page without struck-through letters: deleted text of a tracked
    change, as Word and LibreOffice print it (the insertion is underlined)."""
    strikes = [
        _obj_box(o)
        for o in [*page.lines, *page.rects]
        if float(o["bottom"]) - float(o["top"]) <= 1.5 and float(o["x1"]) - float(o["x0"]) >= 2
    ]
    if not strikes:
        return page
    rows: dict[int, list[Box]] = {}
    for strike in strikes:
        rows.setdefault(int(strike.cy), []).append(strike)

    def keep(obj: dict[str, Any]) -> bool:
        if obj.get("object_type") != "char":
            return True
        top, bottom = float(obj["top"]), float(obj["bottom"])
        middle = (float(obj["x0"]) + float(obj["x1"])) / 2
        low, high = top + 0.35 * (bottom - top), top + 0.8 * (bottom - top)
        near = (b for y in range(int(low), int(high) + 1) for b in rows.get(y, ()))
        return not any(low <= b.cy <= high and b.x0 <= middle <= b.x1 for b in near)

    return page.filter(keep)


def _mostly_sideways(chars: Sequence[dict[str, Any]]) -> bool:
    """More letters not upright than upright: the page is shown turned."""
    upright = sum(1 for c in chars if c.get("upright", True))
    return len(chars) - upright > upright


def _not_small_shape(obj: dict[str, Any]) -> bool:
    """False for a tick-box-sized square or circle (and a cross drawn in one)
    and for a highlighter band: neither is a table rule."""
    if obj.get("object_type") not in ("rect", "curve", "line"):
        return True
    if obj.get("object_type") == "rect" and _is_highlight(obj):
        return False
    width = float(obj["x1"]) - float(obj["x0"])
    height = float(obj["bottom"]) - float(obj["top"])
    return not (_BOX_MIN - 1 <= width <= _BOX_MAX and _BOX_MIN - 1 <= height <= _BOX_MAX)


def _word(raw: dict[str, Any]) -> Word:
    box = _obj_box(raw)
    font = str(raw.get("fontname", ""))
    text = str(raw["text"])
    return Word(text, box, font, float(raw.get("size", 0.0)), glyph_mark(text, font))


def glyph_mark(text: str, font: str) -> str | None:
    """CHECKED/UNCHECKED when ``text`` is a single tick-box glyph in ``font``.

    Symbol fonts have no Unicode: Word and LibreOffice write their codes
    either as they are or moved into the private use area (U+F0xx); a code
    in that area from a font we cannot name is looked up in Wingdings and
    Wingdings 2 together (their tick-box codes do not clash).
    """
    if len(text) != 1:
        return None
    lowered = font.lower().replace(" ", "").replace("-", "")
    private = 0xF020 <= ord(text) <= 0xF0FF
    code = chr(ord(text) - 0xF000) if private else text
    if "zapf" in lowered or "dingbat" in lowered:
        return _ZAPF.get(code)
    if "wingdings2" in lowered:
        return _WINGDINGS2.get(code)
    if "wingding" in lowered:
        return _WINGDINGS.get(code)
    if private:
        return _WINGDINGS.get(code) or _WINGDINGS2.get(code)
    return _UNICODE_MARKS.get(text)


def _split_marks(word: Word) -> list[Word]:
    """``☒Yes`` typed without a space -> the box and the word."""
    if word.mark is not None or len(word.text) < 2:
        return [word]
    first = _UNICODE_MARKS.get(word.text[0])
    if first is None:
        return [word]
    share = word.box.width / len(word.text)
    head = Box(word.box.x0, word.box.top, word.box.x0 + share, word.box.bottom)
    tail = Box(head.x1, word.box.top, word.box.x1, word.box.bottom)
    return [
        replace(word, text=word.text[0], box=head, mark=first),
        replace(word, text=word.text[1:], box=tail, mark=None),
    ]


def _tick_boxes(page: Any) -> list[tuple[Box, bool]]:
    """Small squares and circles that look like tick boxes, and whether a
    smaller shape or a cross of lines is drawn inside (a ticked box)."""
    shapes: list[tuple[Box, bool]] = []
    for obj in [*page.rects, *page.curves]:
        box = _obj_box(obj)
        square = abs(box.width - box.height) <= 2.5
        if square and _BOX_MIN <= box.width <= _BOX_MAX:
            shapes.append(
                (box, bool(obj.get("fill")) and _lightness(obj.get("non_stroking_color")) < 0.5)
            )
    shapes.sort(key=lambda s: -s[0].width)
    boxes: list[tuple[Box, bool]] = []
    for box, dark in shapes:
        outer = next((i for i, (b, _) in enumerate(boxes) if _inside(box, b)), None)
        if outer is not None:  # a dot, a filled square or a nested box: a tick
            boxes[outer] = (
                boxes[outer][0],
                boxes[outer][1] or box.width < boxes[outer][0].width - 1,
            )
        elif not any(_same_box(box, b) for b, _ in boxes):
            boxes.append((box, dark))
    # A cross drawn with two lines (LibreOffice's legacy check box: the lines
    # have the box's own bounds) or a tick drawn as a path inside the box.
    lines = [_obj_box(o) for o in page.lines]
    paths = [_obj_box(o) for o in page.curves]
    return [(b, ticked or _stroked_inside(b, lines, paths)) for b, ticked in boxes]


def _stroked_inside(box: Box, lines: Sequence[Box], paths: Sequence[Box]) -> bool:
    # Only diagonal lines: a box drawn as four separate sides is not ticked.
    if any(_within(line, box) and line.width > 1 and line.height > 1 for line in lines):
        return True
    return any(_within(path, box) and not _same_box(path, box) for path in paths)


def _obj_box(obj: dict[str, Any]) -> Box:
    return Box(float(obj["x0"]), float(obj["top"]), float(obj["x1"]), float(obj["bottom"]))


def _inside(inner: Box, outer: Box) -> bool:
    return (
        outer.x0 - 0.5 <= inner.x0
        and inner.x1 <= outer.x1 + 0.5
        and outer.top - 0.5 <= inner.top
        and inner.bottom <= outer.bottom + 0.5
        and not _same_box(inner, outer)
    )


def _within(inner: Box, outer: Box) -> bool:
    return (
        outer.x0 - 0.5 <= inner.x0
        and inner.x1 <= outer.x1 + 0.5
        and outer.top - 0.5 <= inner.top
        and inner.bottom <= outer.bottom + 0.5
    )


def _same_box(a: Box, b: Box) -> bool:
    return abs(a.x0 - b.x0) < 1 and abs(a.top - b.top) < 1 and abs(a.x1 - b.x1) < 1


def apply_boxes(words: list[Word], boxes: Sequence[tuple[Box, bool]]) -> list[Word]:
    """Each drawn box becomes a mark word; a glyph or letter inside it ticks it."""
    inside: dict[int, list[Word]] = {i: [] for i in range(len(boxes))}
    rest: list[Word] = []
    for word in words:
        index = next(
            (
                i
                for i, (b, _) in enumerate(boxes)
                if b.contains(word.box.cx, word.box.cy, 1.0) and word.box.width <= b.width + 3
            ),
            None,
        )
        (inside[index] if index is not None else rest).append(word)
    for i, (box, drawn_tick) in enumerate(boxes):
        ticked = drawn_tick or any(w.mark != UNCHECKED for w in inside[i])
        mark = CHECKED if ticked else UNCHECKED
        rest.append(Word(mark, box, BOX_FONT, box.height, mark))
    return rest


def _is_highlight(rect: dict[str, Any]) -> bool:
    """A line-high band of a strong colour: Word's highlighter, not shading."""
    return (
        bool(rect.get("fill"))
        and _saturation(rect.get("non_stroking_color")) >= 0.4
        and float(rect["bottom"]) - float(rect["top"]) < 25
    )


def _highlighted(words: list[Word], rects: Iterable[dict[str, Any]]) -> list[Word]:
    """Words drawn over a highlighter band."""
    bands = [_obj_box(r) for r in rects if _is_highlight(r)]
    if not bands:
        return words
    return [
        replace(w, highlight=True)
        if any(b.contains(w.box.cx, w.box.cy) and b.height < 2.2 * w.box.height for b in bands)
        else w
        for w in words
    ]


def _saturation(color: Any) -> float:
    if isinstance(color, list | tuple) and len(color) == 3:
        values = [float(c) for c in color if isinstance(c, int | float)]
        return max(values) - min(values) if len(values) == 3 else 0.0
    return 0.0


def _fill(rect: dict[str, Any]) -> tuple[Box, float]:
    """A filled rectangle and how dark its fill is (0 black .. 1 white)."""
    return _obj_box(rect), _lightness(rect.get("non_stroking_color"))


def _lightness(color: Any) -> float:
    if isinstance(color, int | float):
        return float(color)
    if isinstance(color, list | tuple) and color:
        values = [float(c) for c in color if isinstance(c, int | float)]
        if len(values) == 4:  # CMYK: ink darkens
            return 1.0 - min(1.0, max(values[:3]) + values[3])
        return min(values) if values else 1.0
    return 1.0


def _grid(table: Any, fills: Sequence[tuple[Box, float]]) -> TableGrid:
    rows: list[list[Cell]] = []
    for row in table.rows:
        cells = [_cell(Box(*(float(v) for v in c)), fills) for c in row.cells if c is not None]
        if cells:
            rows.append(sorted(cells, key=lambda c: c.box.x0))
    return TableGrid(Box(*(float(v) for v in table.bbox)), rows)


def _cell(box: Box, fills: Sequence[tuple[Box, float]]) -> Cell:
    """A cell is shaded when coloured fills cover most of it (one rectangle,
    or one a line as LibreOffice paints paragraph shading)."""
    area = max(box.width * box.height, 1.0)
    covering = [(lightness, _overlap(box, fill)) for fill, lightness in fills if lightness < _WHITE]
    covered = sum(overlap for _, overlap in covering)
    if covered < 0.6 * area:
        return Cell(box)
    darkest = min(lightness for lightness, overlap in covering if overlap > 0)
    return Cell(box, shaded=True, dark=darkest < 0.5)


def _overlap(a: Box, b: Box) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.bottom, b.bottom) - max(a.top, b.top)
    return w * h if w > 0 and h > 0 else 0.0


def _union(boxes: Iterable[Box]) -> Box:
    items = list(boxes)
    return Box(
        min(b.x0 for b in items),
        min(b.top for b in items),
        max(b.x1 for b in items),
        max(b.bottom for b in items),
    )


def group_lines(words: Iterable[Word]) -> list[TextLine]:
    """Words -> lines: same vertical band, then left to right; top to bottom.

    Taken top to bottom, a word joins the latest line whose last word's centre
    is within 0.35 of the taller of the two heights.  A line whose
    last word stands further above than that for the tallest word of all is out
    of reach for good (the words that follow stand no higher), and is no longer
    looked at: a page's words are grouped in one pass, not against every line."""
    ordered = sorted(words, key=lambda w: (w.box.cy, w.box.x0))
    if not ordered:
        return []
    reach = max(max(w.box.height for w in ordered), 1.0) * 0.35
    lines: list[TextLine] = []
    ends: list[tuple[float, float]] = []  # each line's last word: its centre and height
    near: list[int] = []  # the lines still within reach, oldest first
    for word in ordered:
        cy, height = word.box.cy, word.box.height
        # Dropped only when surely out of reach: a height that is not a number
        # (a page moved past the range of floats) keeps every line in view.
        near = [i for i in near if not cy - ends[i][0] > reach]
        found = next((i for i in reversed(near) if _same_band(ends[i], cy, height)), None)
        if found is None:
            near.append(len(lines))
            lines.append(TextLine([word]))
            ends.append((cy, height))
        else:
            lines[found].words.append(word)
            ends[found] = (cy, height)
    for line in lines:
        line.words.sort(key=lambda w: w.box.x0)
    lines.sort(key=lambda ln: (round(ln.box.top, 0), ln.box.x0))
    return lines


def _same_band(end: tuple[float, float], cy: float, height: float) -> bool:
    """A line's last word (its centre and height) and a word share a line: their
    vertical centres are within 0.35 of the taller height (at least 1 pt)."""
    return abs(end[0] - cy) <= max(end[1], height, 1.0) * 0.35


def words_in(words: Iterable[Word], box: Box) -> list[Word]:
    """The words whose centre lies inside ``box``."""
    return [w for w in words if box.contains(w.box.cx, w.box.cy)]


def fold(text: str) -> str:
    """White space folded to single spaces, ends trimmed."""
    return " ".join(text.split())
