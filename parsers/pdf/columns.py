"""Reading a question/answer table that has no ruling: by text columns.

Some producers draw a form's table with no lines and no shading (Word with
borders removed, a few "print to PDF" drivers).  What is left is two
columns of text: labels at the left margin and answers starting at one
common x further right.  `column_layout` finds that answer column (the x
where most second pieces of a line start) and cuts every line into a label
part and an answer part:

* a line with a label part starts a new row, unless it is the wrapped
  continuation of the label above (just below it, and the label above
  ran to the column's edge);
* a line with only an answer part continues the current row's answer;
* lines before the first row with an answer, lines running across both
  columns and bold numbered lines stay running text.

It returns None when no answer column can be found: the page is prose.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from parsers.pdf.layout import Box, TextLine, Word, group_lines

_GAP_EMS = 1.0  # a gap wider than this many ems separates two columns
_MIN_ROWS = 3  # lines that must share the answer column's x


@dataclass
class ColumnRow:
    """One question's label words and answer words."""

    top: float
    label: list[Word] = field(default_factory=list)
    answer: list[Word] = field(default_factory=list)


def column_layout(
    words: Sequence[Word], is_heading: Callable[[TextLine], bool], known_x: float | None = None
) -> tuple[list[ColumnRow | TextLine], float] | None:
    """Rows and running lines, top to bottom, and the answer column's x; None
    when there are no columns.

    ``is_heading`` tells a heading line from a label with an empty answer;
    ``known_x`` is the answer column found on the page before, for a page
    that holds only the rest of a long answer.
    """
    lines = group_lines(words)
    pieces = [_pieces(ln) for ln in lines]
    answer_x = _answer_column(pieces) or _still_there(pieces, known_x)
    if answer_x is None:
        return None
    return _rows(lines, pieces, answer_x, is_heading, known_x is not None), answer_x


def _still_there(pieces: Sequence[list[list[Word]]], known_x: float | None) -> float | None:
    """The previous page's answer column, when text on this page starts there too."""
    if known_x is None:
        return None
    starts = [p[0].box.x0 for parts in pieces for p in parts]
    return known_x if any(abs(x - known_x) <= 2 for x in starts) else None


def _rows(
    lines: Sequence[TextLine],
    pieces: Sequence[list[list[Word]]],
    answer_x: float,
    is_heading: Callable[[TextLine], bool],
    in_table: bool,
) -> list[ColumnRow | TextLine]:
    """Cut lines into rows.  ``in_table``: the table has begun (on a page
    before), so a label with nothing beside it is a question left blank."""
    out: list[ColumnRow | TextLine] = []
    row: ColumnRow | None = None
    label_right = _label_edge(pieces, answer_x)
    for line, parts in zip(lines, pieces, strict=True):
        left = [w for p in parts if p[0].box.x0 < answer_x - 2 for w in p]
        right = [w for p in parts if p[0].box.x0 >= answer_x - 2 for w in p]
        across = bool(left) and max(w.box.x1 for w in left) > answer_x + 2
        in_table = (in_table or bool(right)) and not across
        if not in_table or (not right and is_heading(line)):
            out.append(line)
            row = None
            continue
        if row is None or (left and not _label_continues(row, left, label_right)):
            # an answer with no label above it on this page carries on the
            # answer before it (a long answer running over a page break)
            row = ColumnRow(line.box.top)
            out.append(row)
        row.label.extend(left)
        row.answer.extend(right)
    return out


def _pieces(line: TextLine) -> list[list[Word]]:
    """A line cut where the gap between two words is wider than a column gutter."""
    parts: list[list[Word]] = [[line.words[0]]]
    for prev, word in zip(line.words, line.words[1:], strict=False):
        gap = word.box.x0 - prev.box.x1
        if gap > _GAP_EMS * max(prev.size, word.size, 4.0):
            parts.append([word])
        else:
            parts[-1].append(word)
    return parts


def _answer_column(pieces: Sequence[list[list[Word]]]) -> float | None:
    """The x where the answers start: where most lines' second piece begins."""
    starts = Counter(round(parts[1][0].box.x0) for parts in pieces if len(parts) > 1)
    if not starts:
        return None
    x, _count = starts.most_common(1)[0]
    near = sum(n for sx, n in starts.items() if abs(sx - x) <= 2)
    return float(x) if near >= _MIN_ROWS else None


def _label_edge(pieces: Sequence[list[list[Word]]], answer_x: float) -> float:
    """How far right labels reach: the label column's usable width."""
    edges = [w.box.x1 for parts in pieces for p in parts for w in p if w.box.x1 < answer_x - 2]
    return max(edges, default=answer_x)


# A label line ending in one of these words stops mid-phrase: the next line goes on.
_OPEN_END = frozenset({
    "and", "or", "of", "the", "to", "with", "for", "a", "an", "in", "on", "by", "from", "at",
    "about", "if", "whether", "your", "their", "his", "her", "its", "any", "this", "that",
    "/", "&", "-", ",",
})  # fmt: skip


def _label_continues(row: ColumnRow, left: list[Word], label_right: float) -> bool:
    """The label above wrapped onto this line: close below it, and either it was
    full, or it left a bracket open, or this line goes on in small letters where
    the line above stops mid-phrase ("Agencies involved with the child and", then
    "family"), or is one word in small letters that ends the question, after a
    line of three words or more ("Police investigation / criminal", then
    "proceedings?").  In a form whose rows stand a line apart a row is as close
    as a wrapped line: a question that ends in "by" or "in" ("Completed by",
    then "Date"), or a short line in small letters of its own ("if not, why
    not?", "e-mail address:"), is not joined."""
    if not row.label:
        return False
    last_bottom = max(w.box.bottom for w in row.label)
    last_line = [w for w in row.label if abs(w.box.bottom - last_bottom) < 2]
    size = max(left[0].size, 4.0)
    close = left[0].box.top - last_bottom < 0.6 * size
    if not close:
        return False
    edge = max(w.box.x1 for w in last_line)
    if edge + 0.3 * size + left[0].box.width > label_right:
        return True
    label = " ".join(w.text for w in row.label)
    if label.count("(") > label.count(")"):
        return True  # "Reason for notification (more", then "than one box may be ticked)"
    above = sorted(last_line, key=lambda w: w.box.x0)[-1].text
    here = [w.text for w in sorted(left, key=lambda w: w.box.x0)]
    if above.endswith((":", "?")) or not here[0][:1].islower():
        return False
    if above.lower() in _OPEN_END or above.endswith((",", "/", "-", "&")):
        return True
    return len(here) == 1 and here[0].endswith(("?", ":")) and len(last_line) >= 3


def row_boxes(row: ColumnRow, answer_right: float) -> tuple[Box, Box]:
    """Boxes around a row's label and answer words, for the entry reader."""
    words = row.label + row.answer
    top = min(w.box.top for w in words)
    bottom = max(w.box.bottom for w in words)
    label_x1 = max((w.box.x1 for w in row.label), default=0.0)
    answer_x0 = min((w.box.x0 for w in row.answer), default=label_x1 + 1)
    return Box(0.0, top, label_x1 + 1, bottom), Box(answer_x0 - 1, top, answer_right + 1, bottom)
