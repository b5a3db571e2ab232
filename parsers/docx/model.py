"""What the DOCX walker copies out of WordprocessingML, before any judgement.

`parsers.docx.walk` fills these from the XML; `parsers.docx.tables` decides
which cells are questions and which are answers.  Text here is already the
displayed text (deleted revisions, field instructions and placeholders
gone; boxes as ☒/☐), but not yet folded.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from parsers.document import Line
from parsers.docx.glyphs import has_box, normalise_boxes, typed_ticks

_SPACES = re.compile(r"[^\S\n]+")
# Zero-width spaces and joiners, the byte-order mark and soft hyphens: never
# seen on the page, often pasted in from web pages and email.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_LEADERS = re.compile(r"_{3,}|\.{4,}|…{2,}")
_BOXES = "☒☐"
_SEPARATORS = " \t/|,;"


def fold(text: str) -> str:
    """Runs of spaces and tabs (any Unicode space) as one space, trimmed.

    Fill-in leaders ("Name: ________", "Date ........") are printed blanks,
    not answers, so they go too.
    """
    return _SPACES.sub(" ", _LEADERS.sub(" ", text.translate(_INVISIBLE))).strip()


@dataclass
class Piece:
    """Text from one run, with how it looks and which control it came from."""

    text: str
    emphasis: bool = False
    hint: str | None = None


@dataclass
class RawLine:
    pieces: list[Piece] = field(default_factory=list)
    struck: bool = False  # struck-through words were left out of this line
    _memo: tuple[int, str] | None = field(default=None, repr=False, compare=False)

    @property
    def raw_text(self) -> str:
        """The text as stored (boxes normalised), spaces not yet folded."""
        return normalise_boxes("".join(p.text for p in self.pieces))

    @property
    def text(self) -> str:
        # Read often while tables are classified: kept until a piece is added.
        if self._memo is None or self._memo[0] != len(self.pieces):
            self._memo = (len(self.pieces), fold(self.raw_text))
        return self._memo[1]

    def emphasised(self) -> bool:
        """Every visible character (boxes aside) is bold/highlighted/..."""
        shown = [p for p in self.pieces if p.text.strip(" \t" + _BOXES + "\u00a0")]
        return bool(shown) and all(p.emphasis for p in shown)

    def segments(self) -> list[RawLine]:
        """The line cut into one segment per inline option.

        "☐ Yes ☐ No" is cut before each box; "Yes ☐ No ☐" (boxes after
        their words) after each box.
        """
        boxes_first = self.raw_text.lstrip()[:1] in _BOXES
        pattern = f"(?=[{_BOXES}])" if boxes_first else f"(?<=[{_BOXES}])"
        out: list[RawLine] = [RawLine(struck=self.struck)]
        for piece in self.pieces:
            for i, part in enumerate(re.split(pattern, piece.text)):
                if not part:
                    continue
                starts = boxes_first and part[0] in _BOXES
                ends = not boxes_first and out[-1].raw_text.rstrip()[-1:] in tuple(_BOXES)
                if i > 0 or ((starts or ends) and out[-1].text):
                    out.append(RawLine(struck=self.struck))
                out[-1].pieces.append(Piece(part, piece.emphasis, piece.hint))
        return [seg for seg in out if seg.text]

    def emphasis_groups(self) -> list[RawLine]:
        """Options written "Yes / No", one in bold: a line an option, no separators."""
        out: list[RawLine] = []
        for piece in self.pieces:
            if not out or out[-1].pieces[-1].emphasis != piece.emphasis:
                out.append(RawLine(struck=self.struck))
            out[-1].pieces.append(Piece(piece.text, piece.emphasis, piece.hint))
        for line in out:
            first, last = line.pieces[0], line.pieces[-1]
            first.text = first.text.lstrip(_SEPARATORS)
            last.text = last.text.rstrip(_SEPARATORS)
        return [line for line in out if line.text]


@dataclass
class Para:
    """One paragraph: its lines (cut at ``w:br``/``w:cr``) and its style."""

    lines: list[RawLine] = field(default_factory=lambda: [RawLine()])
    style: str = ""
    outline: bool = False  # a heading style, Title, or an outline level
    controls: list[str] = field(default_factory=list)  # names of controls/fields met

    def newline(self) -> None:
        self.lines.append(RawLine())

    def add(self, piece: Piece) -> None:
        self.lines[-1].pieces.append(piece)

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines if line.text)


@dataclass
class Cell:
    paras: list[Para] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)  # nested, in order
    blocks: list[Para | Table] = field(default_factory=list)  # both, in reading order
    span: int = 1
    vmerge_continue: bool = False
    shaded: bool = False

    def raw_lines(self) -> list[RawLine]:
        return [line for p in self.paras for line in p.lines if line.text]

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.raw_lines())

    @property
    def bold(self) -> bool:
        lines = self.raw_lines()
        return bool(lines) and all(line.emphasised() for line in lines)

    @property
    def controls(self) -> list[str]:
        return [name for p in self.paras for name in p.controls]


@dataclass
class Row:
    cells: list[Cell] = field(default_factory=list)
    header: bool = False  # w:tblHeader


@dataclass
class Table:
    number: int
    rows: list[Row] = field(default_factory=list)


def answer_lines(raws: list[RawLine]) -> tuple[Line, ...]:
    """Answer lines for the Document: folded, typed ticks read, emphasis set.

    A line is emphasised only when some sibling line is not (one bold option
    among plain ones); inline options ("☐ Yes ☐ No") are split into one line
    each when their emphasis differs, so the bold one can be told apart.
    """
    raws = _split_mixed(raws)
    near = any(has_box(r.text) for r in raws)
    flags = [r.emphasised() for r in raws]
    mixed = any(flags) and not all(flags)
    lines = [
        Line(_cleaned(typed_ticks(r.raw_text, near), r.struck), emphasis=mixed and flag)
        for r, flag in zip(raws, flags, strict=True)
    ]
    return tuple(line for line in lines if line.text)


def _split_at_separators(raw: RawLine) -> bool:
    """Every change of emphasis in the line falls at a "/" or "|"."""
    pieces = [p for p in raw.pieces if p.text.strip()]
    changes = [
        (a.text.rstrip(), b.text.lstrip())
        for a, b in itertools.pairwise(pieces)
        if a.emphasis != b.emphasis
    ]
    return bool(changes) and all(
        left.endswith(("/", "|")) or right.startswith(("/", "|")) for left, right in changes
    )


def _cleaned(text: str, struck: bool) -> str:
    """Folded; with words struck out, the separators left dangling go too."""
    text = fold(text)
    return text.strip(_SEPARATORS + "–-") if struck else text


def _split_mixed(raws: list[RawLine]) -> list[RawLine]:
    out: list[RawLine] = []
    for raw in raws:
        if has_box(raw.text):
            segments = raw.segments()
        elif _split_at_separators(raw):  # "Yes / No", one of them marked
            segments = raw.emphasis_groups()
        else:
            segments = [raw]
        if len(segments) > 1 and len({s.emphasised() for s in segments}) > 1:
            out.extend(segments)
        elif raw.text:
            out.append(raw)
    return out
