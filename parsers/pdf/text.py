"""Turning the words of one answer area into the lines of an `Entry`.

A PDF only knows visual lines.  A person's answer knows paragraphs and
options.  The rules here rebuild them from geometry:

* a tick mark (`Word.mark`) starts an option: ``☒ Female``; several boxes
  on one visual line give several options;
* a visual line continues the previous one when the previous one was full,
  that is when the next line's first word would not have fitted after it
  inside the area's right margin (how every word processor wraps), so a
  wrapped sentence becomes one line again and a line the writer ended early
  stays its own line;
* a line in bold among lines that are not is ``emphasis`` (a choice made by
  making it bold).
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from parsers.document import CHECKED, UNCHECKED, Line
from parsers.pdf.layout import Box, TextLine, Word, fold, group_lines

_SPACE = 0.28  # a space is about this many ems wide in text fonts (when not measured)
# A line that ends a sentence (or a bracket: "... incident)" above "Local
# learning review") followed by one that starts with a capital was most
# likely ended by the writer, even where the next word would not have fitted.
_SENTENCE_END = re.compile(r"(?:[.!?:]['\")\]’”]*|\))$")
_PLACEHOLDER = re.compile(
    r"^(?:click or tap|click|tap) (?:here )?to enter (?:a )?(?:text|date)\.?$|^choose an item\.?$",
    re.IGNORECASE,
)
_SENTENCE_START = re.compile(r"^['\"(‘“]?[A-Z0-9•\-–]")


@dataclass
class Piece:
    """One logical line being built, with the state needed to extend it."""

    words: list[Word]
    mark: str | None = None
    bold: bool = True

    def text(self) -> str:
        body = fold(" ".join(w.text for w in self.words))
        if self.mark is None:
            return body
        return f"{self.mark} {body}".rstrip()


@dataclass
class Area:
    """An answer area: its right margin decides which lines were wrapped."""

    right: float
    space: float = 0.0  # the width of a space as drawn here (0: not known)
    pieces: list[Piece] = field(default_factory=list)
    last_line: TextLine | None = None  # the last visual line added


def area_for(box: Box | None, lines: Sequence[TextLine]) -> Area:
    """The text area of a cell: its right edge less the padding seen on the left."""
    space = _space_width(lines)
    if box is None:
        right = max((ln.box.x1 for ln in lines), default=0.0)
        return Area(right, space)
    return Area(right_margin(box, lines), space)


def right_margin(box: Box, lines: Sequence[TextLine]) -> float:
    """Where text wraps in ``box``: its right edge less the padding seen on the left."""
    left = min((ln.box.x0 for ln in lines), default=box.x0 + 2)
    pad = min(max(left - box.x0, 1.0), 8.0)
    return box.x1 - pad


def _space_width(lines: Sequence[TextLine]) -> float:
    """The median gap between words on a line: the space as this producer drew it."""
    gaps = [
        b.box.x0 - a.box.x1
        for ln in lines
        for a, b in zip(ln.words, ln.words[1:], strict=False)
        if a.mark is None and b.mark is None and 0 < b.box.x0 - a.box.x1 < 0.6 * max(a.size, 1)
    ]
    return statistics.median(gaps) if gaps else 0.0


def add_lines(area: Area, lines: Sequence[TextLine], rights: Sequence[float] | None = None) -> None:
    """Append visual ``lines`` (top to bottom) to ``area``, joining wraps.

    ``rights`` gives each line's own right margin where the lines stand in
    cells of different widths (an option grid nested in an answer cell).
    """
    for index, line in enumerate(lines):
        joins = wraps(area, area.last_line, line)
        for number, segment in enumerate(_segments(line.words)):
            _add_segment(area, segment, joins and number == 0)
        area.last_line = line
        if rights is not None:
            area.right = rights[index]


def _add_segment(area: Area, words: list[Word], joins: bool) -> None:
    mark = words[0].mark if words and words[0].mark else None
    body = words[1:] if mark else words
    bold = all(w.emphatic for w in body) if body else False
    if mark is None and joins and area.pieces and body:
        last = area.pieces[-1]
        last.words.extend(_unhyphenate(last.words, body))
        last.bold = last.bold and bold
    else:
        area.pieces.append(Piece(list(body), mark, bold=bold and bool(body)))


def _unhyphenate(before: list[Word], after: list[Word]) -> list[Word]:
    """``non-`` at a line end and ``mobile`` below are one word: ``non-mobile``."""
    if not before or not after:
        return after
    last, first = before[-1], after[0]
    if len(last.text) > 1 and last.text.endswith("-") and first.text[:1].isalpha():
        before[-1] = replace(last, text=last.text + first.text)
        return after[1:]
    return after


def _segments(words: Sequence[Word]) -> list[list[Word]]:
    """Split a visual line at each tick mark: ``☐ Male ☒ Female`` -> two.

    Where the boxes follow their labels (``Male ☐  Female ☒``), each mark is
    moved before the words it follows.
    """
    marks = [i for i, w in enumerate(words) if w.mark]
    if not marks:
        return [list(words)]
    if marks[0] != 0 and words[-1].mark:
        return _marks_after(words)
    segments: list[list[Word]] = []
    start = 0
    for i in marks:
        if i > start:
            segments.append(list(words[start:i]))
        start = i
    segments.append(list(words[start:]))
    return segments


def _marks_after(words: Sequence[Word]) -> list[list[Word]]:
    segments: list[list[Word]] = []
    current: list[Word] = []
    for word in words:
        if word.mark:
            segments.append([word, *current])
            current = []
        else:
            current.append(word)
    if current:
        segments.append(current)
    return segments


def add_option(area: Area, words: Sequence[Word], ticked: bool) -> None:
    """An option read from its own table row: ``☒ text`` or ``☐ text``."""
    area.pieces.append(Piece([w for w in words if not w.mark], CHECKED if ticked else UNCHECKED))
    area.last_line = None


def finish(area: Area) -> tuple[Line, ...]:
    """The area's logical lines; bold lines among plain ones carry emphasis.

    Word's grey placeholder of an empty content control ("Click or tap here
    to enter text.") is printed into the PDF; it is not an answer.
    """
    texts = [(p.text(), p.bold) for p in area.pieces]
    texts = [(t, b) for t, b in texts if t and not _PLACEHOLDER.match(t)]
    some_plain = any(not b for _, b in texts)
    return tuple(Line(t, emphasis=b and some_plain) for t, b in texts)


def answer_lines(words: Sequence[Word], box: Box | None) -> tuple[Line, ...]:
    """The lines of one answer area (a table cell, or a column when ``box`` is None)."""
    lines = group_lines(words)
    area = area_for(box, lines)
    add_lines(area, lines)
    return finish(area)


def question_text(words: Sequence[Word]) -> str:
    """A label cell's text as one line, however it wrapped."""
    return fold(" ".join(ln.text for ln in group_lines(w for w in words if not w.mark)))


def wraps(area: Area, line: TextLine | None, following: TextLine) -> bool:
    """True when ``following`` starts with a word that could not fit after ``line``."""
    if line is None or not following.words or following.words[0].mark:
        return False
    first = following.words[0]
    if _SENTENCE_END.search(line.words[-1].text) and _SENTENCE_START.match(first.text):
        return False
    space = area.space or _SPACE * max(first.size, 1.0)
    return line.box.x1 + space + first.box.width > area.right
