"""Reading a flattened form: question/answer tables drawn on the page.

A form that was printed to PDF, saved as PDF from Word or flattened by a
PDF tool has no fields left, only drawing: ruled (or shaded) table cells
with the question in the left cell and the answer in the right one.  This
module rebuilds the entries from that geometry:

* a row with a label cell and an answer cell is one `Entry`; the label is
  read as one line however it wrapped, the answer keeps its lines;
* a row whose label cell is empty, or whose first column is spanned from
  the row above, continues the entry above it (a row that Word split over
  a page break, a long answer carried onto the next page, an option grid
  nested in the answer cell); so does the first row of a page whose label
  starts in lower case (the label itself ran over the break);
* shaded label cells alternating with answer cells are several questions
  side by side; a "Question | Answer" heading row is not a question;
* a single dark or bold numbered band (``1. About this referral``) is a
  section heading; a single shaded cell followed by a single plain cell is
  a question above its answer;
* everything outside the tables is `FlowLine`s, in reading order, without the
  header and footer lines repeated on every page, a wrapped paragraph
  joined into one line;
* a page without ruled tables is read by columns (`parsers.pdf.columns`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from parsers.document import Entry, FlowLine
from parsers.pdf.columns import ColumnRow, column_layout, row_boxes
from parsers.pdf.layout import Box, Cell, PageLayout, TableGrid, TextLine, Word, fold, group_lines
from parsers.pdf.text import (
    Area,
    add_lines,
    add_option,
    area_for,
    finish,
    question_text,
    right_margin,
    wraps,
)

# A numbered line: "Section B", "2. Referrer", "2 Referrer", "A) The child", "4. May
# we contact the family"; not a date ("12 August 2026 Arthur was taken to hospital"
# is a bold answer: a number with no stop after it, then a month).
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b"
)
_NUMBERED = re.compile(
    r"^(?:(?:section|part)\s+[A-Z0-9]{1,3}\b"
    rf"|\d{{1,2}}(?:\.\d{{1,2}})*(?:[.)]\s+\S|\s+(?!{_MONTH})\S)|[A-Z][.)]\s+\S)",
    re.IGNORECASE,
)
_PAGE_NUMBER = re.compile(r"\bpage\s+\d+(\s+of\s+\d+)?\b|^\s*\d{1,3}\s*(/|of)?\s*\d{0,3}\s*$", re.I)
_MARGIN = 0.075  # header and footer bands: this share of the page height
_TITLE_LINES = 3


@dataclass
class Draft:
    """An entry being read; its answer may continue on the next row or page."""

    question: str
    section: str
    source: str
    area: Area
    key_hint: str | None = None
    option_rows: bool = False  # its options stand one a row, a cell to tick beside each

    def entry(self) -> Entry:
        return Entry(self.question, self.section, finish(self.area), self.source, self.key_hint)


@dataclass
class Heading:
    page: int
    top: float
    text: str


@dataclass
class Reading:
    """What the tables and running text of a PDF say."""

    title: list[str] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    flow: list[FlowLine] = field(default_factory=list)
    headings: list[Heading] = field(default_factory=list)


@dataclass
class _Block:
    """A flow line or a table row, placed on the page for reading order."""

    top: float
    line: TextLine | None = None
    cells: list[tuple[Cell, list[Word]]] = field(default_factory=list)
    where: str = ""
    spanned: bool = False  # the row has no cell in the table's first column


class _Reader:
    """Walks the blocks of every page in order, keeping the current section."""

    def __init__(self) -> None:
        self.out = Reading()
        self.section = ""
        self.draft: Draft | None = None
        self.pending_label: tuple[str, str] | None = None
        self.title_open = True
        self.after_break = False  # nothing read yet on this page
        self.last_flow: TextLine | None = None  # geometry of the last flow line
        self.heading_open = False  # the last thing read was a heading (it may go on)

    def close_draft(self) -> None:
        if self.draft is not None:
            self.out.entries.append(self.draft.entry())
            self.draft = None

    def heading(self, page: PageLayout, top: float, text: str) -> None:
        self.close_draft()
        self.title_open = False
        if self._continues_heading(page, top, text):
            # A heading wrapped onto a second line ("3. Please give the details of
            # the lead with whom you have" / "discussed the case."): one heading.
            last = self.out.headings[-1]
            text = f"{last.text} {text}"
            self.out.headings[-1] = Heading(last.page, last.top, text)
            self.out.flow[-1] = FlowLine(text, heading=True, source=f"page {page.number}")
            self.section = text
            return
        self.section = text
        self.out.headings.append(Heading(page.number, top, text))
        self.out.flow.append(FlowLine(text, heading=True, source=f"page {page.number}"))
        self.heading_open = True

    def _continues_heading(self, page: PageLayout, top: float, text: str) -> bool:
        """The line goes on with the heading just above it: nothing came between,
        it stands within two lines of it, and it starts in the middle of a
        sentence (a lower-case letter)."""
        if not self.heading_open or not self.out.headings or not text[:1].islower():
            return False
        last = self.out.headings[-1]
        return last.page == page.number and 0 < top - last.top <= 2.5 * page.body_size

    def flow_line(self, page: PageLayout, line: TextLine) -> None:
        text = fold(line.text)
        if self.title_open and page.number == 1 and len(self.out.title) < _TITLE_LINES:
            self.out.title.append(text)
            self.out.flow.append(FlowLine(text, heading=line.bold, source="page 1"))
            return
        if is_heading(line, page.body_size) or (
            line.bold and self._continues_heading(page, line.box.top, text)
        ):
            self.heading(page, line.box.top, text)
            self.last_flow = None
            return
        self.title_open = False
        self.heading_open = False
        previous = self.out.flow[-1] if self.out.flow else None
        if previous and self.last_flow and _paragraph_goes_on(page, self.last_flow, line):
            joined = fold(f"{previous.text} {text}")
            self.out.flow[-1] = FlowLine(
                joined, emphasis=previous.emphasis and line.bold, source=previous.source
            )
        else:
            self.out.flow.append(FlowLine(text, emphasis=line.bold, source=f"page {page.number}"))
        self.last_flow = line

    def row(self, page: PageLayout, block: _Block) -> None:
        self.title_open = False
        self.last_flow = None
        self.heading_open = False
        cells = block.cells
        if block.spanned:  # the label cell spans from the row above
            if any(ws for _, ws in cells):
                self.continue_draft(page, cells)
            return
        if len(cells) == 1:
            self.single_cell(page, block, *cells[0])
            return
        for label, answers in _pairs(cells):
            self.pair(page, block, label, answers)

    def pair(
        self,
        page: PageLayout,
        block: _Block,
        label: tuple[Cell, list[Word]],
        answers: list[tuple[Cell, list[Word]]],
    ) -> None:
        """A label cell and the answer cells beside it."""
        label_cell, label_words = label
        question = question_text(label_words)
        answer_words = [w for _, ws in answers for w in ws]
        if self.option_row(block, label_cell, label_words, answer_words):
            return
        if question and not answer_words and _heading_words(label_words, page, label_cell):
            self.heading(page, block.top, question)
            return
        if not question:
            if answer_words:
                self.continue_draft(page, answers)
            return
        if _is_header_row(question, answer_words):
            return
        if self.after_break and self.draft is not None and question[:1].islower():
            # Word split this row over the page break: the label goes on too
            # ("Status at the time of the" / "incident (tick all that apply)").
            self.draft.question = f"{self.draft.question} {question}"
            self.continue_draft(page, answers)
            return
        self.start_draft(question, block.where, answers)

    def option_row(
        self, block: _Block, label_cell: Cell, label_words: list[Word], answer_words: list[Word]
    ) -> bool:
        """Under a question set across the table, rows of ``option | tick
        cell``: an X, ✓ or "yes" typed in the cell beside the chosen ones."""
        tick = fold(" ".join(w.text for w in answer_words)).casefold()
        if label_cell.shaded or not label_words or (tick and tick not in _TICKS):
            return False
        if self.pending_label is not None:
            question, where = self.pending_label
            self.start_draft(question, where, [])
            assert self.draft is not None
            self.draft.option_rows = True
        if self.draft is None or not self.draft.option_rows:
            return False
        add_option(self.draft.area, label_words, ticked=bool(tick))
        return True

    def single_cell(self, page: PageLayout, block: _Block, cell: Cell, words: list[Word]) -> None:
        """A row of one cell: a heading band, a label above its answer, the
        answer under such a label, or text."""
        lines = group_lines(words)
        text = question_text(words)
        pending = self.pending_label
        if not lines:
            if pending is not None and not cell.shaded:  # a question left blank
                self.pending_label = None
                self.start_draft(pending[0], pending[1], [(cell, words)])
            return
        if _heading_words(words, page, cell):
            self.heading(page, block.top, text)
        elif cell.shaded and pending is not None and (self.after_break or text[:1].islower()):
            self.pending_label = (f"{pending[0]} {text}", pending[1])  # the label ran on
        elif cell.shaded:
            if pending is not None:
                self.start_draft(pending[0], pending[1], [])
            self.close_draft()
            self.pending_label = (text, block.where)
        elif pending is not None:
            self.pending_label = None
            self.start_draft(pending[0], pending[1], [(cell, words)])
        elif self.after_break and self.draft is not None:  # the answer ran over the page
            self.continue_draft(page, [(cell, words)])
        else:
            for line in lines:
                self.flow_line(page, line)

    def start_draft(
        self, question: str, where: str, answers: list[tuple[Cell, list[Word]]]
    ) -> None:
        self.close_draft()
        self.pending_label = None
        area = _answer_area(answers) if answers else Area(0.0)
        self.draft = Draft(question, self.section, where, area)
        _fill_area(area, answers)

    def continue_draft(self, page: PageLayout, answers: list[tuple[Cell, list[Word]]]) -> None:
        if self.draft is None:  # nothing to continue: keep the words as text
            for line in group_lines(w for _, ws in answers for w in ws):
                self.flow_line(page, line)
            return
        _fill_area(self.draft.area, answers)


def _paragraph_goes_on(page: PageLayout, above: TextLine, line: TextLine) -> bool:
    """``line`` is the next visual line of the paragraph ``above`` (it wrapped)."""
    if (
        abs(above.box.x0 - line.box.x0) > 2
        or not 0 <= line.box.top - above.box.bottom < 0.6 * line.size
    ):
        return False
    right = max(w.box.x1 for w in page.words)
    return wraps(Area(right), above, line)


_TICKS = {"x", "✓", "✔", "yes", "y", "☒", "☑", "√", "ticked"}
_HEADER_WORDS = {"question", "questions", "answer", "answers", "response", "details", "information"}


def _is_header_row(question: str, answer_words: Sequence[Word]) -> bool:
    """A table's column headings ("Question | Answer"), not a question."""
    answer = fold(" ".join(w.text for w in answer_words)).lower()
    return question.lower().rstrip(":") in _HEADER_WORDS and answer.rstrip(":") in _HEADER_WORDS


def _pairs(
    cells: list[tuple[Cell, list[Word]]],
) -> list[tuple[tuple[Cell, list[Word]], list[tuple[Cell, list[Word]]]]]:
    """Label and answer cells of a row: ``label | answer``, or two questions
    side by side (``Name | ... | Role | ...``) when shaded label cells
    alternate with plain answer cells."""
    shading = [c.shaded for c, _ in cells]
    alternating = all(shaded == (i % 2 == 0) for i, shaded in enumerate(shading))
    if len(cells) >= 4 and len(cells) % 2 == 0 and alternating:
        return [(cells[i], [cells[i + 1]]) for i in range(0, len(cells), 2)]
    return [(cells[0], cells[1:])]


def _answer_area(answers: Sequence[tuple[Cell, list[Word]]]) -> Area:
    """One text area over all answer cells (a box column beside a text column)."""
    boxes = [c.box for c, _ in answers]
    union = Box(
        min(b.x0 for b in boxes),
        min(b.top for b in boxes),
        max(b.x1 for b in boxes),
        max(b.bottom for b in boxes),
    )
    return area_for(union, group_lines(w for _, ws in answers for w in ws))


def _fill_area(area: Area, answers: Sequence[tuple[Cell, list[Word]]]) -> None:
    if not answers:
        return
    if area.right <= 0:  # the answer began blank: its cell comes only now
        fresh = _answer_area(answers)
        area.right, area.space = fresh.right, fresh.space
    lines = group_lines(w for _, ws in answers for w in ws)
    margins: dict[int, float] = {}
    add_lines(area, lines, [_line_right(line, answers, area.right, margins) for line in lines])


def _line_right(
    line: TextLine,
    answers: Sequence[tuple[Cell, list[Word]]],
    default: float,
    margins: dict[int, float],
) -> float:
    """The right margin of the cell a line ends in (``margins``: each cell's, once)."""
    last = line.words[-1]
    for index, (cell, words) in enumerate(answers):
        if cell.box.contains(last.box.cx, last.box.cy, 0.0):
            if index not in margins:
                margins[index] = right_margin(cell.box, group_lines(words))
            return margins[index]
    return default


def _heading_words(words: Sequence[Word], page: PageLayout, cell: Cell) -> bool:
    lines = group_lines(words)
    if not lines or len(lines) > 2:
        return False
    text = fold(" ".join(ln.text for ln in lines))
    if cell.dark:
        return bool(text)
    return all(is_heading(ln, page.body_size) for ln in lines[:1]) and bool(_NUMBERED.match(text))


def is_heading(line: TextLine, body_size: float) -> bool:
    """A line set apart: numbered ("2. Referrer", "Section B – ...") and bold or
    larger, or short and larger than the text around it.  A bold line that is
    neither is a question in bold, not a heading; nor is a line ending in
    "?" or ":"."""
    text = fold(line.text)
    if not 2 <= len(text) <= _LONGEST_HEADING or text.endswith((",", ";", "?", ":")):
        return False
    if len(text) > _LONG_HEADING:
        return line.bold and bool(_SECTION_NUMBER.match(text))
    larger = body_size > 0 and line.size >= body_size + 1.5
    numbered = bool(_NUMBERED.match(text))
    return larger or (numbered and line.bold)


# A heading is short; a longer bold line is one only when numbered as a section
# ("3. Please give the details of the designated safeguarding lead with whom you
# have discussed the case"), never a bold answer that starts with a date ("12
# August 2026 Arthur was taken to hospital...").
_LONG_HEADING = 90
_LONGEST_HEADING = 160
_SECTION_NUMBER = re.compile(
    r"^(?:(?:section|part)\s+[A-Z0-9]{1,3}\b|\d{1,2}(?:\.\d{1,2})*[.)]\s+[A-Z]|[A-Z][.)]\s+[A-Z])",
    re.IGNORECASE,
)


def read_tables(
    pages: Sequence[PageLayout], beside_field: Callable[[PageLayout, TextLine], bool] | None = None
) -> Reading:
    """Entries, flow lines, headings and title of flattened ``pages``.

    ``beside_field`` tells the lines printed beside a form field (its label,
    its options): in a fillable form they are not running text.
    """
    reader = _Reader()
    repeated = _repeated_margin_lines(pages)
    columns = _Columns()
    for page in pages:
        reader.after_break = True
        for block in _blocks(page, repeated, columns, beside_field):
            if block.line is not None:
                reader.flow_line(page, block.line)
            else:
                reader.row(page, block)
            reader.after_break = False
    reader.close_draft()
    if not reader.out.title and pages:
        # The form's title stood in a table: take the first lines of page 1.
        first = group_lines(w for w in pages[0].words if w.mark is None)
        reader.out.title = [fold(ln.text) for ln in first[:_TITLE_LINES]]
    return reader.out


def _blocks(
    page: PageLayout,
    repeated: set[str],
    columns: _Columns,
    beside_field: Callable[[PageLayout, TextLine], bool] | None,
) -> list[_Block]:
    """The page's table rows and outside lines, top to bottom."""
    in_cells, outside = _assign_words(page)
    blocks = [
        _Block(
            table.rows[ri][0].box.top,
            cells=[(c, in_cells.get((ti, ri, id(c)), [])) for c in table.rows[ri]],
            where=f"page {page.number}, table {ti + 1}, row {ri + 1}",
            spanned=table.rows[ri][0].box.x0 > table.box.x0 + 2,
        )
        for ti, table in enumerate(page.tables)
        for ri in range(len(table.rows))
    ]
    if beside_field is not None:
        kept = [ln for ln in group_lines(outside) if not beside_field(page, ln)]
        outside = [w for ln in kept for w in ln.words]
    blocks.extend(_outside_blocks(page, outside, repeated, columns))
    blocks.sort(key=lambda b: b.top)
    return blocks


def _assign_words(
    page: PageLayout,
) -> tuple[dict[tuple[int, int, int], list[Word]], list[Word]]:
    """Each word to the table cell holding its centre (keyed by table, row and
    cell), or to the words outside every table."""
    cells = [
        (ti, ri, cell)
        for ti, table in enumerate(page.tables)
        for ri, row in enumerate(table.rows)
        for cell in row
    ]
    in_cells: dict[tuple[int, int, int], list[Word]] = {}
    outside: list[Word] = []
    for word in page.words:
        hit = next(
            (
                (ti, ri, id(c))
                for ti, ri, c in cells
                if c.box.contains(word.box.cx, word.box.cy, 0.0)
            ),
            None,
        )
        if hit is None:
            outside.append(word)
        else:
            in_cells.setdefault(hit, []).append(word)
    return in_cells, outside


@dataclass
class _Columns:
    """The answer column of an unruled form, carried from page to page."""

    x: float | None = None


def _outside_blocks(
    page: PageLayout, words: list[Word], repeated: set[str], known: _Columns
) -> list[_Block]:
    """Text outside ruled tables: two text columns are read as rows, the rest as lines."""
    lines = [ln for ln in group_lines(words) if not _is_margin_noise(page, ln, repeated)]
    kept = [w for ln in lines for w in ln.words]
    found = None
    if not page.tables:
        found = column_layout(kept, lambda ln: _numbered_heading(ln, page), known.x)
    if found is None:
        return [_Block(ln.box.top, line=ln) for ln in lines]
    columns, known.x = found
    answer_right = max(
        (w.box.x1 for item in columns if isinstance(item, ColumnRow) for w in item.answer),
        default=0.0,
    )
    blocks = []
    for number, item in enumerate(columns, start=1):
        if isinstance(item, ColumnRow):
            label_box, answer_box = row_boxes(item, answer_right)
            cells = [(Cell(label_box), item.label), (Cell(answer_box), item.answer)]
            blocks.append(_Block(item.top, cells=cells, where=f"page {page.number}, line {number}"))
        else:
            blocks.append(_Block(item.box.top, line=item))
    return blocks


def _numbered_heading(line: TextLine, page: PageLayout) -> bool:
    return is_heading(line, page.body_size) and bool(_NUMBERED.match(fold(line.text)))


def _margin_key(page: PageLayout, line: TextLine) -> str | None:
    """A key for a line in the header or footer band; None elsewhere."""
    band = page.height * _MARGIN
    if band < line.box.top < page.height - band:
        return None
    return re.sub(r"\d+", "#", fold(line.text).lower())


def _repeated_margin_lines(pages: Sequence[PageLayout]) -> set[str]:
    """Header and footer lines that appear on more than one page."""
    seen: Counter[str] = Counter()
    for page in pages:
        outside = [w for w in page.words if not _in_any_table(page.tables, w)]
        keys = {_margin_key(page, ln) for ln in group_lines(outside)}
        seen.update(k for k in keys if k)
    return {k for k, n in seen.items() if n > 1}


def _in_any_table(tables: Iterable[TableGrid], word: Word) -> bool:
    return any(t.box.contains(word.box.cx, word.box.cy, 0.0) for t in tables)


def _is_margin_noise(page: PageLayout, line: TextLine, repeated: set[str]) -> bool:
    key = _margin_key(page, line)
    return key is not None and (key in repeated or bool(_PAGE_NUMBER.search(line.text)))


def section_at(headings: Sequence[Heading], page: int, top: float) -> str:
    """The nearest heading above a point (on this page or an earlier one)."""
    current = ""
    for heading in headings:
        if (heading.page, heading.top) <= (page, top):
            current = heading.text
    return current
